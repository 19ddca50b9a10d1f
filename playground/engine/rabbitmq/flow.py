"""Shared pieces of the RabbitMQ runtimes: event kinds, drop reasons, small helpers.

How a run moves messages (see the runtimes: publisher.py, exchange.py, queue_runtime.py,
consumer.py): deliveries, acks and routing take no simulated time; what takes time is a
consumer's processing, a message's TTL and the delayed-message exchange's x-delay.

Accounting: each queue is a stream. A message routed to three queues is three copies, one in
each stream; a dead-lettered copy leaves its queue's stream as ``dead_lettered`` and enters the
stream of each queue the dead-letter exchange routes it to. An exchange is a stream of the
messages that end there: unroutable ones (dropped) and, for a delayed-message exchange, those
it holds (waiting) and has routed on after their delay (counted as acknowledged by it).
"""

from __future__ import annotations

PUBLISH_TICK = 41
RELEASE = 42
EXPIRE = 43
PROCESS_DONE = 44
ELECTION = 45
DLX_RETRY = 46
EXPIRES = 47
STREAM_RETENTION = 48
STREAM_FLUSH = 49

TICK_S = 0.01  # publishers send what arrived in each 10 ms of simulated time together
#: RabbitMQ blocks publishing connections when the broker crosses its memory high watermark;
#: here, when all queues together hold this many messages (it also bounds the engine's memory).
MEMORY_WATERMARK = 200_000
MAX_CHANNELS = 64
RECENT = 50
HEAD_SHOWN = 16
GOT_SHOWN = 10
GET_MODES = ("ack", "reject", "requeue")  # basic.get then basic.ack / reject requeue=false / nack requeue=true

DROP_UNROUTABLE = "unroutable"
DROP_RETURNED = "unroutable, returned to the publisher (mandatory)"
DROP_MAXLEN_HEAD = "maxlen: dropped from the head (drop-head, no dead-letter exchange)"
DROP_MAXLEN_REJECT = "maxlen: publish refused (reject-publish)"
DROP_EXPIRED = "expired (TTL), no dead-letter exchange"
DROP_REJECTED = "rejected without requeue, no dead-letter exchange"
DROP_DLX_NOWHERE = "dead-lettered, but the dead-letter exchange routed it to no queue"
DROP_DLX_CYCLE = "dead-letter cycle without a rejection (dropped by the broker)"
DROP_AUTOACK_FAILED = "auto-ack: processing failed after the broker forgot the message"
DROP_AUTOACK_CRASH = "auto-ack: consumer crashed with messages in its buffer"
DROP_DLX_MISSING = "dead-lettered to an exchange that does not exist (dropped by the broker)"
DROP_DELIVERY_LIMIT = "delivery limit reached (x-delivery-limit), no dead-letter exchange"
DROP_NO_QUORUM = "quorum queue without a majority of replicas: publish not confirmed"
DROP_QUEUE_EXPIRED = "queue deleted by x-expires with its messages"
DROP_QUEUE_DELETED = "routed to a queue deleted by x-expires"
DROP_RETENTION = "stream retention deleted its segment"
DIRECT_REPLY_TO = "amq.rabbitmq.reply-to"
DROP_DIRECT_REPLY_GONE = "direct reply-to: the requester's channel is gone (reply dropped)"
DROP_REPLY_NOWHERE = "reply to a queue that does not exist (default exchange: unroutable)"

NO_DLX_DROP = {"expired": DROP_EXPIRED, "rejected": DROP_REJECTED, "delivery_limit": DROP_DELIVERY_LIMIT}


def bump(counter: dict[str, int], reason: str, n: int = 1) -> None:
    counter[reason] = counter.get(reason, 0) + n


def hops(via: dict[str, str], dest: str) -> list[tuple[str, str]]:
    """The edges a routed message crossed to reach ``dest`` (exchange-to-exchange hops included)."""
    path: list[tuple[str, str]] = []
    while dest in via and len(path) < 64:
        path.append((via[dest], dest))
        dest = via[dest]
    return path[::-1]
