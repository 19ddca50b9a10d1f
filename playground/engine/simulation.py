"""A simulation of one document: build it, advance it, command it, read it, snapshot it.

Determinism: the kernel orders events by (time, seq), every random draw comes from a generator
seeded by the run's seed and the component's name, and commands are applied at the simulated
instant between two advances. The same document, seed and command sequence therefore give the
same event stream, bit for bit, and a snapshot restored continues exactly as the original.
"""

from __future__ import annotations

import pickle
from typing import Any

from playground.engine.document import Document
from playground.engine.kafka.group import GroupRuntime
from playground.engine.kafka.runtime import DlqRuntime, ProducerRuntime, TopicRuntime
from playground.engine.kernel import Kernel

SNAPSHOT_FORMAT = 1
MAX_ADVANCE = 3600.0  # simulated seconds one advance call may cover
MAX_COMMAND_LOG = 10_000
MAX_CONSUMERS_PER_GROUP = 64


class CommandError(ValueError):
    """A command that cannot be applied; the message says why."""


class Simulation:
    def __init__(self, document: Document, seed: int, *, record_flow: bool = True) -> None:
        self.document = document
        self.seed = int(seed)
        self.record_flow = record_flow
        self.kernel = Kernel(self.seed)
        self.components: dict[str, Any] = {}
        self.command_log: list[tuple[float, dict[str, Any]]] = []
        self._events: list[dict[str, Any]] = []
        self._build()

    # -- building ---------------------------------------------------------------------------

    def _build(self) -> None:
        doc = self.document
        for node in doc.nodes:
            if node.type == "kafka_topic":
                self.components[node.id] = TopicRuntime(node.id, node.params["partitions"])
            elif node.type == "dlq":
                self.components[node.id] = DlqRuntime(node.id)
        for node in doc.nodes:
            if node.type == "producer":
                topics = [self.components[n.id] for n in doc.targets(node.id) if n.type == "kafka_topic"]
                self.components[node.id] = ProducerRuntime(self, node.id, node.params, topics[0] if topics else None)
        for node in doc.nodes:
            if node.type == "consumer_group":
                topics = [self.components[n.id] for n in doc.sources(node.id) if n.type == "kafka_topic"]
                dlqs = [n.id for n in doc.targets(node.id) if n.type == "dlq"]
                self.components[node.id] = GroupRuntime(self, node.id, node.params, topics, dlqs[0] if dlqs else None)

    # -- running ----------------------------------------------------------------------------

    @property
    def now(self) -> float:
        return self.kernel.now

    def advance(self, dt: float) -> None:
        """Process every event due up to now + dt (simulated seconds); the clock ends there."""
        if not 0 <= dt <= MAX_ADVANCE:
            raise ValueError(f"dt must be between 0 and {MAX_ADVANCE} simulated seconds")
        kernel = self.kernel
        until = kernel.now + dt
        components = self.components
        pop = kernel.pop_due
        while (event := pop(until)) is not None:
            components[event[3]].on_event(self, event[2], event[4])
        kernel.now = until

    def emit(self, event: dict[str, Any]) -> None:
        self._events.append(event)

    def drain_events(self) -> list[dict[str, Any]]:
        events, self._events = self._events, []
        return events

    # -- commands ---------------------------------------------------------------------------

    def apply(self, command: dict[str, Any]) -> None:
        """Apply a command at the current simulated instant (see README.md for the list)."""
        if not isinstance(command, dict):
            raise CommandError("a command must be an object with an 'op'")
        op = command.get("op")
        handler = _COMMANDS.get(op) if isinstance(op, str) else None
        if handler is None:
            raise CommandError(f"unknown command op {op!r}; known: {', '.join(sorted(_COMMANDS))}")
        handler(self, command)
        if len(self.command_log) < MAX_COMMAND_LOG:
            self.command_log.append((self.kernel.now, dict(command)))

    def _group(self, command: dict[str, Any]) -> GroupRuntime:
        group_id = command.get("group")
        group = self.components.get(group_id) if isinstance(group_id, str) else None
        if not isinstance(group, GroupRuntime):
            raise CommandError(f"no consumer group has the id {group_id!r}")
        return group

    def _member(self, command: dict[str, Any], verb: str) -> tuple[GroupRuntime, str]:
        group = self._group(command)
        member = command.get("member")
        if not isinstance(member, str) or member not in group.members:
            raise CommandError(f"group {group.id!r} has no member {member!r} to {verb}")
        if group.members[member].state == "dead":
            raise CommandError(f"{member} has already crashed; its session is timing out")
        if group.members[member].leaving:
            raise CommandError(f"{member} is already leaving the group")
        return group, member

    def _add_consumer(self, command: dict[str, Any]) -> None:
        group = self._group(command)
        if len(group.members) >= MAX_CONSUMERS_PER_GROUP:
            raise CommandError(f"group {group.id!r} already has {MAX_CONSUMERS_PER_GROUP} members, the most allowed")
        group.add_member(self)

    def _remove_consumer(self, command: dict[str, Any]) -> None:
        group, member = self._member(command, "remove")
        group.remove_member(self, member)

    def _kill_consumer(self, command: dict[str, Any]) -> None:
        group, member = self._member(command, "kill")
        group.kill_member(self, member)

    # -- reading ----------------------------------------------------------------------------

    def streams(self) -> list[dict[str, Any]]:
        """Accounting per (topic, group) stream; a topic nobody reads is a stream of its own."""
        out = []
        read: set[str] = set()
        for component in self.components.values():
            if isinstance(component, GroupRuntime):
                for topic in component.topics:
                    read.add(topic)
                    out.append(dict(component.stream(self, topic), topic=topic, group=component.id))
        for component in self.components.values():
            if isinstance(component, TopicRuntime) and component.id not in read:
                produced = component.leo_total()
                out.append({"topic": component.id, "group": None, "produced": produced, "acknowledged": 0,
                            "in_flight": 0, "waiting": produced, "dead_lettered": 0, "dropped": {}})
        return out

    def metrics(self) -> dict[str, Any]:
        totals = {"produced": 0, "acknowledged": 0, "in_flight": 0, "waiting": 0, "dead_lettered": 0}
        dropped: dict[str, int] = {}
        for stream in self.streams():
            for key in totals:
                totals[key] += stream[key]
            for reason, n in stream["dropped"].items():
                dropped[reason] = dropped.get(reason, 0) + n
        nodes: dict[str, Any] = {}
        sent = duplicates = retried = processed = lag = 0
        for node_id, component in self.components.items():
            if isinstance(component, GroupRuntime):
                view = component.metrics(self)
                duplicates += view["duplicates"]
                retried += view["retried"]
                processed += view["processed"]
                lag += view["lag"]
            else:
                view = component.metrics()
                if isinstance(component, ProducerRuntime):
                    sent += view["sent"]
            nodes[node_id] = view
        return {
            "t": self.kernel.now,
            "sent": sent,
            **totals,
            "dropped": dropped,
            "dropped_total": sum(dropped.values()),
            "duplicates": duplicates,
            "retried": retried,
            "processed": processed,
            "lag": lag,
            "nodes": nodes,
        }

    # -- snapshots --------------------------------------------------------------------------

    def snapshot(self) -> bytes:
        """The whole state as bytes (server-side only: never restore bytes from outside)."""
        return pickle.dumps((SNAPSHOT_FORMAT, self), protocol=pickle.HIGHEST_PROTOCOL)

    @classmethod
    def restore(cls, blob: bytes) -> Simulation:
        version, sim = pickle.loads(blob)  # noqa: S301 - our own snapshots only
        if version != SNAPSHOT_FORMAT or not isinstance(sim, cls):
            raise ValueError("not a snapshot of this engine version")
        return sim

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_events"] = []  # events already produced belong to whoever drained them
        return state


_COMMANDS = {
    "add_consumer": Simulation._add_consumer,
    "remove_consumer": Simulation._remove_consumer,
    "kill_consumer": Simulation._kill_consumer,
}
