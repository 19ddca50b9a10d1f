"""A simulation of one document: build it, advance it, command it, read it, snapshot it.

Determinism: the kernel orders events by (time, seq), every random draw comes from a generator
seeded by the run's seed and the component's name, and commands are applied at the simulated
instant between two advances. The same document, seed and command sequence therefore give the
same event stream, bit for bit, and a snapshot restored continues exactly as the original.
"""

from __future__ import annotations

import io
import pickle
from typing import Any

from playground.engine import kernel as _kernel_module
from playground.engine._mypyc import mypyc_attr
from playground.engine.component import CommandError, check_command
from playground.engine.document import Document
from playground.engine.kernel import Kernel
from playground.engine.registry import flow_kinds, get_node_type, node_types

SNAPSHOT_FORMAT = 3  # 3: producers keep a block of drawn keys, group members their partition reads
# A snapshot of the compiled engine (playground/accel.py) does not restore in the interpreted one,
# nor the other way round: the classes pickle differently. Each refuses the other's cleanly.
ENGINE_BUILD = "interpreted" if str(_kernel_module.__file__).endswith(".py") else "compiled"
MAX_ADVANCE = 3600.0  # simulated seconds one advance call may cover
MAX_COMMAND_LOG = 10_000


@mypyc_attr(serializable=True, allow_interpreted_subclasses=True)
class Simulation:
    def __init__(self, document: Document, seed: int, *, record_flow: bool = True) -> None:
        self.document = document
        self.seed = int(seed)
        self.record_flow = record_flow
        self._flow_kinds = flow_kinds()
        self.kernel = Kernel(self.seed)
        self.components: dict[str, Any] = {}
        self.command_log: list[tuple[float, dict[str, Any]]] = []
        self._events: list[dict[str, Any]] = []
        self._build()

    # -- building ---------------------------------------------------------------------------

    def _build(self) -> None:
        """Build every node's runtime, what others connect to first (NodeType.build_order)."""
        nodes = sorted(enumerate(self.document.nodes), key=lambda i_n: (get_node_type(i_n[1].type).build_order, i_n[0]))
        for _, node in nodes:
            runtime = get_node_type(node.type).build(self, node)
            if runtime is not None:
                self.components[node.id] = runtime

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
        kernel.run_until(until, self, self.components)
        kernel.now = until

    def emit(self, event: dict[str, Any]) -> None:
        """Record an event for whoever drains them. Without ``record_flow`` (headless runs) the
        bulk kinds are not kept at all: they are counted in the metrics already."""
        if self.record_flow or event["k"] not in self._flow_kinds:
            self._events.append(event)

    def drain_events(self) -> list[dict[str, Any]]:
        events, self._events = self._events, []
        return events

    # -- commands ---------------------------------------------------------------------------

    def apply(self, command: dict[str, Any]) -> None:
        """Apply a command at the current simulated instant (see README.md for the list).

        A command names its target node with ``node``; the target's runtime declares the ops it
        takes and, for each, what it acts on and carries (component.CommandSpec).
        """
        if not isinstance(command, dict):
            raise CommandError("a command must be an object with an 'op'")
        op = command.get("op")
        known = _known_ops()
        if not isinstance(op, str) or op not in known:
            raise CommandError(f"unknown command op {op!r}; known: {', '.join(sorted(known))}")
        target = command.get("node")
        runtime = self.components.get(target) if isinstance(target, str) else None
        if runtime is None or op not in runtime.commands:
            kinds = " or ".join(sorted({label for o, label in known[op]}))
            raise CommandError(f"no {kinds} has the id {target!r} (a command names its node with 'node')")
        command = check_command(runtime, op, command)
        getattr(runtime, runtime.commands[op])(self, command)
        if len(self.command_log) < MAX_COMMAND_LOG:
            self.command_log.append((self.kernel.now, dict(command)))

    # -- reading ----------------------------------------------------------------------------

    def streams(self) -> list[dict[str, Any]]:
        """Accounting per stream (for Kafka: a topic and one group reading it; a topic nobody
        reads is a stream of its own). produced = the rest, in each."""
        out: list[dict[str, Any]] = []
        for runtime in self.components.values():
            out.extend(runtime.streams(self))
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
        summed = dict.fromkeys(SUMMED, 0)
        for node_id, runtime in self.components.items():
            view = runtime.metrics(self)
            for key in SUMMED:
                summed[key] += view.get(key, 0)
            nodes[node_id] = view
        return {
            "t": self.kernel.now,
            "sent": summed["sent"],
            **totals,
            "dropped": dropped,
            "dropped_total": sum(dropped.values()),
            "duplicates": summed["duplicates"],
            "retried": summed["retried"],
            "processed": summed["processed"],
            "lag": summed["lag"],
            "nodes": nodes,
        }

    # -- snapshots --------------------------------------------------------------------------

    def snapshot(self) -> bytes:
        """The whole state as bytes (server-side only: never restore bytes from outside).

        Two pickles: the format and build first, read alone by ``restore`` before the state, so
        that bytes of another format or build are refused before any of their classes is loaded.
        """
        # Events already produced belong to whoever drained them: not in the snapshot. (Set aside
        # here rather than in a __getstate__ over __dict__, which a mypyc-compiled class has not.)
        events, self._events = self._events, []
        try:
            return (pickle.dumps((SNAPSHOT_FORMAT, ENGINE_BUILD), protocol=pickle.HIGHEST_PROTOCOL)
                    + pickle.dumps(self, protocol=pickle.HIGHEST_PROTOCOL))
        finally:
            self._events = events

    @classmethod
    def restore(cls, blob: bytes) -> Simulation:
        stream = io.BytesIO(blob)
        try:
            version = pickle.load(stream)  # noqa: S301 - our own snapshots only
        except Exception as exc:
            raise ValueError("not a snapshot of this engine version") from exc
        if version != (SNAPSHOT_FORMAT, ENGINE_BUILD):
            raise ValueError(f"not a snapshot of this engine version (format {version!r}, this engine "
                             f"{(SNAPSHOT_FORMAT, ENGINE_BUILD)!r})")
        sim = pickle.load(stream)  # noqa: S301
        if not isinstance(sim, cls):
            raise ValueError("not a snapshot of this engine version")
        return sim


SUMMED = ("sent", "duplicates", "retried", "processed", "lag")


def _known_ops() -> dict[str, set[tuple[str, str]]]:
    """op -> {(node type name, label)} over every registered node type's runtime."""
    ops: dict[str, set[tuple[str, str]]] = {}
    for node_type in node_types():
        for op in getattr(node_type.runtime_class, "commands", {}):
            ops.setdefault(op, set()).add((node_type.name, node_type.label.lower()))
    return ops
