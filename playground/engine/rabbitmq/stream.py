"""RabbitMQ streams (x-queue-type=stream) as an append-only log, in pure classes and functions.

The rules ("Streams" guide, "Using Streams with AMQP 0-9-1"; rabbit_stream_queue.erl and
osiris, 3.10):

- Messages are appended with consecutive offsets from 0 and are not removed when consumed or
  acknowledged: any number of consumers read the same messages, each from its own position.
- Messages written together form a *chunk*; chunks are the unit of reading. A consumer's
  prefetch (basic.qos, required: a prefetch of 0 is refused) is credit spent per chunk: a whole
  chunk is delivered while any credit is left, so a consumer may hold more than its prefetch
  (stream_entries/4); each ack gives one credit back.
- ``x-stream-offset`` chooses where a consumer starts (parse_offset_arg/1): ``first`` (the
  oldest retained message), ``last`` (the start of the last chunk written), ``next`` (the
  default: only messages written from now on), a number (that offset, clamped to what is
  retained), a timestamp (the first chunk written at or after it) or an interval such as
  ``30s`` (now minus it, as a timestamp). Each delivery carries its offset in the
  ``x-stream-offset`` header.
- basic.get, basic.nack / basic.reject, auto-ack consumers and queue.purge are not supported.
- Retention (``x-max-length-bytes``, ``x-max-age``) deletes whole *segments*, oldest first, and
  never the segment being written; it is evaluated when a segment fills up and a new one starts
  (``x-stream-max-segment-size-bytes``, 500,000,000 by default; osiris_log write_chunk/6 and
  trigger_retention_eval). A consumer behind the first retained offset skips to it.
- Offsets are not one per message: a new segment starts with a tracking snapshot chunk
  (osiris_log evaluate_tracking_snapshot/2, written when the segment is full and the stream has
  publisher tracking, which AMQP publishers give it), which takes one offset and is never
  delivered; the offsets of two messages on each side of a segment boundary differ by two.

Sizes here are message bodies only; a real segment also holds chunk and record headers and the
message's properties, so it fills sooner than these numbers say.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from playground.engine.rabbitmq.queue import Message

INTERVAL_UNITS = {"Y": 365 * 86400.0, "M": 30 * 86400.0, "D": 86400.0, "h": 3600.0, "m": 60.0, "s": 1.0}


@dataclass
class Chunk:
    first: int  # offset of its first message
    timestamp: float
    messages: list[Message] = field(default_factory=list)
    size: int = 0
    tracking: bool = False  # a tracking snapshot: one offset, no message

    @property
    def next(self) -> int:
        return self.first + (1 if self.tracking else len(self.messages))


@dataclass
class Segment:
    chunks: list[Chunk] = field(default_factory=list)
    size: int = 0


def parse_offset_spec(text: str) -> tuple[str, float]:
    """A consumer's x-stream-offset: ("first"|"last"|"next", 0), ("offset", n), ("timestamp", t)
    or ("interval", seconds). Raises ValueError with a message for people."""
    spec = text.strip()
    if spec in ("first", "last", "next", ""):
        return (spec or "next", 0.0)
    if spec.isdigit():
        return ("offset", float(int(spec)))
    if spec.startswith("@"):
        try:
            return ("timestamp", float(spec[1:]))
        except ValueError:
            pass
    match = re.fullmatch(r"(\d+)([YMDhms])", spec)
    if match:
        return ("interval", int(match.group(1)) * INTERVAL_UNITS[match.group(2)])
    raise ValueError(f"{text!r} is not first, last, next, an offset, @seconds (a timestamp) or an interval "
                     "like 30s, 5m, 1h")


class StreamLog:
    """The chunks of one stream, in segments, with retention."""

    def __init__(self, segment_bytes: int = 500_000_000, max_bytes: int | None = None,
                 max_age: float | None = None) -> None:
        self.segment_bytes = segment_bytes
        self.max_bytes = max_bytes
        self.max_age = max_age
        self.segments: list[Segment] = [Segment()]
        self.next_offset = 0
        self.deleted = 0  # messages removed by retention

    def chunks(self) -> list[Chunk]:
        return [c for s in self.segments for c in s.chunks]

    @property
    def first_offset(self) -> int:
        for segment in self.segments:
            if segment.chunks:
                return segment.chunks[0].first
        return self.next_offset

    def retained(self) -> int:
        """Messages kept (tracking snapshots are not messages)."""
        return sum(len(c.messages) for c in self.chunks())

    def bytes(self) -> int:
        return sum(s.size for s in self.segments)

    def append(self, msg: Message, now: float) -> int:
        """Append one message; messages appended at the same instant share a chunk. Returns its
        offset. A full segment is closed first, and retention evaluated, before a new chunk."""
        active = self.segments[-1]
        last = active.chunks[-1] if active.chunks else None
        if last is None or last.timestamp != now:
            if active.size >= self.segment_bytes:
                active = Segment()
                self.segments.append(active)
                self.apply_retention(now)
                active.chunks.append(Chunk(self.next_offset, now, tracking=True))
                self.next_offset += 1
            last = Chunk(self.next_offset, now)
            active.chunks.append(last)
        last.messages.append(msg)
        last.size += msg.size
        active.size += msg.size
        self.next_offset += 1
        return self.next_offset - 1

    def apply_retention(self, now: float) -> int:
        """Delete whole closed segments, oldest first, while the stream is above max-length-bytes
        or the segment's newest chunk is older than max-age. Returns the messages deleted."""
        gone = 0
        while len(self.segments) > 1:
            oldest = self.segments[0]
            too_big = self.max_bytes is not None and self.bytes() > self.max_bytes
            too_old = (self.max_age is not None and bool(oldest.chunks)
                       and oldest.chunks[-1].timestamp < now - self.max_age)
            if not (too_big or too_old):
                break
            gone += sum(len(c.messages) for c in oldest.chunks)
            self.segments.pop(0)
        self.deleted += gone
        return gone

    def start_offset(self, kind: str, value: float, now: float) -> tuple[int, int]:
        """Where a consumer attaches: (chunk start to read from, first offset it is given)."""
        chunks = self.chunks()
        if kind == "first" or (kind in ("timestamp", "interval") and not chunks):
            first = self.first_offset
            return first, first
        if kind == "next":
            return self.next_offset, self.next_offset
        if kind == "last":  # the last chunk of messages
            users = [c for c in chunks if not c.tracking]
            start = users[-1].first if users else self.next_offset
            return start, start
        if kind == "offset":
            wanted = min(max(int(value), self.first_offset), self.next_offset)
            return wanted, wanted
        when = value if kind == "timestamp" else now - value
        for chunk in chunks:
            if chunk.timestamp >= when and not chunk.tracking:
                return chunk.first, chunk.first
        return self.next_offset, self.next_offset

    def read_chunk(self, position: int) -> Chunk | None:
        """The chunk holding ``position`` (or the first retained one after it), if any."""
        for chunk in self.chunks():
            if chunk.next > position:
                return chunk
        return None
