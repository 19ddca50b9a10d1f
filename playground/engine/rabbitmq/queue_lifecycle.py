"""What a queue runtime does beyond delivering: quorum returns and the delivery limit, leader
failover, at-least-once dead-lettering, and deletion by x-expires (a mixin of QueueRuntime)."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from playground.engine.component import CommandError
from playground.engine.rabbitmq.deadletter import is_cycle
from playground.engine.rabbitmq.flow import (
    DLX_RETRY,
    DROP_DELIVERY_LIMIT,
    DROP_QUEUE_EXPIRED,
    ELECTION,
    EXPIRES,
    bump,
)
from playground.engine.rabbitmq.quorum import DLX_RETRY_S, ELECTION_S, QuorumQueue, over_delivery_limit

if TYPE_CHECKING:
    from playground.engine.rabbitmq.queue import ClassicQueue, ConsumerRing, Entry
    from playground.engine.rabbitmq.quorum import ReplicaSet
    from playground.engine.simulation import Simulation


class QueueLifecycle:
    """Mixin: the attributes below are QueueRuntime's."""

    id: str
    q: ClassicQueue
    ring: ConsumerRing
    replicas: ReplicaSet | None
    delivery_limit: int | None
    unacked: dict[str, dict[int, Entry]]
    channels: dict[str, str]
    pending: list[list[Any]]
    dropped: dict[str, int]
    requeued: int
    dead_lettered: int
    failovers: int
    deleted: bool
    used_at: float
    expires: float | None
    dlx: str | None

    # -- quorum: returns and the delivery limit ---------------------------------------------

    def _return(self, sim: Simulation, entry: Entry, *, consumer_gone: bool = False) -> None:
        """rabbit_fifo return_one/6: the delivery count grows by one; above x-delivery-limit the
        message is dead-lettered (reason delivery_limit) or dropped, else it is returned: to the
        front when its consumer is gone (return_all/5) or the queue has a delivery limit, to the
        back for a nack without one (quorum.py)."""
        entry.returns += 1
        if over_delivery_limit(entry.returns, self.delivery_limit):
            self._dead_letter(sim, entry, "delivery_limit", no_dlx=DROP_DELIVERY_LIMIT)  # type: ignore[attr-defined]
            return
        assert isinstance(self.q, QuorumQueue)
        self.q.requeue(entry, front=True if consumer_gone else None)
        self.requeued += 1

    # -- quorum: replicas, leader failover --------------------------------------------------

    def _replica_set(self, verb: str) -> ReplicaSet:
        if self.replicas is None:
            raise CommandError(f"queue {self.id!r} is not a quorum queue: it has no replicas to {verb}")
        return self.replicas

    def cmd_kill_leader(self, sim: Simulation, command: dict[str, Any]) -> None:
        """The node hosting the leader replica fails. Deliveries not yet acknowledged are
        returned (delivery count +1) and delivered again once the surviving members, if they
        are a majority, have elected a new leader (after an election timeout)."""
        replicas = self._replica_set("kill")
        leader = replicas.leader
        if leader is None:
            raise CommandError(f"quorum queue {self.id!r} has no leader at the moment")
        replicas.kill(leader)
        self.failovers += 1
        sim.emit({"k": "amqp_replica", "t": sim.kernel.now, "node": self.id, "replica": leader, "change": "killed",
                  "quorum": replicas.has_quorum()})
        for tag in list(self.unacked):
            held = self.unacked[tag]
            self.unacked[tag] = {}
            if tag in self.ring.unacked:
                self.ring.settle(tag, len(held))
            consumer = sim.components.get(self.channels.get(tag, ""))
            if held and consumer is not None:
                consumer.forget(tag)
            for dtag in sorted(held):
                self._return(sim, held[dtag], consumer_gone=True)
        self._start_election(sim)

    def cmd_restart_replica(self, sim: Simulation, command: dict[str, Any]) -> None:
        """A failed member restarts, catches up from the leader and rejoins as a follower (it
        lets an election happen when it restores the majority)."""
        replicas = self._replica_set("restart")
        member = command.get("replica")
        down = [m for m in replicas.members if m not in replicas.up]
        if not down:
            raise CommandError(f"every replica of {self.id!r} is up")
        if member is None:
            member = down[0]
        if member not in down:
            raise CommandError(f"replica {member!r} of {self.id!r} is not down (down: {', '.join(down)})")
        replicas.restart(member)
        sim.emit({"k": "amqp_replica", "t": sim.kernel.now, "node": self.id, "replica": member, "change": "restarted",
                  "quorum": replicas.has_quorum()})
        self._start_election(sim)

    def _start_election(self, sim: Simulation) -> None:
        replicas = self.replicas
        assert replicas is not None
        if replicas.leader is None and replicas.has_quorum() and not replicas.electing:
            replicas.electing = True
            sim.kernel.schedule(sim.kernel.now + ELECTION_S, ELECTION, self.id, None)

    def _elected(self, sim: Simulation) -> None:
        replicas = self.replicas
        assert replicas is not None
        leader = replicas.elect()
        if leader is not None:
            sim.emit({"k": "amqp_replica", "t": sim.kernel.now, "node": self.id, "replica": leader,
                      "change": "elected", "term": replicas.term, "quorum": True})
        self.dispatch(sim)  # type: ignore[attr-defined]

    # -- at-least-once dead-lettering ------------------------------------------------------

    def _retry_pending(self, sim: Simulation, only_new: bool = False) -> None:
        """rabbit_fifo_dlx_worker: route each held dead letter; the queues that take it are
        done; what no queue took (no route, or a full queue refusing it) stays held in this
        queue and is tried again every settle timeout. Nothing is dropped."""
        from playground.engine.rabbitmq.exchange import ExchangeRuntime  # noqa: PLC0415 - import cycle

        exchange = sim.components.get(self.dlx or "")
        items = self.pending[-1:] if only_new else list(self.pending)
        kept_before = self.pending[:-1] if only_new else []
        kept: list[list[Any]] = []
        for item in items:
            dead, targets, attempts = item
            if not isinstance(exchange, ExchangeRuntime):
                kept.append(item)
                continue
            via: dict[str, str] = {}
            if targets is None:
                targets = [q for q in exchange.route(sim, dead, via) if not is_cycle(q, dead.deaths)]
            taking = [q for q in targets if not sim.components[q].refuses(dead)]
            left = [q for q in targets if q not in taking]
            if taking:
                self._emit_dead_letter(sim, exchange, dead, dead.deaths[0].reason, taking, via)  # type: ignore[attr-defined]
                for q in taking:
                    sim.components[q].enqueue(sim, dead, attempts)
            if left or not targets:
                kept.append([dead, left or None, attempts])
        self.pending = kept_before + kept
        settled = len(items) - len(kept)
        self.dead_lettered += settled
        assert isinstance(self.q, QuorumQueue)
        self.q.dlx_held -= settled
        if kept and (not only_new or len(self.pending) == 1):
            sim.kernel.schedule(sim.kernel.now + DLX_RETRY_S, DLX_RETRY, self.id, None)

    # -- x-expires ------------------------------------------------------------------------

    def _unused_from(self, sim: Simulation) -> None:
        """The queue may have become unused (no consumer left, or a basic.get just happened):
        its x-expires timer starts again from now."""
        if self.expires is None or len(self.ring):
            return
        self.used_at = sim.kernel.now
        sim.kernel.schedule(self.used_at + self.expires, EXPIRES, self.id, None)

    def _check_expires(self, sim: Simulation) -> None:
        """Queue TTL ("Time-To-Live and Expiration", x-expires): a queue unused this long (no
        consumer, no basic.get) is deleted, with the messages it holds."""
        if self.deleted or self.expires is None or len(self.ring) or sim.kernel.now < self.used_at + self.expires:
            return
        self.deleted = True
        gone = self.q.purge()
        if gone:
            bump(self.dropped, DROP_QUEUE_EXPIRED, len(gone))
        sim.emit({"k": "amqp_queue_deleted", "t": sim.kernel.now, "node": self.id, "reason": "expires",
                  "n": len(gone)})
        from playground.engine.rabbitmq.exchange import ExchangeRuntime  # noqa: PLC0415 - import cycle

        for runtime in sim.components.values():
            if isinstance(runtime, ExchangeRuntime):
                runtime.definition = replace(runtime.definition, bindings=tuple(
                    b for b in runtime.definition.bindings if b.destination != self.id))
                runtime._map = None
