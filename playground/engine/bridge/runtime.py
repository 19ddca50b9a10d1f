"""The bridge's behaviour: poll the source, write to the sink, commit on an interval, count all.

It works as a Kafka Connect worker runs a connector task (WorkerSinkTask / WorkerSourceTask):
poll a batch, hand it to the other system, and commit the source's position (Kafka offsets, AMQP
acks, SQS deletes) every ``commit_interval_ms`` (Connect's offset.flush.interval.ms). Between two
commits the records are written but not committed: a crash there makes the source hand them out
again, and the bridge writes them again. Those duplicates are counted, never hidden: the bridge
remembers the ids it wrote since the last commit; after a crash, each of them written again is
one duplicate.

Accounting: the bridge is a stream of its own: produced = records taken from the source;
acknowledged = written to the sink (each sink's own stream then counts its copy); in_flight =
taken and not yet written (zero between events: a write takes no simulated time). Records are
written with one more hop in their origin: (bridge, attempt), attempt 2 and more after a crash.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from playground.engine.adapters import ReadsThroughSource, Sink, Source
from playground.engine.component import CommandError, Runtime

if TYPE_CHECKING:
    from playground.engine.simulation import Simulation

POLL: Final = 91
COMMIT: Final = 92


class BridgeRuntime(ReadsThroughSource, Runtime):
    commands = {"crash_bridge": "cmd_crash", "restart_bridge": "cmd_restart"}
    command_labels = {"crash_bridge": "Crash", "restart_bridge": "Restart"}
    auto_ack = False  # an AMQP source delivers to it with manual acks

    def __init__(self, sim: Simulation, node_id: str, params: dict[str, Any], source: Source | None,
                 sink: Sink | None) -> None:
        self.id = node_id
        self.source = source
        self.sink = sink
        self.poll_s = params["poll_interval_ms"] / 1000.0
        self.commit_s = params["commit_interval_ms"] / 1000.0
        self.max_records = int(params["max_poll_records"])
        self.status = "running"
        self.attempt = 1
        self.taken = self.written = self.duplicates = self.commits = self.crashes = 0
        self.uncommitted: set[str] = set()  # ids written since the last commit
        self.rewrite: set[str] = set()  # ids written before a crash and not committed: again = duplicate
        self.last: list[dict[str, Any]] = []  # the newest few records written (for the card)
        self.token = 0
        if source is not None and sink is not None:
            sim.kernel.schedule(self.poll_s, POLL, self.id, self.token)
            sim.kernel.schedule(self.commit_s, COMMIT, self.id, self.token)

    def on_append(self, sim: Simulation, *where: Any) -> None:
        """The bridge polls on its own clock: new records wait for its next poll."""

    # -- the loop ------------------------------------------------------------------------------

    def on_event(self, sim: Simulation, kind: int, arg: Any) -> None:
        if arg != self.token or self.status != "running":
            return
        if kind == POLL:
            self._pump(sim)
            sim.kernel.schedule(sim.kernel.now + self.poll_s, POLL, self.id, self.token)
        elif kind == COMMIT:
            self._commit(sim)
            sim.kernel.schedule(sim.kernel.now + self.commit_s, COMMIT, self.id, self.token)

    def _pump(self, sim: Simulation) -> None:
        assert self.source is not None and self.sink is not None
        batch = self.source.poll(sim, self.max_records)
        if not batch:
            return
        self.taken += len(batch)
        records = []
        for record, _view in batch:
            if record.id in self.rewrite:
                self.rewrite.discard(record.id)
                self.duplicates += 1
            self.uncommitted.add(record.id)
            records.append(record.hop(self.id, self.attempt))
        self.written += self.sink.write(sim, records)
        self.last = [r.to_dict() for r in records[-3:]]

    def _commit(self, sim: Simulation) -> None:
        assert self.source is not None
        self.source.commit(sim)
        self.uncommitted.clear()
        self.commits += 1

    # -- commands ------------------------------------------------------------------------------

    def cmd_crash(self, sim: Simulation, command: dict[str, Any]) -> None:
        """Kill the bridge's process: nothing more is committed; what it wrote since its last
        commit will be read and written again after a restart (duplicates, counted)."""
        if self.status != "running":
            raise CommandError(f"bridge {self.id!r} is not running")
        self.status = "crashed"
        self.crashes += 1
        self.token += 1
        self.rewrite |= self.uncommitted
        self.uncommitted = set()
        if self.source is not None:
            self.source.crash(sim)
        sim.emit({"k": "bridge_crash", "t": sim.kernel.now, "node": self.id, "uncommitted": len(self.rewrite)})

    def cmd_restart(self, sim: Simulation, command: dict[str, Any]) -> None:
        """Start the bridge again: it resumes from the source's committed position."""
        if self.status != "crashed":
            raise CommandError(f"bridge {self.id!r} has not crashed")
        self.status = "running"
        self.attempt += 1
        if self.source is not None and self.sink is not None:
            self.source.restart(sim)
            sim.kernel.schedule(sim.kernel.now + self.poll_s, POLL, self.id, self.token)
            sim.kernel.schedule(sim.kernel.now + self.commit_s, COMMIT, self.id, self.token)
        sim.emit({"k": "bridge_restart", "t": sim.kernel.now, "node": self.id, "attempt": self.attempt})

    # -- reading -------------------------------------------------------------------------------

    def streams(self, sim: Simulation) -> list[dict[str, Any]]:
        out = self.source.streams(sim) if self.source is not None else []
        out.append({"bridge": self.id, "produced": self.taken, "acknowledged": self.written,
                    "in_flight": self.taken - self.written, "waiting": 0, "dead_lettered": 0, "dropped": {}})
        return out

    def metrics(self, sim: Simulation) -> dict[str, Any]:
        return {"state": self.status, "attempt": self.attempt, "taken": self.taken, "written": self.written,
                "duplicates": self.duplicates, "commits": self.commits, "crashes": self.crashes,
                "uncommitted": len(self.uncommitted), "source": self.source.view() if self.source else None,
                "recent": self.last}
