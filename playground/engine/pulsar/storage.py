"""A partition's managed ledger: BookKeeper ledgers rolled over by entry count (and a minimum
age), consumed ledgers deleted by the retention rule, closed ledgers offloaded to tiered storage
past a size threshold and then removed from BookKeeper after the deletion lag ("Tiered
storage"; broker.conf managedLedgerMaxEntriesPerLedger, managedLedgerMinLedgerRolloverTimeMinutes,
managedLedgerOffloadThresholdInBytes, managedLedgerOffloadDeletionLagMs)."""

from __future__ import annotations

from typing import Any

from playground.engine.pulsar.rules import ledger_kept

MB = 1024 * 1024


class Ledger:
    __slots__ = ("id", "first", "count", "bytes", "created", "closed_at", "offloaded_at", "bk_deleted")

    def __init__(self, ledger_id: int, first: int, created: float) -> None:
        self.id = ledger_id
        self.first = first
        self.count = 0
        self.bytes = 0
        self.created = created
        self.closed_at: float | None = None
        self.offloaded_at: float | None = None
        self.bk_deleted = False


    @property
    def end(self) -> int:
        return self.first + self.count


class ManagedLedger:
    def __init__(self, params: dict[str, Any], next_id: int) -> None:
        self.max_entries = int(params["ledger_max_entries"])
        self.min_rollover = float(params["ledger_min_rollover_s"])
        self.retention_minutes = float(params["retention_minutes"])
        self.retention_mb = float(params["retention_mb"])
        self.offload_mb = float(params["offload_threshold_mb"])
        self.deletion_lag = float(params["offload_deletion_lag_s"])
        self.next_id = next_id
        self.ledgers: list[Ledger] = [Ledger(self._id(), 0, 0.0)]
        self.deleted_entries = 0
        self.deleted_ledgers = 0

    def _id(self) -> int:
        self.next_id += 1
        return self.next_id

    @property
    def end(self) -> int:
        return self.ledgers[-1].end

    @property
    def start(self) -> int:
        return self.ledgers[0].first

    def append(self, now: float, size: int) -> None:
        current = self.ledgers[-1]
        if current.count >= self.max_entries and now - current.created >= self.min_rollover:
            current.closed_at = now
            current = Ledger(self._id(), current.end, now)
            self.ledgers.append(current)
        current.count += 1
        current.bytes += size

    def trim(self, now: float, consumed_upto: int) -> int:
        """Delete consumed closed ledgers the retention policy lets go; returns entries deleted."""
        closed = [led for led in self.ledgers[:-1] if led.end <= consumed_upto]
        total_mb = sum(led.bytes for led in closed) / MB
        gone = 0
        while len(self.ledgers) > 1 and self.ledgers[0].end <= consumed_upto:
            led = self.ledgers[0]
            assert led.closed_at is not None
            if ledger_kept(now, led.closed_at, total_mb, led.bytes / MB, self.retention_minutes, self.retention_mb):
                break
            total_mb -= led.bytes / MB
            self.ledgers.pop(0)
            gone += led.count
            self.deleted_ledgers += 1
        self.deleted_entries += gone
        return gone

    def offload(self, now: float) -> None:
        """Offload closed ledgers, oldest first, while BookKeeper holds more than the threshold
        (the open ledger is never offloaded); drop their BookKeeper copy after the lag."""
        if self.offload_mb >= 0:
            resident = sum(led.bytes for led in self.ledgers if led.offloaded_at is None)
            for led in self.ledgers[:-1]:
                if resident <= self.offload_mb * MB:
                    break
                if led.offloaded_at is None:
                    led.offloaded_at = now
                    resident -= led.bytes
        for led in self.ledgers:
            if led.offloaded_at is not None and not led.bk_deleted and now - led.offloaded_at >= self.deletion_lag:
                led.bk_deleted = True

    def bookkeeper_bytes(self) -> int:
        return sum(led.bytes for led in self.ledgers if not led.bk_deleted)

    def offloaded_bytes(self) -> int:
        return sum(led.bytes for led in self.ledgers if led.offloaded_at is not None)

    def view(self) -> list[dict[str, Any]]:
        out = []
        for led in self.ledgers[-12:]:
            state = "open" if led.closed_at is None else ("offloaded" if led.offloaded_at is not None else "closed")
            out.append({"id": led.id, "entries": led.count, "bytes": led.bytes, "state": state,
                        "in_bookkeeper": not led.bk_deleted})
        return out
