"""Pulsar consumers of one subscription during a run: receiver queues (permits), processing,
acknowledgements, negative acknowledgements and ack timeouts."""

from __future__ import annotations

import zlib
from collections import deque
from typing import TYPE_CHECKING, Any

import numpy as np

from playground.engine.clients import pick_member
from playground.engine.component import ON_MEMBER, CommandError, Runtime
from playground.engine.kernel import uniform_hash
from playground.engine.pulsar import rules
from playground.engine.pulsar.subscription import ACK_TIMEOUT, DONE, MAX_MEMBERS, NACK_DUE, SubscriptionRuntime

if TYPE_CHECKING:
    from playground.engine.simulation import Simulation


class Member:
    __slots__ = ("owner", "name", "key", "state", "queue", "busy", "token", "to_flow", "queue_size",
                 "processed", "error", "sub", "priority")

    def __init__(self, owner: ConsumerRuntime, name: str, queue_size: int, priority: int = 0) -> None:
        self.owner = owner
        self.name = name
        self.key = f"{owner.id}/{name}"
        self.state = "connecting"
        self.queue: deque[tuple[str, int, int, int, int, int]] = deque()
        self.busy: tuple[str, int, int, int, int, int] | None = None
        self.token = 0
        self.to_flow = 0
        self.queue_size = queue_size
        self.processed = 0
        self.error: str | None = None
        self.sub: str | None = None
        self.priority = priority



class ConsumerRuntime(Runtime):
    """Consumers of one subscription: a receiver queue each (permits), one message processed at
    a time, then acknowledge, negative-acknowledge, or leave it to the ack timeout."""

    commands = {"add_consumer": "cmd_add", "kill_consumer": "cmd_kill", "remove_consumer": "cmd_remove"}
    command_specs = {"remove_consumer": ON_MEMBER, "kill_consumer": ON_MEMBER}
    items = "members"

    def __init__(self, sim: Simulation, node_id: str, params: dict[str, Any], subscription: str | None) -> None:
        self.id = node_id
        self.subscription = subscription
        self.mean_s = float(params["processing_ms"]) / 1000.0
        self.queue_size = int(params["receiver_queue_size"])
        self.failure_rate = float(params["failure_rate"])
        self.poison_rate = float(params["poison_rate"])
        self.on_failure = params["on_failure"]
        self.rng = sim.kernel.rng(f"pulsar:{node_id}")
        self.salt = zlib.crc32(f"{sim.kernel.seed}:{node_id}".encode())
        self.members: list[Member] = []
        self.number = 0
        self.processed = self.acked = self.nacked = self.failed = 0
        self.start_count = int(params["consumers"])
        self.priority = int(params["priority_level"])

    def connect_all(self, sim: Simulation) -> None:
        for _ in range(self.start_count):
            self._open(sim)

    def _open(self, sim: Simulation) -> Member:
        self.number += 1
        member = Member(self, f"c{self.number}", self.queue_size, self.priority)
        self.members.append(member)
        if self.subscription is not None:
            ok = sim.components[self.subscription].attach(sim, member)
            member.state = "connected" if ok else "refused"
            member.error = None if ok else rules.CONSUMER_BUSY
            # attach may have dispatched a backlog into its queue while it was still connecting
            self._start(sim, member)
        return member

    def _sub(self, sim: Simulation) -> SubscriptionRuntime:
        return sim.components[self.subscription]

    def receive(self, sim: Simulation, member: Member, sub: str, p: int, pos: int, did: int, key: int,
                redeliveries: int) -> None:
        member.queue.append((sub, p, pos, did, key, redeliveries))
        self._start(sim, member)

    def purge(self, sim: Simulation, member: Member, sub: str, p: int) -> None:
        """The client clears its queue of this partition's messages on a rewind and gives the
        permits back (ConsumerImpl.redeliverUnacknowledgedMessages)."""
        kept = deque(i for i in member.queue if not (i[0] == sub and i[1] == p))
        gone = len(member.queue) - len(kept)
        member.queue = kept
        if gone:
            self._permit(sim, member, gone)

    def _permit(self, sim: Simulation, member: Member, n: int) -> None:
        member.to_flow += n
        if member.to_flow >= max(1, member.queue_size // 2) and member.state == "connected":
            flow, member.to_flow = member.to_flow, 0
            self._sub(sim).flow(sim, member.key, flow)

    def _start(self, sim: Simulation, member: Member) -> None:
        if member.busy is not None or not member.queue or member.state not in ("connected", "closing"):
            return
        member.busy = member.queue.popleft()
        _, p, pos, did, _, _ = member.busy
        sub = self._sub(sim)
        if sub.ack_timeout > 0:
            sim.kernel.schedule(sim.kernel.now + sub.ack_timeout, ACK_TIMEOUT, self.id,
                                (member.name, member.token, p, pos, did))
        duration = max(1e-4, float(self.rng.exponential(self.mean_s)) if self.mean_s > 0 else 1e-4)
        sim.kernel.schedule(sim.kernel.now + duration, DONE, self.id, (member.name, member.token))
        self._permit(sim, member, 1)

    def is_poison(self, p: int, pos: int) -> bool:
        if self.poison_rate <= 0:
            return False
        return bool(uniform_hash(self.salt, p, np.array([pos]))[0] < self.poison_rate)

    def _member(self, name: str) -> Member:
        return next(m for m in self.members if m.name == name)

    def on_event(self, sim: Simulation, kind: int, arg: Any) -> None:
        member = self._member(arg[0])
        if arg[1] != member.token:
            return
        sub = self._sub(sim)
        if kind == ACK_TIMEOUT:
            _, _, p, pos, did = arg
            sub.redeliver(sim, member.key, [(p, pos, did)])
            return
        if kind == NACK_DUE:
            _, _, p, pos, did = arg
            sub.redeliver(sim, member.key, [(p, pos, did)])
            return
        assert member.busy is not None
        _, p, pos, did, _, _ = member.busy
        member.busy = None
        member.processed += 1
        self.processed += 1
        failed = self.is_poison(p, pos) or (self.failure_rate > 0 and self.rng.random() < self.failure_rate)
        if not failed:
            self.acked += 1
            sub.ack(sim, member.key, p, pos)
        else:
            self.failed += 1
            if self.on_failure == "nack":
                self.nacked += 1
                sim.kernel.schedule(sim.kernel.now + sub.nack_delay, NACK_DUE, self.id,
                                    (member.name, member.token, p, pos, did))
        if member.state == "closing" and not member.queue:
            self._close(sim, member, "closed")
        else:
            self._start(sim, member)

    def _close(self, sim: Simulation, member: Member, state: str) -> None:
        member.state = state
        member.token += 1
        member.queue.clear()
        member.busy = None
        if self.subscription is not None:
            self._sub(sim).detach(sim, member)

    def disconnect(self, sim: Simulation, member: Member) -> None:
        """Its broker's cluster went down: the connection drops (the subscription redelivers)."""
        self._close(sim, member, "disconnected")

    def reconnect(self, sim: Simulation, member: Member) -> None:
        if member.state != "disconnected" or self.subscription is None:
            return
        member.to_flow = 0
        ok = self._sub(sim).attach(sim, member)
        member.state = "connected" if ok else "refused"
        member.error = None if ok else rules.CONSUMER_BUSY
        self._start(sim, member)

    # -- commands -----------------------------------------------------------------------------

    def _pick(self, command: dict[str, Any], verb: str) -> Member:
        live = [m for m in self.members if m.state == "connected"]
        return pick_member(self.id, live, command.get("member"), verb, lambda m: (m.name, m.key), "connected consumer")

    def cmd_add(self, sim: Simulation, command: dict[str, Any]) -> None:
        """Start one more consumer on the subscription (an Exclusive one refuses it)."""
        if sum(1 for m in self.members if m.state == "connected") >= MAX_MEMBERS:
            raise CommandError(f"{self.id!r} already has {MAX_MEMBERS} consumers, the most allowed")
        if self.subscription is None:
            raise CommandError(f"{self.id!r} is connected to no subscription")
        if self._sub(sim).paused:
            raise CommandError(f"{self.id!r}: the cluster of its subscription is down")
        member = self._open(sim)
        sim.emit({"k": "pulsar_consumer", "t": sim.kernel.now, "node": self.id, "c": member.name,
                  "change": "added" if member.state == "connected" else "refused", "error": member.error})
        if member.state == "refused":
            raise CommandError(f"{member.name}: {rules.CONSUMER_BUSY}")

    def cmd_kill(self, sim: Simulation, command: dict[str, Any]) -> None:
        """Crash a consumer: its connection drops and the broker redelivers what it had unacked."""
        member = self._pick(command, "kill")
        sim.emit({"k": "pulsar_consumer", "t": sim.kernel.now, "node": self.id, "c": member.name, "change": "killed"})
        self._close(sim, member, "killed")

    def cmd_remove(self, sim: Simulation, command: dict[str, Any]) -> None:
        """Close a consumer: it finishes the message in hand, then disconnects."""
        member = self._pick(command, "remove")
        sim.emit({"k": "pulsar_consumer", "t": sim.kernel.now, "node": self.id, "c": member.name, "change": "removed"})
        member.state = "closing"
        member.queue.clear()
        if member.busy is None:
            self._close(sim, member, "closed")

    def metrics(self, sim: Simulation) -> dict[str, Any]:
        sub = sim.components.get(self.subscription) if self.subscription else None
        permits = sub.permits if isinstance(sub, SubscriptionRuntime) else {}
        actives = sub.active if isinstance(sub, SubscriptionRuntime) else []
        members = []
        for m in self.members[-32:]:
            state = m.state
            parts = [f"p{p}" for p, a in enumerate(actives) if a == m.key]
            if isinstance(sub, SubscriptionRuntime) and sub.type == "failover" and state == "connected":
                state = "active" if parts else "standby"
            members.append({"id": m.name, "state": state, "partitions": parts, "queued": len(m.queue),
                            "busy": m.busy is not None, "permits": permits.get(m.key, 0),
                            "queue_size": m.queue_size, "processed": m.processed, "error": m.error})
        return {"members": members, "receiver_queue_size": self.queue_size, "priority_level": self.priority,
                "processed": self.processed,
                "acked": self.acked, "nacked": self.nacked, "failed": self.failed}
