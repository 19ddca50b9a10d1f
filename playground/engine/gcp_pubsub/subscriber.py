"""Subscriber clients of a Pub/Sub subscription during a run: streaming pull with flow control
and lease management (the client libraries' defaults), or the instances behind a push endpoint.
Each processes what the subscription delivers and acks, nacks or ignores it (subscription.py
holds the server side: leases, redelivery, dead letters).
"""

from __future__ import annotations

import zlib
from collections import deque
from typing import TYPE_CHECKING, Any

import numpy as np

from playground.engine.clients import pick_member
from playground.engine.component import ON_MEMBER, CommandError, Runtime
from playground.engine.gcp_pubsub import rules
from playground.engine.kernel import uniform_hash

if TYPE_CHECKING:
    from playground.engine.gcp_pubsub.subscription import Copy, SubscriptionRuntime
    from playground.engine.simulation import Simulation

DONE = 1
MAX_MEMBERS = 64


class Member:
    """One subscriber client (pull) or one endpoint instance (push)."""

    __slots__ = ("owner", "name", "key", "state", "buffer", "running", "outstanding", "bytes", "token",
                 "processed", "sub")

    def __init__(self, owner: SubscriberRuntime, name: str) -> None:
        self.owner = owner
        self.name = name
        self.key = f"{owner.id}/{name}"
        self.state = "active"
        self.buffer: deque[tuple[str, int, Copy]] = deque()
        self.running: list[tuple[str, int, Copy]] = []
        self.outstanding = 0
        self.bytes = 0
        self.token = 0
        self.processed = 0
        self.sub: str | None = None



class SubscriberRuntime(Runtime):
    """Subscriber clients of one subscription (pull: streaming pull with flow control and lease
    management) or the instances behind a push endpoint."""

    commands = {"add_consumer": "cmd_add", "remove_consumer": "cmd_remove", "kill_consumer": "cmd_kill"}
    command_specs = {"remove_consumer": ON_MEMBER, "kill_consumer": ON_MEMBER}
    items = "members"

    def __init__(self, sim: Simulation, node_id: str, params: dict[str, Any], subscription: str | None,
                 push: bool) -> None:
        self.id = node_id
        self.subscription = subscription
        self.push = push
        self.mean_s = float(params["processing_ms"]) / 1000.0
        self.threads = int(params["threads"])
        self.max_messages = int(params["max_outstanding_messages"])
        self.max_bytes = int(params["max_outstanding_bytes"])
        self.lease_management = bool(params["lease_management"])
        self.max_lease = float(params["max_lease_s"])
        self.failure_rate = float(params["failure_rate"])
        self.poison_rate = float(params["poison_rate"])
        self.on_failure = params["on_failure"]
        self.rng = sim.kernel.rng(f"gcp_pubsub:{node_id}")
        self.salt = zlib.crc32(f"{sim.kernel.seed}:{node_id}".encode())
        self.members: list[Member] = []
        self.number = 0
        self.processed = self.acked = self.failed = self.ack_failures = 0
        for _ in range(int(params["consumers"])):
            self._open()

    def _open(self) -> Member:
        self.number += 1
        member = Member(self, f"{'instance' if self.push else 'subscriber'}-{self.number}")
        self.members.append(member)
        return member

    def alive(self) -> list[Member]:
        return [m for m in self.members if m.state == "active"]

    def can_take(self, member: Member, size: int) -> bool:
        if self.push:
            return True  # the endpoint queues requests; the push window limits them
        return rules.may_take(member.outstanding, member.bytes, size, self.max_messages, self.max_bytes)

    def extends(self, member_key: str, held_for: float) -> bool:
        """Lease management: whether the client extends a lease it has held this long."""
        if not self.lease_management:
            return False
        member = next((m for m in self.members if m.key == member_key), None)
        return member is not None and member.state != "killed" and held_for < self.max_lease

    def receive(self, sim: Simulation, member: Member, sub: str, ack_id: int, copy: Copy) -> None:
        member.outstanding += 1
        member.bytes += copy.msg.size
        member.buffer.append((sub, ack_id, copy))
        self._start(sim, member)

    def _start(self, sim: Simulation, member: Member) -> None:
        while len(member.running) < self.threads and member.buffer and member.state != "killed":
            item = member.buffer.popleft()
            member.running.append(item)
            duration = max(1e-4, float(self.rng.exponential(self.mean_s)) if self.mean_s > 0 else 1e-4)
            sim.kernel.schedule(sim.kernel.now + duration, DONE, self.id, (member.name, member.token, item[1]))

    def is_poison(self, copy: Copy) -> bool:
        if self.poison_rate <= 0:
            return False
        return bool(uniform_hash(self.salt, 0, np.array([copy.msg.uid & 0x7FFFFFFFFFFFFFFF]))[0] < self.poison_rate)

    def on_event(self, sim: Simulation, kind: int, arg: Any) -> None:
        name, token, ack_id = arg
        member = next(m for m in self.members if m.name == name)
        if token != member.token:
            return
        item = next(i for i in member.running if i[1] == ack_id)
        member.running.remove(item)
        sub_id, _, copy = item
        member.outstanding -= 1
        member.bytes -= copy.msg.size
        member.processed += 1
        self.processed += 1
        sub: SubscriptionRuntime = sim.components[sub_id]
        failed = self.is_poison(copy) or (self.failure_rate > 0 and self.rng.random() < self.failure_rate)
        self._start(sim, member)
        if not failed:
            if sub.ack(sim, ack_id, copy):
                self.acked += 1
            else:
                self.ack_failures += 1
        else:
            self.failed += 1
            if self.on_failure == "nack":
                sub.nack(sim, ack_id)
            else:
                sub.release(ack_id)
        sub.dispatch(sim)

    # -- commands -----------------------------------------------------------------------------

    def _pick(self, command: dict[str, Any], verb: str) -> Member:
        return pick_member(self.id, self.alive(), command.get("member"), verb, lambda m: (m.name, m.key),
                           "running subscriber")

    def cmd_add(self, sim: Simulation, command: dict[str, Any]) -> None:
        if len(self.alive()) >= MAX_MEMBERS:
            raise CommandError(f"{self.id!r} already has {MAX_MEMBERS} subscribers, the most allowed")
        member = self._open()
        sim.emit({"k": "pubsub_subscriber", "t": sim.kernel.now, "node": self.id, "c": member.name, "change": "added"})
        if self.subscription is not None:
            sim.components[self.subscription].dispatch(sim)

    def cmd_remove(self, sim: Simulation, command: dict[str, Any]) -> None:
        """Graceful shutdown: messages still in the client's buffer are nacked; those being
        processed finish and are acked."""
        member = self._pick(command, "remove")
        member.state = "removed"
        sim.emit({"k": "pubsub_subscriber", "t": sim.kernel.now, "node": self.id, "c": member.name,
                  "change": "removed"})
        buffered = list(member.buffer)
        member.buffer.clear()
        for sub_id, ack_id, copy in buffered:
            member.outstanding -= 1
            member.bytes -= copy.msg.size
            sim.components[sub_id].nack(sim, ack_id)

    def cmd_kill(self, sim: Simulation, command: dict[str, Any]) -> None:
        """A crash: nothing is nacked and no lease is extended any more, so what it held comes
        back only when each ack deadline expires (counted as duplicates)."""
        member = self._pick(command, "kill")
        member.state = "killed"
        member.token += 1
        sim.emit({"k": "pubsub_subscriber", "t": sim.kernel.now, "node": self.id, "c": member.name, "change": "killed"})
        for sub_id, ack_id, _ in list(member.buffer) + member.running:
            sim.components[sub_id].release(ack_id)
        member.buffer.clear()
        member.running = []
        member.outstanding = member.bytes = 0

    def metrics(self, sim: Simulation) -> dict[str, Any]:
        shown = self.members[-32:]
        return {
            "mode": "push" if self.push else "pull",
            "members": [{"id": m.name, "state": m.state, "partitions": [],
                         "outstanding": m.outstanding, "bytes": m.bytes, "busy": len(m.running),
                         "processed": m.processed} for m in shown],
            "max_outstanding_messages": self.max_messages, "max_outstanding_bytes": self.max_bytes,
            "threads": self.threads, "processed": self.processed, "acked": self.acked, "failed": self.failed,
            "ack_failures": self.ack_failures,
        }
