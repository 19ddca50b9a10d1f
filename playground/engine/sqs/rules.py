"""Amazon SQS rules as small pure pieces: limits, the FIFO deduplication window, content keys.

Citations are to the Amazon SQS Developer Guide (page titles) and API Reference (actions).
Event kinds, drop reasons and the message record the runtimes share live here too.
"""

from __future__ import annotations

import hashlib
from collections import deque
from typing import Any

# -- limits ("Amazon SQS quotas", "Amazon SQS message quotas") --------------------------------
VISIBILITY_DEFAULT_S = 30.0          # "Amazon SQS visibility timeout": default 30 s
VISIBILITY_MAX_S = 43_200.0          # 12 hours, also the most ChangeMessageVisibility may extend to
DELAY_MAX_S = 900.0                  # "Amazon SQS delay queues": 0 to 15 minutes
WAIT_MAX_S = 20.0                    # ReceiveMessageWaitTimeSeconds / WaitTimeSeconds: 0 to 20
MAX_MESSAGES = 10                    # ReceiveMessage MaxNumberOfMessages: 1 to 10
RETENTION_DEFAULT_S = 345_600.0      # MessageRetentionPeriod: default 4 days
RETENTION_MIN_S = 60.0               # 60 seconds
RETENTION_MAX_S = 1_209_600.0        # to 14 days
MAX_RECEIVE_COUNT_MAX = 1000         # RedrivePolicy maxReceiveCount: 1 to 1,000
DEDUP_WINDOW_S = 300.0               # "Exactly-once processing in Amazon SQS": 5-minute interval
# SNS FIFO topics ("Amazon SNS endpoints and quotas"; topic attribute FifoThroughputScope):
SNS_FIFO_TOPIC_MPS = 3000            # Topic scope: 3,000 messages per second per topic ...
SNS_FIFO_GROUP_MPS = 300             # ... and 300 per message group
SNS_FIFO_ACCOUNT_MPS = 30_000        # MessageGroup scope (high throughput): the regional account quota
                                     # (30,000 in US East (N. Virginia); 9,000 in US West (Oregon), Europe (Ireland))

# -- kernel event kinds -----------------------------------------------------------------------
SEND_TICK = 61
DELAY_END = 62
VIS_EXPIRE = 63
RETENTION = 64
POLL = 65
POLL_TIMEOUT = 66
PROCESS_DONE = 67
HEARTBEAT = 68
RESEND = 69

TICK_S = 0.01          # producers send what arrived in each 10 ms of simulated time together
RECEIVE_RTT_S = 0.01   # one ReceiveMessage round trip: an empty short poll costs this much time
RECENT = 50
HEAD_SHOWN = 16
MAX_HELD = 200_000     # messages all queues may hold together (bounds the engine's memory)
MAX_POLLERS = 64

DROP_RETENTION = "retention period expired (MessageRetentionPeriod)"
DROP_DEDUPLICATED = "deduplicated: same MessageDeduplicationId within 5 minutes (accepted, not delivered)"
DROP_NO_MATCH = "no matching subscription (SNS filter policies)"
DROP_NO_SUBSCRIPTION = "topic has no subscriptions"
DROP_FULL = "engine capacity: the simulated queues hold too many messages"
DROP_SNS_DEDUPLICATED = ("deduplicated by the SNS FIFO topic: same MessageDeduplicationId within 5 minutes "
                         "(accepted, not delivered)")
DROP_THROTTLED = "throttled: Publish over the FIFO topic's throughput quota (ThrottledException)"


def bump(counter: dict[str, int], reason: str, n: int = 1) -> None:
    counter[reason] = counter.get(reason, 0) + n


def content_key(body: str) -> str:
    """Content-based deduplication: the MessageDeduplicationId is the SHA-256 of the body
    ("Exactly-once processing in Amazon SQS", ContentBasedDeduplication; attributes are not
    part of it)."""
    return hashlib.sha256(body.encode()).hexdigest()


class DedupWindow:
    """The FIFO deduplication interval: a MessageDeduplicationId seen in the last 5 minutes
    makes a send "accepted successfully but not delivered" ("Exactly-once processing in Amazon
    SQS"; SendMessage MessageDeduplicationId). The window runs from the first accepted send,
    whether that message was received or deleted since."""

    def __init__(self, interval: float = DEDUP_WINDOW_S) -> None:
        self.interval = interval
        self.until: dict[str, float] = {}
        self.order: deque[tuple[float, str]] = deque()

    def _expire(self, now: float) -> None:
        while self.order and self.order[0][0] <= now:
            at, key = self.order.popleft()
            if self.until.get(key) == at:
                del self.until[key]

    def seen(self, key: str, now: float) -> bool:
        """True if ``key`` is a duplicate now; otherwise remember it for the interval."""
        self._expire(now)
        if key in self.until:
            return True
        at = now + self.interval
        self.until[key] = at
        self.order.append((at, key))
        return False

    def __len__(self) -> int:
        return len(self.until)


def sns_fifo_dedup_key(dedup_id: str, group: str, scope: str) -> str:
    """SNS FIFO deduplication scope (Publish MessageDeduplicationId; FifoThroughputScope): with
    Topic scope a deduplication id counts across the whole topic; with MessageGroup scope only
    within its message group."""
    return f"{group}\x00{dedup_id}" if scope == "message_group" else dedup_id


class ThroughputWindow:
    """SNS FIFO throughput quota, counted per second of simulated time: with Topic scope at most
    3,000 messages a second for the topic and 300 for each message group; with MessageGroup scope
    (high throughput) the account's regional quota. A publish over it fails (ThrottledException)."""

    def __init__(self, scope: str) -> None:
        self.scope = scope
        self.second = -1
        self.total = 0
        self.groups: dict[str, int] = {}

    def admit(self, group: str, now: float) -> bool:
        second = int(now)
        if second != self.second:
            self.second, self.total, self.groups = second, 0, {}
        if self.scope == "topic":
            if self.total >= SNS_FIFO_TOPIC_MPS or self.groups.get(group, 0) >= SNS_FIFO_GROUP_MPS:
                return False
        elif self.total >= SNS_FIFO_ACCOUNT_MPS:
            return False
        self.total += 1
        self.groups[group] = self.groups.get(group, 0) + 1
        return True


class Msg:
    """One message in one queue (an SNS fan-out makes one per subscribed queue).

    ``state`` is ``delayed``, ``visible`` or ``inflight``. ``enqueued_at`` is what the retention
    period counts from; ``receipt`` is the latest receipt handle (each receive makes a new one).
    """

    __slots__ = ("seq", "uid", "body", "group", "dedup", "attributes", "enqueued_at", "sent_at", "state",
                 "receives", "receipt", "invisible_until", "received_at", "order", "origin", "raw", "vis_epoch",
                 "record")

    def __init__(self, seq: int, uid: int, body: str, group: str | None, dedup: str | None,
                 attributes: dict[str, Any], enqueued_at: float, sent_at: float, origin: str | None = None,
                 raw: bool | None = None) -> None:
        self.seq = seq
        self.uid = uid
        self.body = body
        self.group = group
        self.dedup = dedup
        self.attributes = attributes
        self.enqueued_at = enqueued_at
        self.sent_at = sent_at
        self.state = "visible"
        self.receives = 0
        self.receipt = 0
        self.invisible_until = 0.0
        self.received_at = 0.0
        self.order = float(seq)
        self.origin = origin
        self.raw = raw  # None: sent to the queue directly; else delivered by SNS (raw or envelope)
        self.vis_epoch = 0
        self.record: Any = None  # its envelope (record.Record) when it came in with one, e.g. from a bridge

