"""Kafka transactions on the topic side: open transactions, markers, the last stable offset.

Rules followed (KIP-98 exactly-once delivery and transactional messaging; KIP-447):

- A transactional producer writes its records to the partitions as usual (each flagged as
  transactional). Ending the transaction, the coordinator writes a control record, a COMMIT or
  an ABORT marker, to every partition the transaction touched. A marker takes an offset, like
  any record, but is never returned to an application: a consumer's position steps over it.
- The last stable offset (LSO) of a partition is the first offset of its earliest transaction
  that is not complete: still open, or ended but with its marker not yet below the high
  watermark (ProducerStateManager's unreplicated transactions). With none, LSO = high watermark.
- isolation.level=read_committed: a consumer fetches only below the LSO, and drops the records
  of aborted transactions (the broker sends the aborted-transaction index with the fetch).
  read_uncommitted (the consumer's default) reads up to the high watermark: records of open
  transactions and of aborted ones included.
- An abort marks the transaction's records aborted. Here they are flagged in the log rows (and
  in the batches still above the high watermark), which gives a read_committed reader what the
  aborted-transaction index gives it: it never reads past an open transaction (the LSO stops
  it), so by the time it reads a record, whether its transaction aborted is settled.

The writer of a transaction is named by a string: a producer node's id, or group/member for a
consumer group doing consume-process-produce (see group.py).
"""

from __future__ import annotations

import zlib
from bisect import bisect_left
from collections import deque
from typing import Any

import numpy as np

from playground.engine.kafka.log import ABORT_MARKER, ABORTED, CONTROL, TOMBSTONE

DROP_ABORTED = "its transaction was aborted (read_committed skips it)"
ABORTED_KEPT = 8  # entries of the aborted-transaction index shown per partition
MARKERS_KEPT = 1024  # marker offsets kept per partition before those every reader passed are trimmed


# A record's origin id: which message the first producer sent, kept through every
# consume-process-produce step (end-to-end duplicate counting): tag << 40 | serial.
ORIGIN_SHIFT = 40
ORIGIN_MASK = (1 << ORIGIN_SHIFT) - 1


def origin_ids(name: str, serials: np.ndarray, derived: bool = False) -> np.ndarray:
    """Origin ids of records numbered ``serials`` by the producer ``name`` (its message numbers),
    or ``derived`` for records that had none: numbered within the topic ``name``."""
    tag = (zlib.crc32(name.encode()) & 0x7FFF) | (0x8000 if derived else 0)
    return (tag << ORIGIN_SHIFT) | serials.astype(np.int64)


class OpenTxn:
    """A transaction's footprint on one partition: where it starts, the ranges it wrote. A
    leader change may cut all its records away: the partition is still in the transaction (its
    marker is still written) but holds no offset back until the records are written again."""

    __slots__ = ("first", "ranges")

    def __init__(self, first: int) -> None:
        self.first = first
        self.ranges: list[tuple[int, int]] = []


class TransactionalTopic:
    """Mixed into TopicRuntime: per partition, the open transactions, the transactions whose
    marker is still above the high watermark, the markers in the readable log (they take
    offsets but are not messages: the books leave them out) and the aborted-transaction index."""

    id: str
    readers: list[str]
    logs: list[Any]
    parts: list[Any] | None
    cluster: str | None

    def init_transactions(self, partitions: int) -> None:
        self.txn_open: list[dict[str, OpenTxn]] = [{} for _ in range(partitions)]
        # writer -> (its first offset, its marker's offset, the marker's flags)
        self.txn_closing: list[dict[str, tuple[int, int, int]]] = [{} for _ in range(partitions)]
        self.markers: list[list[int]] = [[] for _ in range(partitions)]
        self.markers_trimmed = [0] * partitions  # markers every reader is past, forgotten (counted)
        self.aborted_index: list[deque[dict[str, Any]]] = [deque(maxlen=ABORTED_KEPT) for _ in range(partitions)]
        self.read_committed: set[str] = set()
        self.transactional = False  # a transaction ever wrote here
        self.commits = 0
        self.aborts = 0
        self.aborted_records = 0

    # -- writing ----------------------------------------------------------------------------

    def txn_add(self, p: int, writer: str, first: int, end: int) -> None:
        """Records [first, end) of partition ``p`` were written by ``writer``'s open transaction."""
        self.transactional = True
        txn = self.txn_open[p].get(writer)
        if txn is None:
            txn = self.txn_open[p][writer] = OpenTxn(first)
        elif not txn.ranges:  # all it wrote here was cut away: it starts again
            txn.first = first
        txn.ranges.append((first, end))

    def txn_partitions(self, writer: str) -> list[int]:
        return [p for p, open_ in enumerate(self.txn_open) if writer in open_]

    def end_txn(self, sim: Any, p: int, writer: str, commit: bool, epoch: int | None = None) -> bool:
        """Write ``writer``'s COMMIT or ABORT marker to partition ``p``. False when it cannot be
        written now (the partition has no leader): the coordinator retries until it can. A
        marker carries the producer's ``epoch``: a newer one fences the older from the partition
        (ProducerStateEntry.maybeUpdateProducerEpoch)."""
        txn = self.txn_open[p].get(writer)
        if txn is None:
            return True
        marker = np.array([CONTROL | (0 if commit else ABORT_MARKER)], dtype=np.uint8)
        keys = np.array([-1], dtype=np.int32)
        if self.parts is not None:
            part = self.parts[p]
            if not sim.components[self.cluster].serving(part.leader):
                return False
        del self.txn_open[p][writer]
        if not commit:
            self._mark_aborted(p, txn)
            if txn.ranges:  # the index lists aborted records; none left here when all were cut away
                last = txn.ranges[-1][1] - 1
                self.aborted_index[p].append({"writer": writer, "first": txn.first, "last": last})
            self.aborts += 1
        else:
            self.commits += 1
        if self.parts is None:
            self.append(sim, p, keys, marker)  # type: ignore[attr-defined]
            for reader in self.readers:
                sim.components[reader].on_append(sim, self.id, p)
        else:
            if epoch is not None:
                self.parts[p].bump_producer_epoch(writer, epoch)
            batch = self.parts[p].append(keys, marker, None, None, "all", None)
            self.txn_closing[p][writer] = (txn.first if txn.ranges else batch.first, batch.first, int(marker[0]))
            self.advance_hw(sim, p)  # type: ignore[attr-defined]
        sim.emit({"k": "txn", "t": sim.kernel.now, "node": self.id, "topic": self.id, "p": p, "writer": writer,
                  "outcome": "commit" if commit else "abort", "first": txn.first})
        return True

    def _mark_aborted(self, p: int, txn: OpenTxn) -> None:
        log = self.logs[p]
        hw = log.leo
        pending = self.parts[p].pending if self.parts is not None else ()
        for first, end in txn.ranges:
            self.aborted_records += end - first
            if first < hw:
                log.set_flag(first, min(end, hw), ABORTED)
            if end <= hw:
                continue
            for batch in pending:  # still above the high watermark: flag the batch's records
                lo, hi = max(first, batch.first), min(end, batch.end)
                if lo >= hi:
                    continue
                if batch.tombs is None or batch.tombs.dtype != np.uint8:
                    flags = np.zeros(len(batch.keys), dtype=np.uint8)
                    if batch.tombs is not None:
                        flags[batch.tombs] = TOMBSTONE
                    batch.tombs = flags
                batch.tombs[lo - batch.first:hi - batch.first] |= ABORTED

    def note_markers(self, sim: Any, p: int, first: int, flags: np.ndarray) -> None:
        """Records at ``first`` with these flags reached the readable log: remember its markers.
        Those below every reader's oldest offset in hand are only counted, so memory stays flat."""
        at = np.flatnonzero(flags & CONTROL)
        if not len(at):
            return
        markers = self.markers[p]
        markers.extend((at + first).tolist())
        if len(markers) > MARKERS_KEPT:
            floor = min((sim.components[r].marker_floor(self.id, p) for r in self.readers), default=markers[-1] + 1)
            gone = bisect_left(markers, floor)
            if gone:
                del markers[:gone]
                self.markers_trimmed[p] += gone

    def txn_truncated(self, sim: Any, p: int, new_leo: int) -> None:
        """A leader change cut the partition at ``new_leo``: ranges above it are gone, and a marker
        above it is written again by the coordinator (it retries until every marker is written)."""
        for txn in self.txn_open[p].values():
            txn.ranges = [(a, min(b, new_leo)) for a, b in txn.ranges if a < new_leo]
        for writer, (first, marker, flags) in list(self.txn_closing[p].items()):
            if marker >= new_leo:
                batch = self.parts[p].append(np.array([-1], dtype=np.int32),  # type: ignore[index]
                                             np.array([flags], dtype=np.uint8), None, None, "all", None)
                self.txn_closing[p][writer] = (min(first, batch.first), batch.first, flags)

    # -- reading ----------------------------------------------------------------------------

    def lso(self, p: int) -> int:
        """The last stable offset: read_committed consumers fetch below it."""
        low = self.logs[p].leo  # the high watermark
        for txn in self.txn_open[p].values():
            if txn.first < low and txn.ranges:
                low = txn.first
        closing = self.txn_closing[p]
        if closing:
            hw = self.logs[p].leo
            for writer, (first, marker, _) in list(closing.items()):
                if marker < hw:
                    del closing[writer]  # complete: its marker is committed
                elif first < low:
                    low = first
        return low

    def readable_end(self, reader: str, p: int) -> int:
        if reader in self.read_committed:
            return self.lso(p)
        return self.logs[p].leo  # type: ignore[attr-defined]  # fetchable_end: the HW (asked per fetch)

    def markers_in(self, p: int, first: int, end: int | None = None) -> int:
        """Markers at offsets [first, end) of the readable log (``first`` at or above every
        reader's marker floor: the ones below may have been trimmed)."""
        markers = self.markers[p]
        if not markers:
            return 0
        hi = len(markers) if end is None else bisect_left(markers, end)
        return max(0, hi - bisect_left(markers, first))

    def marker_count(self, p: int) -> int:
        return len(self.markers[p]) + self.markers_trimmed[p]

    def markers_total(self) -> int:
        return sum(len(m) for m in self.markers) + sum(self.markers_trimmed)

    def txn_view(self, p: int) -> dict[str, Any] | None:
        if not self.transactional:
            return None
        return {"lso": self.lso(p), "open": len(self.txn_open[p]), "markers": self.marker_count(p),
                "aborted": list(self.aborted_index[p])}
