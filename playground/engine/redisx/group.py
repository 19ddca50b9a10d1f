"""A consumer group's server-side state: last-delivered-id, consumers and the Pending Entries
List, with the commands that change them (XGROUP CREATE / SETID / DELCONSUMER, XREADGROUP, XACK,
XCLAIM, XAUTOCLAIM, XPENDING) and the group's entries-read and lag (XINFO GROUPS), as Redis 7.0
implements them (t_stream.c).

Times are milliseconds on the caller's clock (the simulation's, or the differential test's).
The same class drives the simulation and is checked command by command against the real server
(tests/differential/test_redis_streams.py).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from typing import NamedTuple

from playground.engine.redisx.stream import StreamLog

AUTOCLAIM_ATTEMPTS_FACTOR = 10  # XAUTOCLAIM examines at most COUNT * 10 PEL entries per call

ERR_NO_KEY = ("ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use "
              "the MKSTREAM option to create an empty stream automatically.")
ERR_BUSYGROUP = "BUSYGROUP Consumer Group name already exists"


def xgroup_create_error(key_exists: bool, group_exists: bool, mkstream: bool) -> str | None:
    """XGROUP CREATE key group <id | $> [MKSTREAM]: the error Redis answers, or None when the
    group is created (t_stream.c xgroupCommand). Without MKSTREAM the stream key must exist
    (a stream exists from its first XADD, and stays when trimmed or XDELed to no entries); with
    it an empty stream is created. A group of that name on the stream already: BUSYGROUP."""
    if not key_exists and not mkstream:
        return ERR_NO_KEY
    if key_exists and group_exists:
        return ERR_BUSYGROUP
    return None


def estimate_entries_read(stream: StreamLog, entry_id: int) -> int | None:
    """The logical read counter of an ID: how many entries were added up to it, or None when
    Redis cannot know (t_stream.c streamEstimateDistanceFromFirstEverEntry): known for the last
    ID (entries-added), for the first entry or an ID before it when nothing after the first
    entry was XDELed (entries-added - length, + 1 for the first entry itself), for a stream
    never written (0); unknown for an ID in the middle, in the future, or behind a deletion."""
    if not stream.appended:
        return 0
    if not stream.length and entry_id <= stream.last_id:
        return stream.appended
    if entry_id == stream.last_id:
        return stream.appended
    if entry_id > stream.last_id:
        return None
    first_id = stream.first_id()
    if first_id is None:
        return None
    if not stream.max_deleted_id or stream.max_deleted_id < first_id:
        if entry_id < first_id:
            return stream.appended - stream.length
        if entry_id == first_id:
            return stream.appended - stream.length + 1
    return None


def has_tombstones_after(stream: StreamLog, entry_id: int) -> bool:
    """streamRangeHasTombstones(s, id, NULL): an XDELed ID at or after this one, at or after
    the first entry (Redis keeps only the greatest deleted ID, so this is all it can tell)."""
    if not stream.length or not stream.max_deleted_id:
        return False
    first_id = stream.first_id()
    if first_id is not None and first_id > stream.max_deleted_id:
        return False
    return entry_id <= stream.max_deleted_id


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
    def __init__(self, stream: StreamLog, start: str | int = "$", entries_read: int | None = None) -> None:
        """XGROUP CREATE key group <id | $> [ENTRIESREAD n]: ``$`` means the stream's last ID
        (only entries added from now on are delivered), an ID means every entry after it
        (``0``: the whole stream). Without ENTRIESREAD the group's read counter is unknown
        until a read can work it out (``estimate_entries_read``)."""
        self.stream = stream
        self.last_id = stream.last_id if start == "$" else int(start)
        self.next_pos = stream.appended if start == "$" else stream.first_after(self.last_id)
        self.entries_read: int | None = entries_read
        self.pel: dict[int, Nack] = {}
        self.pel_ids: list[int] = []  # the group PEL's IDs, ascending (a radix tree in Redis)
        self.consumers: dict[str, list[int]] = {}  # consumer -> its PEL's IDs, ascending
        self.seen: dict[str, float] = {}

    def consumer(self, name: str, now: float) -> list[int]:
        """Consumers are created the first time a command names them, and stay until
        XGROUP DELCONSUMER."""
        self.seen[name] = now
        return self.consumers.setdefault(name, [])

    def exists(self, nack: Nack) -> bool:
        """The pending entry is still in the stream (not trimmed, not XDELed)."""
        return self.stream.is_live(nack.pos)

    # -- XGROUP SETID / DELCONSUMER, XINFO GROUPS ------------------------------------------

    def set_id(self, start: str | int, entries_read: int | None = None) -> None:
        """XGROUP SETID key group <id | $> [ENTRIESREAD n]: last-delivered-id becomes that ID
        (``$``: the stream's last ID), so ``>`` reads continue after it, backwards (entries
        delivered again) or forwards (entries skipped). The PEL is left alone. entries-read
        becomes ENTRIESREAD, or unknown without it (xgroupCommand sets -1)."""
        self.last_id = self.stream.last_id if start == "$" else int(start)
        self.next_pos = self.stream.first_after(self.last_id)
        self.entries_read = entries_read

    def delete_consumer(self, name: str) -> list[Nack]:
        """XGROUP DELCONSUMER key group consumer: the consumer goes, and its pending entries
        leave the group's PEL with it (streamDelConsumer): nobody will be offered them again,
        not by XAUTOCLAIM, not by XPENDING. Returns them; the reply is their count (0 for an
        unknown consumer)."""
        ids = self.consumers.pop(name, None)
        self.seen.pop(name, None)
        if ids is None:
            return []
        out = []
        for entry_id in ids:
            nack = self.pel.pop(entry_id)
            _remove(self.pel_ids, entry_id)
            out.append(nack)
        return out

    def lag(self) -> int | None:
        """XINFO GROUPS lag: entries in the stream not yet delivered to the group, or None when
        Redis cannot tell (streamReplyWithCGLag): entries-added minus the group's read counter,
        when that is known and no XDEL happened after last-delivered-id, else estimated."""
        stream = self.stream
        if not stream.appended:
            return 0
        if self.entries_read is not None and not has_tombstones_after(stream, self.last_id):
            return stream.appended - self.entries_read
        estimate = estimate_entries_read(stream, self.last_id)
        return None if estimate is None else stream.appended - estimate

    def waiting(self) -> int:
        """Entries still in the stream after last-delivered-id that are not pending: what the
        group has yet to read for the first time (after XGROUP SETID moved it back, pending
        entries ahead of it are in flight, not waiting)."""
        ahead = self.pel_ids[bisect_right(self.pel_ids, self.last_id):]
        return self.unread() - sum(1 for i in ahead if self.exists(self.pel[i]))

    # -- XREADGROUP -------------------------------------------------------------------------

    def unread(self) -> int:
        """Entries in the stream after last-delivered-id (not yet delivered to the group)."""
        return self.stream.live_between(self.next_pos, self.stream.appended)

    def read_new(self, consumer: str, count: int | None, now: float) -> list[Nack]:
        """``XREADGROUP GROUP g c COUNT n STREAMS key >``: the oldest entries after
        last-delivered-id, at most COUNT; each enters the PEL owned by ``c`` with delivery
        count 1, and last-delivered-id moves to the last one. Entries trimmed or XDELed before
        the group read them are simply never delivered. An entry already pending (XGROUP SETID
        moved the group back) moves to ``c`` with its delivery count reset to 1
        (streamReplyWithRange). entries-read counts up while it is known and no XDEL lies
        ahead, else is estimated again (``estimate_entries_read``)."""
        mine = self.consumer(consumer, now)
        stream = self.stream
        positions = stream.live_positions(self.next_pos, count)
        out = []
        for pos in positions:
            entry_id = stream.id_at(pos)
            nack = self.pel.get(entry_id)
            if nack is None:
                nack = Nack(entry_id, pos, stream.key_at(pos), consumer, now)
                self.pel[entry_id] = nack
                if not self.pel_ids or self.pel_ids[-1] < entry_id:
                    self.pel_ids.append(entry_id)
                    mine.append(entry_id)
                else:
                    insort(self.pel_ids, entry_id)
                    insort(mine, entry_id)
            else:
                self._transfer(nack, consumer)
                nack.delivery_time = now
                nack.delivery_count = 1
            out.append(nack)
            if entry_id > self.last_id:
                if self.entries_read is not None and not has_tombstones_after(stream, entry_id):
                    self.entries_read += 1
                elif stream.appended:
                    self.entries_read = estimate_entries_read(stream, entry_id)
                self.last_id = entry_id
        if positions:
            self.next_pos = positions[-1] + 1
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
        an entry no longer in the stream (trimmed or XDELed) is removed from the PEL and
        reported as deleted (the reply's third element); one idle for at least min-idle-time is
        claimed like XCLAIM (idle restarts, delivery count +1 unless JUSTID). The scan stops
        once COUNT entries were claimed *or deleted*: deleted IDs use up the count too
        (t_stream.c xautoclaimCommand, ``count--`` in both branches, since the CVE-2022-31144
        fix in 7.0.4). The reply's cursor is the next pending ID after the last one examined,
        or 0-0 when the scan reached the end: call again with it."""
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
                left -= 1  # "Count is a limit of the command response size" (Redis 7.0.4+)
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
