"""A classic or quorum queue during a run: dispatch within prefetch, acks, requeues, TTL, dead letters."""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Any

from playground.engine.component import CommandError, CommandSpec, Runtime
from playground.engine.rabbitmq.deadletter import dead_letter_routing_keys, first_death, is_cycle, record_death
from playground.engine.rabbitmq.exchange import ExchangeRuntime
from playground.engine.rabbitmq.flow import (
    DLX_RETRY,
    DROP_AUTOACK_CRASH,
    DROP_AUTOACK_FAILED,
    DROP_DLX_CYCLE,
    DROP_DLX_MISSING,
    DROP_DLX_NOWHERE,
    DROP_MAXLEN_HEAD,
    DROP_MAXLEN_REJECT,
    DROP_NO_QUORUM,
    DROP_QUEUE_DELETED,
    ELECTION,
    EXPIRE,
    EXPIRES,
    GET_MODES,
    GOT_SHOWN,
    HEAD_SHOWN,
    NO_DLX_DROP,
    RECENT,
    bump,
    hops,
)
from playground.engine.rabbitmq.queue import ClassicQueue, ConsumerRing, Entry, Message
from playground.engine.rabbitmq.queue_lifecycle import QueueLifecycle
from playground.engine.rabbitmq.quorum import QuorumQueue, ReplicaSet, effective_dead_letter_strategy
from playground.engine.registry import Param

if TYPE_CHECKING:
    from playground.engine.simulation import Simulation


class QueueRuntime(QueueLifecycle, Runtime):
    """A classic or quorum queue: holds ready messages, pushes them to consumers within their
    prefetch, takes acks, nacks and rejects, expires and dead-letters (quorum.py for what a
    quorum queue does differently)."""

    commands = {"purge_queue": "cmd_purge", "redrive": "cmd_redrive", "get_messages": "cmd_get",
                "get_and_reject": "cmd_get_reject", "kill_leader": "cmd_kill_leader",
                "restart_replica": "cmd_restart_replica"}
    command_labels = {"get_messages": "Get message (ack)", "get_and_reject": "Get and reject"}
    command_specs = {"get_messages": CommandSpec(args=(
        Param("count", "Count", "int", 1, "How many ready messages basic.get takes", min=1, max=100),
        Param("ack_mode", "Settle", "enum", "ack", "ack, reject (dead-lettered) or requeue", choices=GET_MODES),
    ))}

    def __init__(self, sim: Simulation, node_id: str, params: dict[str, Any], args: dict[str, Any],
                 policy: str | None = None) -> None:
        """``args`` are the effective x- arguments (policy.effective_arguments: keys without
        "x-", None when not set); ``policy`` the name of the policy that applies, if any."""
        self.id = node_id
        self.kind = params["queue_type"]
        self.policy = policy
        self.args = args
        ttl = args.get("message-ttl")
        overflow = args.get("overflow") or "drop-head"
        limits: dict[str, Any] = {"message_ttl": ttl / 1000.0 if ttl is not None else None,
                                  "max_length": args.get("max-length"), "max_bytes": args.get("max-length-bytes")}
        self.q: ClassicQueue
        self.replicas: ReplicaSet | None = None
        self.delivery_limit: int | None = None
        self.strategy = "at-most-once"
        self.dlx = args.get("dead-letter-exchange")
        if self.kind == "quorum":
            self.delivery_limit = args.get("delivery-limit")
            self.q = QuorumQueue(node_id, overflow=overflow, returns_in_front=self.delivery_limit is not None,
                                 **limits)
            self.replicas = ReplicaSet(int(params["replicas"]))
            self.strategy = effective_dead_letter_strategy(self.dlx, args.get("dead-letter-strategy") or "",
                                                           self.q.overflow)
        else:
            self.q = ClassicQueue(node_id, overflow=overflow, max_priority=params["max_priority"] or None, **limits)
        self.dl_key = args.get("dead-letter-routing-key")
        expires = args.get("expires")
        self.expires = expires / 1000.0 if expires else None
        self.ring = ConsumerRing()
        self.channels: dict[str, str] = {}  # consumer tag -> consumer node id
        self.unacked: dict[str, dict[int, Entry]] = {}
        self.next_tag: dict[str, int] = {}
        self.autoack_held = 0
        self.produced = self.acked = self.dead_lettered = 0
        self.dropped: dict[str, int] = {}
        self.delivered = self.duplicates = self.requeued = self.expired = self.rejected = 0
        self.timer_at: float | None = None
        self.dl_count = 0
        self.redriven = 0
        self.dl_reasons: dict[str, int] = {}
        self.dl_recent: deque[dict[str, Any]] = deque(maxlen=RECENT)
        self.got: deque[dict[str, Any]] = deque(maxlen=GOT_SHOWN)
        self.pending: list[list[Any]] = []  # at-least-once: [dead message, targets or None]
        self.deleted = False
        self.used_at = 0.0
        self.failovers = 0
        if self.expires is not None:
            sim.kernel.schedule(self.expires, EXPIRES, self.id, self.expires)

    # -- what others call -----------------------------------------------------------------

    def held(self) -> int:
        return len(self.q) + sum(len(u) for u in self.unacked.values())

    def enqueue(self, sim: Simulation, msg: Message, attempts: int | None = None) -> None:
        """A message routed here (by an exchange, the default exchange or, with ``attempts`` =
        its deliveries in the queue it died in, by a dead-letter exchange)."""
        now = sim.kernel.now
        self.produced += 1
        if self.deleted:
            bump(self.dropped, DROP_QUEUE_DELETED)
            return
        if self.replicas is not None and not self.replicas.has_quorum():
            bump(self.dropped, DROP_NO_QUORUM)
            return
        if attempts is not None:
            self._store_dead_letter(sim, msg, attempts)
        entry, removed = self.q.publish(msg, now)
        for gone in removed:
            if entry is None:  # refused: reject-publish or reject-publish-dlx
                if self.q.overflow == "reject-publish-dlx":
                    self._dead_letter(sim, gone, "maxlen")
                else:
                    self._drop(sim, gone, DROP_MAXLEN_REJECT)
            else:
                self._dead_letter(sim, gone, "maxlen", no_dlx=DROP_MAXLEN_HEAD)
        self.dispatch(sim)

    def refuses(self, msg: Message) -> bool:
        """Whether a publish now would be refused (reject-publish*: a full queue), or could not
        be taken at all (deleted, or a quorum queue without a majority)."""
        if self.deleted or (self.replicas is not None and not self.replicas.has_quorum()):
            return True
        q = self.q
        if isinstance(q, QuorumQueue):
            return q.overflow == "reject-publish" and q.blocked and not q.below_soft_limit()
        return q.overflow != "drop-head" and q.will_overflow(msg)

    def attach(self, sim: Simulation, tag: str, consumer: str, prefetch: int, offset: str,
               auto_ack: bool) -> str | None:
        """basic.consume (x-stream-offset is for streams only: ignored here)."""
        self.subscribe(tag, consumer, prefetch)
        return None

    def subscribe(self, tag: str, consumer: str, prefetch: int) -> None:
        """basic.consume (with basic.qos prefetch; 0 = unlimited, as for auto-ack)."""
        self.channels[tag] = consumer
        self.used_at = float("inf")
        self.unacked[tag] = {}
        self.next_tag[tag] = 1
        self.ring.add(tag, prefetch)

    def cancel(self, tag: str) -> None:
        """basic.cancel: no more deliveries to this consumer; what it holds stays unacked."""
        self.ring.remove(tag)

    def close(self, sim: Simulation, tag: str) -> None:
        """The consumer's channel closed (or its connection died): every unacknowledged
        delivery is requeued, in its original position, marked redelivered."""
        self.ring.remove(tag)
        held = self.unacked.pop(tag, {})
        consumer = self.channels.pop(tag, self.id)
        self._unused_from(sim)
        if self.kind == "quorum":
            # rabbit_fifo return_all/5: returned in delivery order, each counted
            for dtag in sorted(held):
                self._return(sim, held[dtag], consumer_gone=True)
        else:
            for entry in sorted(held.values(), key=lambda e: e.seq):
                self.q.requeue(entry)
            self.requeued += len(held)
        if held:
            first = min(held.values(), key=lambda e: e.seq)
            sim.emit({"k": "amqp_requeue", "t": sim.kernel.now, "src": consumer,
                      "dst": self.id, "n": len(held), "key": first.msg.routing_key, "reason": "channel closed"})
        self.dispatch(sim)

    def ack(self, sim: Simulation, tag: str, dtag: int) -> None:
        """basic.ack: the message is done with."""
        if self.unacked.get(tag, {}).pop(dtag, None) is None:  # returned by a failover meanwhile
            return
        self.acked += 1
        self.ring.settle(tag)
        self.dispatch(sim)

    def nack(self, sim: Simulation, tag: str, dtag: int, requeue: bool) -> None:
        """basic.nack / basic.reject: requeue it, or dead-letter it (reason rejected)."""
        entry = self.unacked[tag].pop(dtag, None)
        if entry is None:  # returned by a leader failover meanwhile: the settle is stale
            return
        self.ring.settle(tag)
        if requeue:
            self.requeue_entry(sim, entry)
            if sim.record_flow:
                sim.emit({"k": "amqp_requeue", "t": sim.kernel.now, "src": self.channels[tag], "dst": self.id,
                          "n": 1, "key": entry.msg.routing_key, "p": entry.msg.priority or 0})
        else:
            self.rejected += 1
            self._dead_letter(sim, entry, "rejected")
        self.dispatch(sim)

    def autoack_done(self, sim: Simulation, ok: bool, n: int = 1, crashed: bool = False) -> None:
        """An auto-acked delivery left the consumer: processed, or lost."""
        self.autoack_held -= n
        if ok:
            self.acked += n
        else:
            bump(self.dropped, DROP_AUTOACK_CRASH if crashed else DROP_AUTOACK_FAILED, n)

    # -- dispatch ---------------------------------------------------------------------------

    def dispatch(self, sim: Simulation) -> None:
        """Push ready messages to consumers with credit, in turn, head first."""
        now = sim.kernel.now
        q, ring = self.q, self.ring
        while True:
            for gone in q.expire(now, inclusive=False):
                self._expired(sim, gone)
            if not len(q) or not ring.active or (self.replicas is not None and not self.replicas.available()):
                break
            tag = ring.next()
            if tag is None:
                break
            entry = q.pop()
            assert entry is not None
            self._deliver(sim, tag, entry)
        self._arm_timer(sim)

    def _deliver(self, sim: Simulation, tag: str, entry: Entry) -> None:
        entry.deliveries += 1
        self.delivered += 1
        if entry.redelivered:
            self.duplicates += 1
        consumer = sim.components[self.channels[tag]]
        if consumer.auto_ack:
            self.ring.settle(tag)
            self.autoack_held += 1
            dtag = 0
        else:
            dtag = self.next_tag[tag]
            self.next_tag[tag] = dtag + 1
            self.unacked[tag][dtag] = entry
        if sim.record_flow:
            sim.emit({"k": "amqp_deliver", "t": sim.kernel.now, "src": self.id, "dst": consumer.id, "n": 1,
                      "c": tag.rpartition("/")[2], "key": entry.msg.routing_key, "p": entry.msg.priority or 0,
                      "redelivered": entry.redelivered, **({"dc": entry.returns} if entry.returns else {})})
        consumer.receive(sim, tag, dtag, entry)

    def _arm_timer(self, sim: Simulation) -> None:
        at = self.q.next_expiry()
        if at is not None and (self.timer_at is None or at < self.timer_at):
            self.timer_at = at
            sim.kernel.schedule(at, EXPIRE, self.id, at)

    def on_event(self, sim: Simulation, kind: int, arg: Any) -> None:
        if kind == ELECTION:
            self._elected(sim)
            return
        if kind == DLX_RETRY:
            self._retry_pending(sim)
            return
        if kind == EXPIRES:
            self._check_expires(sim)
            return
        if arg == self.timer_at:
            self.timer_at = None
        for gone in self.q.expire(sim.kernel.now, inclusive=True):
            self._expired(sim, gone)
        self.dispatch(sim)

    # -- leaving the queue ------------------------------------------------------------------

    def _expired(self, sim: Simulation, entry: Entry) -> None:
        self.expired += 1
        self._dead_letter(sim, entry, "expired")

    def _drop(self, sim: Simulation, entry: Entry, reason: str) -> None:
        bump(self.dropped, reason)
        if sim.record_flow:
            sim.emit({"k": "amqp_drop", "t": sim.kernel.now, "node": self.id, "reason": reason, "n": 1,
                      "key": entry.msg.routing_key})

    def _dead_letter(self, sim: Simulation, entry: Entry, reason: str, no_dlx: str | None = None) -> None:
        """Republish to the dead-letter exchange with an updated x-death (deadletter.py), or drop
        the message with a reason when the queue has no dead-letter exchange (or it does not
        exist: RabbitMQ drops the message then too)."""
        if self.dlx is None:
            self._drop(sim, entry, no_dlx or NO_DLX_DROP.get(reason, reason))
            return
        exchange = sim.components.get(self.dlx)
        if not isinstance(exchange, ExchangeRuntime):
            self._drop(sim, entry, DROP_DLX_MISSING)
            return
        msg = entry.msg
        now = sim.kernel.now
        deaths = record_death(msg.deaths, self.id, reason, msg.exchange, msg.routing_keys, now, msg.expiration)
        first = first_death(msg.first_death, msg.deaths, self.id, reason, msg.exchange)
        dead = Message(msg.uid, self.dlx, "", headers=msg.headers, priority=msg.priority, expiration=None,
                       published_at=msg.published_at, reply_to=msg.reply_to, correlation_id=msg.correlation_id,
                       deaths=deaths, routing_keys=dead_letter_routing_keys(msg.routing_keys, self.dl_key),
                       origin=msg.origin or self.id, first_death=first, size=msg.size, record=msg.record)
        if self.strategy == "at-least-once":
            self.pending.append([dead, None, entry.deliveries])
            assert isinstance(self.q, QuorumQueue)
            self.q.dlx_held += 1
            self._retry_pending(sim, only_new=True)
            return
        via: dict[str, str] = {}
        queues = exchange.route(sim, dead, via)
        targets = [q for q in queues if not is_cycle(q, deaths)]
        if not targets:
            self._drop(sim, entry, DROP_DLX_CYCLE if queues else DROP_DLX_NOWHERE)
            return
        self.dead_lettered += 1
        self._emit_dead_letter(sim, exchange, dead, reason, targets, via)
        for q in targets:
            sim.components[q].enqueue(sim, dead, entry.deliveries)

    def _emit_dead_letter(self, sim: Simulation, exchange: ExchangeRuntime, dead: Message, reason: str,
                          targets: list[str], via: dict[str, str]) -> None:
        if not sim.record_flow:
            return
        sim.emit({"k": "amqp_dead_letter", "t": sim.kernel.now, "src": self.id, "dst": exchange.id, "n": 1,
                  "key": dead.routing_key, "reason": reason, "queue": self.id, "count": dead.deaths[0].count})
        counts: dict[tuple[str, str], list[Any]] = {}
        for q in targets:
            for hop in hops(via, q):
                counts.setdefault(hop, [0, dead])[0] += 1
        exchange._emit_routes(sim, counts)

    def _store_dead_letter(self, sim: Simulation, msg: Message, attempts: int) -> None:
        """This queue received a dead letter: list it with why, after how many deliveries, and
        from where (the DLQ panel reads ``count`` and ``recent``)."""
        self.dl_count += 1
        death = msg.deaths[0]
        bump(self.dl_reasons, death.reason)
        first = msg.first_death
        self.dl_recent.append({
            "t": sim.kernel.now, "reason": death.reason, "attempts": attempts,
            "key": msg.routing_key, "origin": f"queue {death.queue}", "queue": self.id,
            "first_death": f"{first.reason} in {first.queue}" if first else None,
            "x_death": [d.to_dict() for d in msg.deaths[:4]],
        })

    # -- commands ---------------------------------------------------------------------------

    def cmd_purge(self, sim: Simulation, command: dict[str, Any]) -> None:
        """queue.purge: ready messages are deleted (unacknowledged ones stay)."""
        gone = self.q.purge()
        if gone:
            bump(self.dropped, "purged", len(gone))
            sim.emit({"k": "amqp_drop", "t": sim.kernel.now, "node": self.id, "reason": "purged", "n": len(gone)})

    def cmd_redrive(self, sim: Simulation, command: dict[str, Any]) -> None:
        """Move this queue's ready dead letters back to the queue each was first dead-lettered
        from, the way a shovel does (consume here, ack, publish there through the default
        exchange); messages without an x-death stay."""
        moved = 0
        keep: list[Entry] = []
        entries = self.q.purge()
        for entry in entries:
            origin = entry.msg.origin
            target = sim.components.get(origin) if origin else None
            if not isinstance(target, QueueRuntime) or target is self:
                keep.append(entry)
                continue
            moved += 1
            self.acked += 1
            msg = entry.msg
            again = Message(msg.uid, "", target.id, headers=msg.headers, priority=msg.priority, expiration=None,
                            published_at=sim.kernel.now, reply_to=msg.reply_to, correlation_id=msg.correlation_id,
                            deaths=msg.deaths, origin=msg.origin, first_death=msg.first_death, size=msg.size,
                            record=msg.record)
            target.enqueue(sim, again)
        for entry in keep:
            self.q.requeue(entry)
            entry.redelivered = False
        if not moved:
            raise CommandError(f"queue {self.id!r} holds no dead letter to redrive")
        self.redriven += moved
        sim.emit({"k": "amqp_redrive", "t": sim.kernel.now, "node": self.id, "n": moved})
        self.dispatch(sim)

    def cmd_get(self, sim: Simulation, command: dict[str, Any]) -> None:
        """basic.get, as the management UI's "Get messages" does: take up to ``count`` ready
        messages from the head and settle each at once with ``ack_mode`` ack (basic.ack),
        reject (basic.reject requeue=false: dead-lettered, reason rejected) or requeue
        (basic.nack requeue=true). What was got is listed in ``got`` with its headers."""
        count = command.get("count", 1)
        mode = command.get("ack_mode", "ack")
        if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= 100:
            raise CommandError("count must be a whole number from 1 to 100")
        if mode not in GET_MODES:
            raise CommandError("ack_mode must be one of " + ", ".join(GET_MODES))
        if self.replicas is not None and not self.replicas.available():
            raise CommandError(f"quorum queue {self.id!r} has no leader at the moment: basic.get times out")
        if self.deleted:
            raise CommandError(f"queue {self.id!r} was deleted (x-expires)")
        now = sim.kernel.now
        self._unused_from(sim)
        for gone in self.q.expire(now, inclusive=False):
            self._expired(sim, gone)
        for _ in range(count):
            entry = self.q.pop()
            if entry is None:
                break
            entry.deliveries += 1
            self.delivered += 1
            if entry.redelivered:
                self.duplicates += 1
            self.got.append(self.describe(entry, now))
            if mode == "ack":
                self.acked += 1
            elif mode == "requeue":
                self.requeue_entry(sim, entry)
            else:
                self.rejected += 1
                self._dead_letter(sim, entry, "rejected")
        self.dispatch(sim)

    def describe(self, entry: Entry, now: float) -> dict[str, Any]:
        """A delivered message as a client sees it: key, redelivered flag, headers."""
        msg = entry.msg
        headers: dict[str, Any] = dict(msg.headers or {})
        if msg.deaths:
            headers["x-death"] = [d.to_dict() for d in msg.deaths]
        if msg.first_death is not None:
            headers["x-first-death-queue"] = msg.first_death.queue
            headers["x-first-death-reason"] = msg.first_death.reason
            headers["x-first-death-exchange"] = msg.first_death.exchange
        if self.kind == "quorum":  # rabbit_fifo_client dequeue/3: basic.get always carries it
            headers["x-delivery-count"] = entry.returns
        return {"t": now, "uid": msg.uid, "key": msg.routing_key, "redelivered": entry.redelivered,
                "headers": headers}

    def cmd_get_reject(self, sim: Simulation, command: dict[str, Any]) -> None:
        """basic.get one message and basic.reject it without requeue: it is dead-lettered (reason
        rejected), or dropped without a dead-letter exchange."""
        self.cmd_get(sim, {"count": 1, "ack_mode": "reject"})

    def requeue_entry(self, sim: Simulation, entry: Entry) -> None:
        if self.kind == "quorum":
            self._return(sim, entry)
            return
        self.q.requeue(entry)
        self.requeued += 1

    # -- reading ----------------------------------------------------------------------------

    def streams(self, sim: Simulation) -> list[dict[str, Any]]:
        return [{"queue": self.id, "exchange": None, "produced": self.produced, "acknowledged": self.acked,
                 "in_flight": sum(len(u) for u in self.unacked.values()) + self.autoack_held,
                 "waiting": len(self.q) + len(self.pending), "dead_lettered": self.dead_lettered,
                 "dropped": dict(self.dropped)}]

    def metrics(self, sim: Simulation) -> dict[str, Any]:
        q = self.q
        head = []
        for entry in q.entries()[:HEAD_SHOWN]:
            item: dict[str, Any] = {"key": entry.msg.routing_key, "p": entry.msg.priority or 0}
            if entry.redelivered:
                item["r"] = 1
            if entry.msg.deaths:
                item["dead"] = entry.msg.deaths[0].reason
            head.append(item)
        by_priority = {}
        if q.max_priority is not None:
            by_priority = {str(level): len(lane) for level, lane in q.levels.items() if lane}
        return {
            "ready": len(q),
            "unacked": sum(len(u) for u in self.unacked.values()),
            "consumers": len(self.ring),
            "produced": self.produced,
            "delivered": self.delivered,
            "acked": self.acked,
            "duplicates": self.duplicates,
            "retried": self.requeued,
            "requeued": self.requeued,
            "rejected": self.rejected,
            "expired": self.expired,
            "dead_lettered": self.dead_lettered,
            "dropped": dict(self.dropped),
            "lag": len(q),
            "max_length": q.max_length,
            "max_priority": q.max_priority,
            "by_priority": by_priority,
            "head": head,
            "dlx": self.dlx,
            "count": self.dl_count,
            "redriven": self.redriven,
            "dead_letter_reasons": dict(self.dl_reasons),
            "recent": list(self.dl_recent),
            "got": list(self.got),
            "queue_type": self.kind,
            "policy": self.policy,
            "effective": {k: v for k, v in self.args.items() if v is not None},
            "bytes": q.bytes,
            "deleted": self.deleted,
            **self._quorum_metrics(),
        }

    def _quorum_metrics(self) -> dict[str, Any]:
        if self.replicas is None:
            return {}
        q = self.q
        assert isinstance(q, QuorumQueue)
        return {"replicas": self.replicas.view(), "leader": self.replicas.leader, "term": self.replicas.term,
                "available": self.replicas.available(), "failovers": self.failovers,
                "delivery_limit": self.delivery_limit, "dead_letter_strategy": self.strategy,
                "dlx_held": len(self.pending), "publish_blocked": q.blocked}
