"""AMQP consumers during a run: push delivery, processing, ack / nack / reject, replies."""

from __future__ import annotations

import zlib
from collections import deque
from typing import TYPE_CHECKING, Any

import numpy as np

from playground.engine.clients import pick_member
from playground.engine.component import ON_MEMBER, CommandError, Runtime
from playground.engine.kernel import uniform_hash
from playground.engine.rabbitmq.flow import (
    DIRECT_REPLY_TO,
    DROP_DIRECT_REPLY_GONE,
    DROP_REPLY_NOWHERE,
    MAX_CHANNELS,
    PROCESS_DONE,
    bump,
)
from playground.engine.rabbitmq.queue import Entry, Message
from playground.engine.rabbitmq.queue_runtime import QueueRuntime

if TYPE_CHECKING:
    from playground.engine.simulation import Simulation


class Channel:
    """One consumer: its own channel with its prefetch, processing one delivery at a time."""

    __slots__ = ("tag", "name", "buffer", "busy", "token", "state", "processed")

    def __init__(self, tag: str, name: str) -> None:
        self.tag = tag
        self.name = name
        self.buffer: deque[tuple[int, Entry]] = deque()
        self.busy: tuple[int, Entry] | None = None
        self.token = 0
        self.state = "active"  # active | cancelling | closed | killed
        self.processed = 0

    def held(self) -> int:
        return len(self.buffer) + (1 if self.busy else 0)



class ConsumerRuntime(Runtime):
    """Consumers of one queue: push delivery within prefetch, processing, ack / nack / reject."""

    commands = {"add_consumer": "cmd_add", "remove_consumer": "cmd_remove", "kill_consumer": "cmd_kill"}
    command_specs = {"remove_consumer": ON_MEMBER, "kill_consumer": ON_MEMBER}
    items = "channels"

    def __init__(self, sim: Simulation, node_id: str, params: dict[str, Any], queue: str | None) -> None:
        self.id = node_id
        self.queue = queue
        self.auto_ack = params["ack_mode"] == "auto"
        self.prefetch = 0 if self.auto_ack else int(params["prefetch"])
        self.mean_s = params["processing_ms"] / 1000.0
        self.failure_rate = float(params["failure_rate"])
        self.poison_rate = float(params["poison_rate"])
        self.on_failure = params["on_failure"]
        self.rng = sim.kernel.rng(f"rabbitmq:{node_id}")
        self.salt = zlib.crc32(f"{sim.kernel.seed}:{node_id}".encode())
        self.channels: list[Channel] = []
        self.number = 0
        self.processed = self.acked = self.requeued = self.rejected = self.failed = 0
        self.replies = 0
        self.rtt_total = 0.0
        self.reply_drops: dict[str, int] = {}
        self.replies_sent = 0
        self.stream_offset = params["stream_offset"]
        self.errors: list[str] = []
        for _ in range(int(params["consumers"])):
            self._open(sim)

    def _open(self, sim: Simulation) -> Channel:
        self.number += 1
        name = f"c{self.number}"
        channel = Channel(f"{self.id}/{name}", name)
        self.channels.append(channel)
        if self.queue is not None:
            error = sim.components[self.queue].attach(sim, channel.tag, self.id, self.prefetch, self.stream_offset,
                                                      self.auto_ack)
            if error is not None:
                self.channel_error(sim, channel.tag, error)
        return channel

    def channel_error(self, sim: Simulation, tag: str, message: str) -> None:
        """The broker closed this consumer's channel with an error (what it held is gone from
        the channel; a stream keeps its messages)."""
        channel = self._channel(tag)
        channel.state = "closed"
        channel.token += 1
        channel.buffer.clear()
        channel.busy = None
        if len(self.errors) < 10:
            self.errors.append(message)
        sim.emit({"k": "amqp_consumer", "t": sim.kernel.now, "node": self.id, "c": channel.name,
                  "change": "channel error", "error": message})

    def receive(self, sim: Simulation, tag: str, dtag: int, entry: Entry) -> None:
        channel = self._channel(tag)
        channel.buffer.append((dtag, entry))
        self._start(sim, channel)

    def _channel(self, tag: str) -> Channel:
        for channel in self.channels:
            if channel.tag == tag:
                return channel
        raise KeyError(tag)

    def _start(self, sim: Simulation, channel: Channel) -> None:
        if channel.busy is not None or not channel.buffer or channel.state not in ("active", "cancelling"):
            return
        channel.busy = channel.buffer.popleft()
        duration = float(self.rng.exponential(self.mean_s)) if self.mean_s > 0 else 0.0
        sim.kernel.schedule(sim.kernel.now + duration, PROCESS_DONE, self.id, (channel.tag, channel.token))

    def is_poison(self, msg: Message) -> bool:
        if self.poison_rate <= 0:
            return False
        return bool(uniform_hash(self.salt, 0, np.array([msg.uid & 0x7FFFFFFFFFFFFFFF]))[0] < self.poison_rate)

    def on_event(self, sim: Simulation, kind: int, arg: Any) -> None:
        tag, token = arg
        channel = self._channel(tag)
        if token != channel.token or channel.busy is None:
            return
        dtag, entry = channel.busy
        channel.busy = None
        msg = entry.msg
        failed = self.is_poison(msg) or (self.failure_rate > 0 and self.rng.random() < self.failure_rate)
        self.processed += 1
        channel.processed += 1
        if msg.correlation_id is not None:
            self.replies += 1
            self.rtt_total += sim.kernel.now - msg.published_at
        if failed:
            self.failed += 1
        elif msg.reply_to:
            self._reply(sim, msg)
        assert self.queue is not None  # a delivery came from it
        queue: QueueRuntime = sim.components[self.queue]
        if self.auto_ack:
            queue.autoack_done(sim, ok=not failed)
        elif not failed or self.on_failure == "ack":
            self.acked += 1
            queue.ack(sim, tag, dtag)
        else:
            requeue = self.on_failure == "requeue" or (self.on_failure == "requeue_once" and not entry.redelivered)
            if requeue:
                self.requeued += 1
            else:
                self.rejected += 1
            queue.nack(sim, tag, dtag, requeue)
        if channel.state == "cancelling" and (not self.auto_ack or not channel.buffer):
            self._close(sim, channel)
        else:
            self._start(sim, channel)

    def _reply(self, sim: Simulation, request: Message) -> None:
        """Request-reply: publish the answer to the default exchange with the request's reply_to
        as routing key and its id as correlation_id (the RPC tutorial's pattern)."""
        self.replies_sent += 1
        reply = Message(request.uid, "", request.reply_to or "", correlation_id=request.uid,
                        published_at=request.published_at)
        if (request.reply_to or "").startswith(DIRECT_REPLY_TO + "."):
            requester = sim.components.get((request.reply_to or "").split(".")[3])
            if requester is None or not requester.direct_reply(sim, reply, self.id):
                bump(self.reply_drops, DROP_DIRECT_REPLY_GONE)
            return
        target = sim.components.get(request.reply_to or "")
        if not isinstance(target, QueueRuntime):
            bump(self.reply_drops, DROP_REPLY_NOWHERE)
            return
        if sim.record_flow:
            sim.emit({"k": "amqp_publish", "t": sim.kernel.now, "src": self.id, "dst": target.id, "n": 1,
                      "key": reply.routing_key, "p": 0, "reply": True})
        target.enqueue(sim, reply)

    def forget(self, tag: str) -> None:
        """The queue took back what this channel held (a quorum leader failover returned it):
        work on it stops; the queue delivers it again later."""
        channel = self._channel(tag)
        channel.buffer.clear()
        channel.busy = None
        channel.token += 1

    def _close(self, sim: Simulation, channel: Channel) -> None:
        channel.state = "closed"
        channel.token += 1
        if self.auto_ack:
            lost = channel.held()
            channel.buffer.clear()
            channel.busy = None
            if lost and self.queue is not None:
                sim.components[self.queue].autoack_done(sim, ok=False, n=lost, crashed=True)
        else:
            channel.buffer.clear()
            channel.busy = None
        if self.queue is not None:
            sim.components[self.queue].close(sim, channel.tag)

    # -- commands ---------------------------------------------------------------------------

    def _live(self) -> list[Channel]:
        return [c for c in self.channels if c.state == "active"]

    def _pick(self, command: dict[str, Any], verb: str) -> Channel:
        return pick_member(self.id, self._live(), command.get("member"), verb, lambda c: (c.name, c.tag))

    def cmd_add(self, sim: Simulation, command: dict[str, Any]) -> None:
        if len(self._live()) >= MAX_CHANNELS:
            raise CommandError(f"{self.id!r} already has {MAX_CHANNELS} consumers, the most allowed")
        if self.queue is None:
            raise CommandError(f"{self.id!r} is connected to no queue")
        channel = self._open(sim)
        sim.emit({"k": "amqp_consumer", "t": sim.kernel.now, "node": self.id, "c": channel.name, "change": "added"})
        sim.components[self.queue].dispatch(sim)

    def cmd_remove(self, sim: Simulation, command: dict[str, Any]) -> None:
        """basic.cancel, finish the message in hand, close the channel (what it still holds
        unprocessed is requeued; an auto-ack consumer works through its buffer first)."""
        channel = self._pick(command, "remove")
        channel.state = "cancelling"
        sim.emit({"k": "amqp_consumer", "t": sim.kernel.now, "node": self.id, "c": channel.name,
                  "change": "removed"})
        if self.queue is not None:
            sim.components[self.queue].cancel(channel.tag)
        if channel.busy is None:
            self._close(sim, channel)

    def cmd_kill(self, sim: Simulation, command: dict[str, Any]) -> None:
        """The connection dies: unacked deliveries are requeued (auto-acked ones are lost)."""
        channel = self._pick(command, "kill")
        sim.emit({"k": "amqp_consumer", "t": sim.kernel.now, "node": self.id, "c": channel.name, "change": "killed"})
        self._close(sim, channel)
        channel.state = "killed"

    # -- reading ----------------------------------------------------------------------------

    def streams(self, sim: Simulation) -> list[dict[str, Any]]:
        if not self.reply_drops:
            return []
        n = sum(self.reply_drops.values())
        return [{"consumer": self.id, "queue": None, "produced": n, "acknowledged": 0, "in_flight": 0,
                 "waiting": 0, "dead_lettered": 0, "dropped": dict(self.reply_drops)}]

    def metrics(self, sim: Simulation) -> dict[str, Any]:
        return {
            "channels": [{"id": c.name, "state": c.state, "unacked": c.held(), "busy": c.busy is not None,
                         "processed": c.processed} for c in self.channels if c.state in ("active", "cancelling")],
            "prefetch": self.prefetch,
            "ack_mode": "auto" if self.auto_ack else "manual",
            "processed": self.processed,
            "acked": self.acked,
            "requeued": self.requeued,
            "rejected": self.rejected,
            "failed": self.failed,
            "replies": self.replies,
            "replies_sent": self.replies_sent,
            "rtt_ms": round(1000.0 * self.rtt_total / self.replies, 3) if self.replies else None,
            "stream_offset": self.stream_offset,
            "errors": list(self.errors),
        }
