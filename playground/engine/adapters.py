"""Record adapters: how a node that speaks any protocol reads from and writes to each system.

A system makes its entities usable by such a node (a bridge today; services and connectors
next) by registering, in its own ``records.py``, a *source* adapter for what consumers read (a
Kafka topic, an AMQP queue, an SQS queue) and a *sink* adapter for what clients write to (a Kafka
topic, an AMQP exchange or queue, an SQS queue), keyed by node type name. Each adapter uses the
system's own client rules (a Kafka consumer with committed offsets, an AMQP consumer with acks,
SQS ReceiveMessage and DeleteMessage) and converts between the system's message and the record
envelope (record.py): a source hands out ``(Record, view)``, a sink takes a ``Record`` in.

The reading node drives a source through four calls: ``poll`` (what is ready, at most n),
``commit`` (everything handed out so far is done with: commit offsets, ack, delete), ``crash``
(the reading process died: what was not committed comes back, as the real system returns it)
and ``restart``. ``streams`` gives the source's share of the accounting when the system does not
keep it already (a Kafka topic's readers each account for their copy). A sink's ``write`` returns
how many records the system accepted (refusals are counted by the system, with their reason).
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from playground.engine.record import DEFAULT_TEMPLATE, Record, ValueTemplate, View

if TYPE_CHECKING:
    from playground.engine.simulation import Simulation


class Source:
    """Base of source adapters: ``owner`` is the reading node's id, ``node`` the entity read."""

    def __init__(self, sim: Simulation, owner: str, node: Any, params: dict[str, Any]) -> None:
        self.owner = owner
        self.node_id = node.id

    def poll(self, sim: Simulation, max_records: int) -> Sequence[tuple[Record, View]]:
        raise NotImplementedError

    def commit(self, sim: Simulation) -> None:
        raise NotImplementedError

    def crash(self, sim: Simulation) -> None:
        raise NotImplementedError

    def restart(self, sim: Simulation) -> None:
        """The reading process is back: it resumes from what was committed."""

    def streams(self, sim: Simulation) -> list[dict[str, Any]]:
        return []

    def view(self) -> dict[str, Any]:
        return {}


class ReadsThroughSource:
    """A node that reads any system through a Source adapter (the bridge, a stream processor): the
    source's system calls these on its reader (a push, a lease extension, a trim, the position it
    must keep...), and they go to the adapter, which knows that system."""

    source: Source | None

    def receive(self, sim: Simulation, *delivery: Any) -> None:
        """A push from the source (AMQP basic.deliver, a Pub/Sub streaming-pull message)."""
        self.source.receive(sim, *delivery)  # type: ignore[union-attr]

    def alive(self) -> list[Any]:
        return self.source.alive()  # type: ignore[union-attr]

    def extends(self, member_key: str, held_for: float) -> bool:
        return bool(self.source.extends(member_key, held_for))  # type: ignore[union-attr]

    def deliver(self, sim: Simulation, worker: str, token: int, picks: Any) -> None:
        self.source.deliver(sim, worker, token, picks)  # type: ignore[union-attr]

    def keep_from(self, *where: Any) -> int:
        return self.source.keep_from(*where)  # type: ignore[union-attr]

    @property
    def state(self) -> Any:
        """A Redis stream reads its readers' consumer-group state (last-delivered position)."""
        return getattr(self.source, "group", None)

    def oldest_pending_pos(self) -> int | None:
        return self.source.oldest_pending_pos()  # type: ignore[union-attr]

    def on_added(self, n: int, redriven_by: str | None) -> None:
        self.source.on_added(n, redriven_by)  # type: ignore[union-attr]

    def on_trim(self, sim: Simulation, start: int, end: int) -> None:
        self.source.on_trim(sim, start, end)  # type: ignore[union-attr]

    def marker_floor(self, topic: str, partition: int) -> int:
        return self.source.marker_floor(topic, partition)  # type: ignore[union-attr]


class Sink:
    """Base of sink adapters: ``owner`` is the writing node's id, ``node`` the entity written to."""

    def __init__(self, sim: Simulation, owner: str, node: Any, params: dict[str, Any]) -> None:
        self.owner = owner
        self.node_id = node.id

    def write(self, sim: Simulation, records: list[Record]) -> int:
        raise NotImplementedError


def template_of(sim: Simulation, node_id: str) -> ValueTemplate:
    """The value template the node type of ``node_id`` declares (the default for an unknown id)."""
    from playground.engine.registry import get_node_type

    try:
        return get_node_type(sim.document.node(node_id).type).value_template
    except KeyError:
        return DEFAULT_TEMPLATE


_SOURCES: dict[str, type[Source]] = {}
_SINKS: dict[str, type[Sink]] = {}


def register_source(node_type: str, adapter: type[Source]) -> None:
    _SOURCES[node_type] = adapter


def register_sink(node_type: str, adapter: type[Sink]) -> None:
    _SINKS[node_type] = adapter


def _load() -> None:
    from playground.engine.registry import SYSTEM_PACKAGES

    for package in SYSTEM_PACKAGES:
        try:
            importlib.import_module(f"playground.engine.{package}.records")
        except ModuleNotFoundError as exc:
            if exc.name != f"playground.engine.{package}.records":
                raise


def source_for(node_type: str) -> type[Source] | None:
    _load()
    return _SOURCES.get(node_type)


def sink_for(node_type: str) -> type[Sink] | None:
    _load()
    return _SINKS.get(node_type)


def source_types() -> list[str]:
    _load()
    return sorted(_SOURCES)


def sink_types() -> list[str]:
    _load()
    return sorted(_SINKS)
