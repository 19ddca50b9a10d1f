"""A consumer group's server-side state: last-delivered-id, consumers and the Pending Entries
List, with the commands that change them (XGROUP CREATE, XREADGROUP, XACK, XCLAIM, XAUTOCLAIM,
XPENDING), as Redis 7.0 implements them (t_stream.c).

Times are milliseconds on the caller's clock (the simulation's, or the differential test's).
The same class drives the simulation and is checked command by command against the real server
(tests/differential/test_redis_streams.py).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from typing import NamedTuple

from playground.engine.redisx.stream import StreamLog

AUTOCLAIM_ATTEMPTS_FACTOR = 10  # XAUTOCLAIM examines at most COUNT * 10 PEL entries per call


class Nack:
    """One pending entry (streamNACK): who has it, since when, how many times delivered."""

    __slots__ = ("id", "pos", "key", "consumer", "delivery_time", "delivery_count")

    def __init__(self, entry_id: int, pos: int, key: int, consumer: str, now: float) -> None:
        self.id = entry_id
        self.pos = pos  # the entry's position in the stream: it exists while pos >= stream.first
        self.key = key
        self.consumer = consumer
        self.delivery_time = now
        self.delivery_count = 1


class PendingRow(NamedTuple):
    id: int
    consumer: str
    idle: float
    delivery_count: int


class AutoclaimReply(NamedTuple):
    next_id: int  # 0-0 when the scan reached the end of the PEL
    claimed: list[Nack]
    deleted: list[int]  # pending IDs whose entries were no longer in the stream (removed from the PEL)


class GroupState:
    def __init__(self, stream: StreamLog, start: str | int = "$") -> None:
        """XGROUP CREATE key group <id | $>: ``$`` means the stream's last ID (only entries
        added from now on are delivered), an ID means every entry after it (``0``: the whole
        stream)."""
        self.stream = stream
        self.last_id = stream.last_id if start == "$" else int(start)
        self.next_pos = stream.appended if start == "$" else stream.first_after(self.last_id)
        self.entries_read = 0
        self.pel: dict[int, Nack] = {}
        self.pel_ids: list[int] = []  # the group PEL's IDs, ascending (a radix tree in Redis)
        self.consumers: dict[str, list[int]] = {}  # consumer -> its PEL's IDs, ascending
        self.seen: dict[str, float] = {}

    def consumer(self, name: str, now: float) -> list[int]:
        """Consumers are created the first time a command names them, and stay until
        XGROUP DELCONSUMER (not modelled)."""
        self.seen[name] = now
        return self.consumers.setdefault(name, [])

    def exists(self, nack: Nack) -> bool:
        return nack.pos >= self.stream.first

    # -- XREADGROUP -------------------------------------------------------------------------

    def unread(self) -> int:
        """Entries in the stream after last-delivered-id (not yet delivered to the group)."""
        return self.stream.appended - max(self.next_pos, self.stream.first)

    def read_new(self, consumer: str, count: int | None, now: float) -> list[Nack]:
        """``XREADGROUP GROUP g c COUNT n STREAMS key >``: the oldest entries never delivered to
        the group, at most COUNT; each enters the PEL owned by ``c`` with delivery count 1, and
        last-delivered-id moves to the last one. Entries trimmed before the group read them are
        simply never delivered."""
        mine = self.consumer(consumer, now)
        stream = self.stream
        start = max(self.next_pos, stream.first)
        end = stream.appended if count is None else min(stream.appended, start + count)
        out = []
        for pos in range(start, end):
            entry_id = stream.id_at(pos)
            nack = Nack(entry_id, pos, stream.key_at(pos), consumer, now)
            self.pel[entry_id] = nack
            self.pel_ids.append(entry_id)  # greater than every pending ID: all are <= last_id
            mine.append(entry_id)
            out.append(nack)
        if end > start:
            self.next_pos = end
            self.last_id = stream.id_at(end - 1)
            self.entries_read += end - start
        return out

    def read_history(self, consumer: str, after: int, count: int | None, now: float) -> list[Nack]:
        """``XREADGROUP GROUP g c COUNT n STREAMS key <id>`` with an ID: the consumer's own
        pending entries with greater IDs (``0``: all of them), at most COUNT. Reading history is
        a delivery too: each one's delivery count goes up and its idle time restarts. An entry
        trimmed from the stream meanwhile comes back with its ID and no fields (``exists``)."""
        mine = self.consumer(consumer, now)
        lo = bisect_right(mine, after)
        ids = mine[lo:] if count is None else mine[lo:lo + count]
        out = []
        for entry_id in ids:
            nack = self.pel[entry_id]
            nack.delivery_count += 1
            nack.delivery_time = now
            out.append(nack)
        return out

    # -- XACK -------------------------------------------------------------------------------

    def ack(self, ids: list[int]) -> list[Nack]:
        """XACK: remove these IDs from the group's PEL (and their consumer's), whoever holds
        them; IDs not pending are ignored. Returns what was removed (its length is XACK's
        reply). The entries stay in the stream: only MAXLEN/XTRIM/XDEL remove entries."""
        out = []
        for entry_id in ids:
            nack = self.pel.pop(entry_id, None)
            if nack is not None:
                self._unlink(nack)
                out.append(nack)
        return out

    def _unlink(self, nack: Nack) -> None:
        _remove(self.pel_ids, nack.id)
        _remove(self.consumers[nack.consumer], nack.id)

    def _drop(self, nack: Nack) -> None:
        del self.pel[nack.id]
        self._unlink(nack)

    def _transfer(self, nack: Nack, consumer: str) -> None:
        if nack.consumer != consumer:
            _remove(self.consumers[nack.consumer], nack.id)
            insort(self.consumers[consumer], nack.id)
            nack.consumer = consumer

    # -- XCLAIM / XAUTOCLAIM ----------------------------------------------------------------

    def claim(self, consumer: str, min_idle: float, ids: list[int], now: float, *, idle: float | None = None,
              retrycount: int | None = None, justid: bool = False) -> list[Nack]:
        """XCLAIM key group consumer min-idle-time id... [IDLE ms] [RETRYCOUNT n] [JUSTID].

        For each ID, in the order given: a pending entry no longer in the stream is removed from
        the PEL and skipped (Redis 7.0+); one idle for less than min-idle-time is skipped;
        otherwise it moves to ``consumer``, its idle time restarts (or is set to IDLE) and its
        delivery count goes up by one (set to RETRYCOUNT if given; unchanged with JUSTID).
        IDs that are not pending are ignored (no FORCE here)."""
        self.consumer(consumer, now)
        out = []
        for entry_id in ids:
            nack = self.pel.get(entry_id)
            if nack is None:
                continue
            if not self.exists(nack):
                self._drop(nack)
                continue
            if min_idle and now - nack.delivery_time < min_idle:
                continue
            self._transfer(nack, consumer)
            nack.delivery_time = now - idle if idle is not None else now
            if retrycount is not None:
                nack.delivery_count = retrycount
            elif not justid:
                nack.delivery_count += 1
            out.append(nack)
        return out

    def autoclaim(self, consumer: str, min_idle: float, start: int, now: float, count: int = 100,
                  justid: bool = False) -> AutoclaimReply:
        """XAUTOCLAIM key group consumer min-idle-time start [COUNT n] [JUSTID].

        Scans the group's PEL in ID order from ``start``, examining at most COUNT * 10 entries:
        an entry no longer in the stream is removed from the PEL and reported as deleted; one
        idle for at least min-idle-time is claimed like XCLAIM (idle restarts, delivery count +1
        unless JUSTID) until COUNT are claimed. The reply's cursor is the next pending ID after
        the last one examined, or 0-0 when the scan reached the end: call again with it."""
        self.consumer(consumer, now)
        attempts = count * AUTOCLAIM_ATTEMPTS_FACTOR
        i = bisect_left(self.pel_ids, start)
        claimed: list[Nack] = []
        deleted: list[int] = []
        left = count
        while attempts and left and i < len(self.pel_ids):
            attempts -= 1
            nack = self.pel[self.pel_ids[i]]
            if not self.exists(nack):
                deleted.append(nack.id)
                self._drop(nack)  # the next ID slides into index i
                continue
            i += 1
            if min_idle and now - nack.delivery_time < min_idle:
                continue
            self._transfer(nack, consumer)
            nack.delivery_time = now
            if not justid:
                nack.delivery_count += 1
            claimed.append(nack)
            left -= 1
        next_id = self.pel_ids[i] if i < len(self.pel_ids) else 0
        return AutoclaimReply(next_id, claimed, deleted)

    # -- XPENDING ---------------------------------------------------------------------------

    def pending_summary(self) -> tuple[int, int | None, int | None, dict[str, int]]:
        """XPENDING key group: count, smallest and greatest pending ID, count per consumer."""
        per: dict[str, int] = {}
        for name, ids in self.consumers.items():
            if ids:
                per[name] = len(ids)
        ids = self.pel_ids
        return len(ids), (ids[0] if ids else None), (ids[-1] if ids else None), per

    def pending_range(self, start: int, end: int, count: int, now: float, *, consumer: str | None = None,
                      min_idle: float | None = None) -> list[PendingRow]:
        """XPENDING key group [IDLE min-idle-time] start end count [consumer]: pending entries
        in ID order with their owner, idle time and delivery count."""
        ids = self.pel_ids if consumer is None else self.consumers.get(consumer, [])
        out = []
        for entry_id in ids[bisect_left(ids, start):bisect_right(ids, end)]:
            if len(out) >= count:
                break
            nack = self.pel[entry_id]
            idle = now - nack.delivery_time
            if min_idle is not None and idle < min_idle:
                continue
            out.append(PendingRow(entry_id, nack.consumer, idle, nack.delivery_count))
        return out


def _remove(ids: list[int], entry_id: int) -> None:
    i = bisect_left(ids, entry_id)
    if i < len(ids) and ids[i] == entry_id:
        del ids[i]
