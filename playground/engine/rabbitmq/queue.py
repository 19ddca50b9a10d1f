"""A RabbitMQ classic queue and its consumer ring, as small deterministic classes.

No clock, no randomness: every method takes ``now`` (simulated seconds) where time matters.
The runtime (runtime.py) drives them during a run; the unit and differential tests drive them
directly. The rules, from the RabbitMQ documentation and the classic queue's source:

- FIFO: ready messages are delivered in the order they were enqueued ("Queues": "Queues in
  AMQP 0-9-1 are ordered collections of messages ... FIFO").
- Priority ("Classic Queues Support Priorities"): a queue declared with ``x-max-priority`` N
  delivers higher priorities first, FIFO within one priority; a message's priority above N
  counts as N, and a message without one as 0. Without ``x-max-priority`` the property is
  ignored. Priority only orders what is still waiting: delivered messages are not recalled.
- Requeue ("Consumer Acknowledgements and Publisher Confirms", "Negative Acknowledgement and
  Requeuing of Deliveries"): a requeued message goes back to its original position, is marked
  ``redelivered`` and keeps its expiry.
- TTL ("Time-To-Live and Expiration"): a queue's ``x-message-ttl`` and a message's
  ``expiration``, the lower of the two when both are set. A classic queue discards (or
  dead-letters) an expired message only when it reaches the head of the queue (of its
  priority), so a long-lived message at the head shields short-lived ones behind it. With a
  TTL of 0 a message is delivered if a consumer can take it at once, else it expires.
- Length limit ("Queue Length Limit"): ``x-max-length`` counts ready messages only;
  unacknowledged ones do not count. ``x-overflow`` ``drop-head`` (the default) drops or
  dead-letters from the head, ``reject-publish`` refuses the newest message and
  ``reject-publish-dlx`` refuses and dead-letters it.
- Dispatch (rabbit_queue_consumers): consumers take turns; the one at the front of the active
  list gets the next message and goes to the back. A consumer whose channel has as many
  unacknowledged deliveries as its prefetch count (basic.qos) is found blocked at its turn and
  set aside; when an ack gives it credit again it rejoins at the back. Auto-ack consumers have
  no limit.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from playground.engine.rabbitmq.deadletter import Death, FirstDeath

OVERFLOW = ("drop-head", "reject-publish", "reject-publish-dlx")


class Message:
    """What a publisher sent: shared by the copies a fanout puts in several queues.

    Immutable once published; dead-lettering makes a new one with an updated x-death.
    """

    __slots__ = ("uid", "exchange", "routing_keys", "headers", "priority", "expiration", "published_at",
                 "reply_to", "correlation_id", "deaths", "origin", "first_death", "size", "record")

    def __init__(self, uid: int, exchange: str, routing_key: str, *, headers: dict[str, str] | None = None,
                 priority: int | None = None, expiration: float | None = None, published_at: float = 0.0,
                 reply_to: str | None = None, correlation_id: int | None = None,
                 deaths: tuple[Death, ...] = (), routing_keys: tuple[str, ...] | None = None,
                 origin: str | None = None, first_death: FirstDeath | None = None, size: int = 0,
                 record: Any = None) -> None:
        self.uid = uid
        self.exchange = exchange
        self.routing_keys = routing_keys if routing_keys is not None else (routing_key,)
        self.headers = headers
        self.priority = priority
        self.expiration = expiration  # seconds, the per-message TTL; None = none
        self.published_at = published_at
        self.reply_to = reply_to
        self.correlation_id = correlation_id
        self.deaths = deaths
        self.origin = origin  # the queue it was first dead-lettered from
        self.first_death = first_death  # the x-first-death-* headers, set once
        self.size = size  # body bytes (x-max-length-bytes, stream retention)
        self.record = record  # its envelope (record.Record) when it came in with one, e.g. from a bridge

    @property
    def routing_key(self) -> str:
        return self.routing_keys[0]



class Entry:
    """A message's copy in one queue: its place (seq), expiry and delivery history."""

    __slots__ = ("msg", "seq", "level", "expires_at", "redelivered", "deliveries", "returns")

    def __init__(self, msg: Message, seq: int, level: int, expires_at: float | None) -> None:
        self.msg = msg
        self.seq = seq
        self.level = level
        self.expires_at = expires_at
        self.redelivered = False
        self.deliveries = 0
        self.returns = 0  # quorum queues: the delivery count (returns so far)



class ClassicQueue:
    """The ready messages of one classic queue, with its TTL, length limit and priorities."""

    def __init__(self, name: str, *, message_ttl: float | None = None, max_length: int | None = None,
                 overflow: str = "drop-head", max_priority: int | None = None,
                 max_bytes: int | None = None) -> None:
        if overflow not in OVERFLOW:
            raise ValueError(f"unknown x-overflow {overflow!r}")
        self.name = name
        self.message_ttl = message_ttl
        self.max_length = max_length
        self.max_bytes = max_bytes
        self.bytes = 0  # body bytes of the ready messages (message_bytes_ready)
        self.overflow = overflow
        self.max_priority = max_priority
        # level -> ready entries in seq order; levels kept sorted, highest first
        self.levels: dict[int, deque[Entry]] = {}
        self.order: list[int] = []
        self.seq = 0
        self.ready = 0

    def __len__(self) -> int:
        return self.ready

    def level_of(self, msg: Message) -> int:
        """The priority a message is queued at (0 without x-max-priority; capped at it)."""
        if self.max_priority is None or msg.priority is None:
            return 0
        return max(0, min(msg.priority, self.max_priority))

    def expiry_of(self, msg: Message, now: float) -> float | None:
        """When a message enqueued now expires: the lower of queue and message TTL."""
        ttls = [t for t in (self.message_ttl, msg.expiration) if t is not None]
        return now + min(ttls) if ttls else None

    def _lane(self, level: int) -> deque[Entry]:
        lane = self.levels.get(level)
        if lane is None:
            lane = self.levels[level] = deque()
            self.order = sorted(self.levels, reverse=True)
        return lane

    def publish(self, msg: Message, now: float) -> tuple[Entry | None, list[Entry]]:
        """Enqueue a message. Returns ``(entry or None, removed)``: the entry if it was accepted;
        ``removed`` lists what the length limit took out (the refused message itself with
        reject-publish*, the dropped heads with drop-head); the caller drops or dead-letters
        them with reason ``maxlen``."""
        self.seq += 1
        entry = Entry(msg, self.seq, self.level_of(msg), self.expiry_of(msg, now))
        if self.overflow != "drop-head" and self.will_overflow(msg):
            return None, [entry]
        self._lane(entry.level).append(entry)
        self.ready += 1
        self.bytes += msg.size
        removed: list[Entry] = []
        while self.over_max_length() and self.ready:
            head = self.pop()
            assert head is not None
            removed.append(head)
        return entry, removed

    def will_overflow(self, msg: Message) -> bool:
        """rabbit_amqqueue_process will_overflow/2 (reject-publish*): one more message would take
        the queue above x-max-length or x-max-length-bytes."""
        return ((self.max_length is not None and self.ready + 1 > self.max_length)
                or (self.max_bytes is not None and self.bytes + msg.size > self.max_bytes))

    def over_max_length(self) -> bool:
        """rabbit_amqqueue_process over_max_length/1 (drop-head drops while this holds)."""
        return ((self.max_length is not None and self.ready > self.max_length)
                or (self.max_bytes is not None and self.bytes > self.max_bytes))

    def head(self) -> Entry | None:
        """The message that would be delivered next (highest priority, oldest)."""
        for level in self.order:
            lane = self.levels[level]
            if lane:
                return lane[0]
        return None

    def pop(self) -> Entry | None:
        """Take the next message to deliver (see head)."""
        for level in self.order:
            lane = self.levels[level]
            if lane:
                self.ready -= 1
                entry = lane.popleft()
                self.bytes -= entry.msg.size
                return entry
        return None

    def expire(self, now: float, *, inclusive: bool = True) -> list[Entry]:
        """Remove the expired messages at the head of each priority lane, oldest first.

        Only heads are looked at, as a classic queue does: an expired message behind a live one
        stays until it reaches the head. ``inclusive`` decides a message expiring exactly now
        (a delivery attempt at that instant wins: a TTL of 0 still reaches a waiting consumer).
        """
        out: list[Entry] = []
        for level in self.order:
            lane = self.levels[level]
            while lane and lane[0].expires_at is not None and (
                    lane[0].expires_at < now or (inclusive and lane[0].expires_at == now)):
                out.append(lane.popleft())
                self.ready -= 1
                self.bytes -= out[-1].msg.size
        return out

    def next_expiry(self) -> float | None:
        """The earliest expiry among the lane heads (when the queue's expiry timer fires)."""
        times = [lane[0].expires_at for lane in self.levels.values() if lane and lane[0].expires_at is not None]
        return min(times) if times else None

    def requeue(self, entry: Entry) -> None:
        """Put a delivered message back at its original position, marked redelivered."""
        entry.redelivered = True
        lane = self._lane(entry.level)
        i = 0
        # Requeued messages are old: their place is near the head.
        while i < len(lane) and lane[i].seq < entry.seq:
            i += 1
        lane.insert(i, entry)
        self.ready += 1
        self.bytes += entry.msg.size

    def entries(self) -> list[Entry]:
        """Ready messages in delivery order (for views and tests)."""
        return [e for level in self.order for e in self.levels[level]]

    def purge(self) -> list[Entry]:
        out = self.entries()
        for lane in self.levels.values():
            lane.clear()
        self.ready = 0
        self.bytes = 0
        return out


class ConsumerRing:
    """The consumers of one queue taking turns, each limited by its prefetch (basic.qos).

    ``prefetch`` 0 means unlimited (an auto-ack consumer, or basic.qos 0).
    """

    def __init__(self) -> None:
        self.active: deque[str] = deque()
        self.blocked: set[str] = set()
        self.prefetch: dict[str, int] = {}
        self.unacked: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self.prefetch)

    def add(self, tag: str, prefetch: int) -> None:
        self.prefetch[tag] = prefetch
        self.unacked[tag] = 0
        self.active.append(tag)

    def remove(self, tag: str) -> None:
        self.prefetch.pop(tag, None)
        self.unacked.pop(tag, None)
        self.blocked.discard(tag)
        if tag in self.active:
            self.active.remove(tag)

    def has_credit(self, tag: str) -> bool:
        limit = self.prefetch[tag]
        return limit == 0 or self.unacked[tag] < limit

    def next(self) -> str | None:
        """The consumer to deliver the next message to, or None if every one is at its limit.

        The chosen consumer is charged one unacknowledged delivery and moves to the back."""
        while self.active:
            tag = self.active.popleft()
            if not self.has_credit(tag):
                self.blocked.add(tag)
                continue
            self.unacked[tag] += 1
            self.active.append(tag)
            return tag
        return None

    def settle(self, tag: str, n: int = 1) -> None:
        """An ack, nack or reject of ``n`` deliveries gives credit back."""
        if tag not in self.unacked:
            return
        self.unacked[tag] = max(0, self.unacked[tag] - n)
        if tag in self.blocked and self.has_credit(tag):
            self.blocked.discard(tag)
            self.active.append(tag)
