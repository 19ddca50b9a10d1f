"""SQS consumers during a run: a poll loop per worker, processing, deletes, visibility heartbeats.

Each worker (one thread of a consumer process) loops: ReceiveMessage (up to
MaxNumberOfMessages), process the messages one after another, DeleteMessage each one that
succeeded, receive again. SQS pushes nothing: a message is only ever handed to a receive.
A failed message is not deleted, so it comes back when its visibility timeout passes (or at
once, with ``on_failure: release``, ChangeMessageVisibility to 0). A crashed worker's messages
stay invisible until their visibility timeout passes: SQS does not notice the crash.
With ``extend_visibility``, a heartbeat calls ChangeMessageVisibility every half timeout for the
messages the worker holds ("Amazon SQS visibility timeout": extend it while you process).
"""

from __future__ import annotations

import zlib
from collections import deque
from typing import TYPE_CHECKING, Any

import numpy as np

from playground.engine.clients import pick_member
from playground.engine.component import ON_MEMBER, CommandError, Runtime
from playground.engine.kernel import uniform_hash
from playground.engine.sqs.rules import HEARTBEAT, MAX_POLLERS, POLL, POLL_TIMEOUT, PROCESS_DONE, RECEIVE_RTT_S

if TYPE_CHECKING:
    from playground.engine.simulation import Simulation
    from playground.engine.sqs.queue import QueueRuntime


class Worker:
    __slots__ = ("name", "state", "token", "batch", "current", "processed", "batch_no")

    def __init__(self, name: str) -> None:
        self.name = name
        self.state = "polling"  # polling | waiting | processing | stopping | closed | killed
        self.token = 0
        self.batch: deque[tuple[int, int, int, str]] = deque()
        self.current: tuple[int, int, int, str] | None = None
        self.processed = 0
        self.batch_no = 0

    def held(self) -> int:
        return len(self.batch) + (1 if self.current else 0)



class ConsumerRuntime(Runtime):
    commands = {"add_consumer": "cmd_add", "remove_consumer": "cmd_remove", "kill_consumer": "cmd_kill"}
    command_specs = {"remove_consumer": ON_MEMBER, "kill_consumer": ON_MEMBER}
    items = "members"

    def __init__(self, sim: Simulation, node_id: str, params: dict[str, Any], queue: str | None) -> None:
        self.id = node_id
        self.queue = queue
        self.max_messages = int(params["max_messages"])
        self.mean_s = params["processing_ms"] / 1000.0
        self.failure_rate = float(params["failure_rate"])
        self.poison_rate = float(params["poison_rate"])
        self.extend = bool(params["extend_visibility"])
        self.release = params["on_failure"] == "release"
        self.rng = sim.kernel.rng(f"sqs:{node_id}")
        self.salt = zlib.crc32(f"{sim.kernel.seed}:{node_id}".encode())
        self.workers: list[Worker] = []
        self.number = 0
        self.processed = self.deleted = self.failed = self.released = self.late = 0
        self.empty_receives = self.receives = 0
        for _ in range(int(params["consumers"])):
            self._open(sim)

    def _q(self, sim: Simulation) -> QueueRuntime:
        return sim.components[self.queue]

    def _open(self, sim: Simulation) -> Worker:
        self.number += 1
        worker = Worker(f"c{self.number}")
        self.workers.append(worker)
        if self.queue is not None:
            self._schedule_poll(sim, worker)
        return worker

    def _worker(self, name: str) -> Worker:
        for w in self.workers:
            if w.name == name:
                return w
        raise KeyError(name)

    def _schedule_poll(self, sim: Simulation, w: Worker) -> None:
        w.state = "polling"
        w.token += 1
        sim.kernel.schedule(sim.kernel.now + RECEIVE_RTT_S, POLL, self.id, (POLL, w.name, w.token))

    def is_poison(self, uid: int) -> bool:
        """A poison message fails every attempt, in every queue it reaches (the same uid)."""
        if self.poison_rate <= 0:
            return False
        return bool(uniform_hash(self.salt, 0, np.array([uid & 0x7FFFFFFFFFFFFFFF]))[0] < self.poison_rate)

    # -- events -----------------------------------------------------------------------------

    def on_event(self, sim: Simulation, kind: int, arg: Any) -> None:
        what, name, token = arg[0], arg[1], arg[2]
        w = self._worker(name)
        if token != w.token:
            return
        q = self._q(sim)
        if what == POLL and w.state == "polling":
            self.receives += 1
            picks = q.receive(sim, self.id, w.name, w.token, self.max_messages)
            if picks is None:
                w.state = "waiting"
                sim.kernel.schedule(sim.kernel.now + q.wait, POLL_TIMEOUT, self.id, (POLL_TIMEOUT, w.name, w.token))
            elif not picks:
                self.empty_receives += 1
                self._schedule_poll(sim, w)
            else:
                self.deliver(sim, w.name, w.token, picks)
        elif what == POLL_TIMEOUT and w.state == "waiting":
            q.long_poll_expired(self.id, w.name, w.token)
            self.empty_receives += 1
            self._schedule_poll(sim, w)
        elif what == PROCESS_DONE and w.current is not None:
            self._done(sim, w, q)
        elif what == HEARTBEAT and arg[3] == w.batch_no and w.held():
            held = ([w.current] if w.current else []) + list(w.batch)
            for seq, receipt, _, _ in held:
                q.change_visibility(sim, seq, receipt, q.vt)
            sim.kernel.schedule(sim.kernel.now + q.vt / 2, HEARTBEAT, self.id, (HEARTBEAT, w.name, w.token, w.batch_no))

    def deliver(self, sim: Simulation, name: str, token: int, picks: list[tuple[int, int, int, str]]) -> None:
        """The answer to a receive (at once, or when a long poll is answered)."""
        w = self._worker(name)
        if token != w.token or w.state not in ("polling", "waiting"):
            return  # nobody reads this answer: the messages come back after their visibility timeout
        q = self._q(sim)
        w.state = "processing"
        w.batch.extend(picks)
        w.batch_no += 1
        if sim.record_flow:
            sim.emit({"k": "sqs_receive", "t": sim.kernel.now, "src": q.id, "dst": self.id, "n": len(picks),
                      "c": w.name, "key": picks[0][3]})
        if self.extend and q.vt > 0:
            sim.kernel.schedule(sim.kernel.now + q.vt / 2, HEARTBEAT, self.id, (HEARTBEAT, w.name, w.token, w.batch_no))
        self._next(sim, w)

    def _next(self, sim: Simulation, w: Worker) -> None:
        if not w.batch:
            if w.state == "stopping":
                w.state = "closed"
                w.token += 1
            else:
                self._schedule_poll(sim, w)
            return
        w.current = w.batch.popleft()
        duration = float(self.rng.exponential(self.mean_s)) if self.mean_s > 0 else 0.0
        sim.kernel.schedule(sim.kernel.now + duration, PROCESS_DONE, self.id, (PROCESS_DONE, w.name, w.token))

    def _done(self, sim: Simulation, w: Worker, q: QueueRuntime) -> None:
        assert w.current is not None
        seq, receipt, uid, _ = w.current
        w.current = None
        self.processed += 1
        w.processed += 1
        if q.receipt_of(seq) != receipt:
            self.late += 1  # its visibility timeout passed while we worked: someone may have it too
        failed = self.is_poison(uid) or (self.failure_rate > 0 and self.rng.random() < self.failure_rate)
        if failed:
            self.failed += 1
            if self.release and q.change_visibility(sim, seq, receipt, 0.0):
                self.released += 1
        else:
            self.deleted += 1
            q.delete(sim, seq, receipt)
        self._next(sim, w)

    # -- commands ---------------------------------------------------------------------------

    def _live(self) -> list[Worker]:
        return [w for w in self.workers if w.state not in ("closed", "killed", "stopping")]

    def _pick(self, command: dict[str, Any], verb: str) -> Worker:
        return pick_member(self.id, self._live(), command.get("member"), verb, lambda w: (w.name,))

    def cmd_add(self, sim: Simulation, command: dict[str, Any]) -> None:
        if self.queue is None:
            raise CommandError(f"{self.id!r} is connected to no queue")
        if len(self._live()) >= MAX_POLLERS:
            raise CommandError(f"{self.id!r} already has {MAX_POLLERS} consumers, the most allowed")
        w = self._open(sim)
        sim.emit({"k": "sqs_consumer", "t": sim.kernel.now, "node": self.id, "c": w.name, "change": "added"})

    def cmd_remove(self, sim: Simulation, command: dict[str, Any]) -> None:
        """Stop polling; finish (and delete) the messages in hand first."""
        w = self._pick(command, "remove")
        sim.emit({"k": "sqs_consumer", "t": sim.kernel.now, "node": self.id, "c": w.name, "change": "removed"})
        if w.state == "processing":
            w.state = "stopping"
            return
        if w.state == "waiting" and self.queue is not None:
            self._q(sim).cancel_wait(self.id, w.name, w.token)
        w.state = "closed"
        w.token += 1

    def cmd_kill(self, sim: Simulation, command: dict[str, Any]) -> None:
        """The process dies: what it held stays in flight until each visibility timeout passes."""
        w = self._pick(command, "kill")
        sim.emit({"k": "sqs_consumer", "t": sim.kernel.now, "node": self.id, "c": w.name, "change": "killed",
                  "held": w.held()})
        if w.state == "waiting" and self.queue is not None:
            self._q(sim).cancel_wait(self.id, w.name, w.token)
        w.state = "killed"
        w.token += 1
        w.batch.clear()
        w.current = None

    # -- reading ----------------------------------------------------------------------------

    def metrics(self, sim: Simulation) -> dict[str, Any]:
        return {
            "workers": [{"id": w.name, "state": w.state, "held": w.held(), "processed": w.processed}
                        for w in self.workers if w.state not in ("closed", "killed")],
            "max_messages": self.max_messages,
            "processed": self.processed,
            "deleted": self.deleted,
            "failed": self.failed,
            "released": self.released,
            "late": self.late,
            "receives": self.receives,
            "empty_receives": self.empty_receives,
            "extend_visibility": self.extend,
        }
