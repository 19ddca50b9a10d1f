"""Ports: what a node type emits and accepts, so any compatible output feeds any compatible input.

A node type declares its ports instead of a list of type names it accepts. A port has a name, a
direction (``in`` or ``out``), what flows through it and the protocol it speaks:

- ``flows``: ``records`` (messages, whatever the system), ``requests`` and ``replies`` (a service
  called and answering), ``table_changes`` (a database's change log), and two flows that stay
  inside one system: ``dead_letters`` (what a queue or a group gives up on, into the store its
  system keeps them in) and ``placement`` (a Kafka cluster hosting a topic's partitions).
- ``mode``, for records, says which side of the broker the port is on, because that is what a
  real client library decides: ``publish`` (a client writes records into a broker entity: a
  producer into a topic, a publisher into an exchange), ``route`` (a broker entity hands them to
  another inside the broker: an exchange to its bound queues, an SNS topic to its SQS
  subscriptions, a Pub/Sub or Pulsar topic to its subscriptions) and ``consume`` (a consumer
  reads them from an entity: a group from a topic, a consumer from a queue).
- ``protocol``: the wire protocol or system (``kafka``, ``amqp``, ``sqs``, ``sns``,
  ``redis-pubsub``, ``redis-streams``, ``pubsub``, ``pulsar``), or ``any`` for a node that
  speaks every system through that system's adapter (a bridge, a service).

An output feeds an input when both carry the same ``flows`` in the same ``mode`` and their
protocols are equal or one of them is ``any``. Validation (document.py), the palette (each type's
derived ``accepts_from`` in its ``to_dict``), the JSON Schema and the inspector all read these
declarations; an edge that fits no pair of ports is refused with a message naming both ports.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

FLOWS = ("records", "requests", "replies", "table_changes", "dead_letters", "placement")
MODES = ("publish", "route", "consume", "")
ANY = "any"


@dataclass(frozen=True)
class Port:
    """One declared port of a node type."""

    name: str
    direction: str  # "in" | "out"
    flows: str = "records"
    mode: str = ""
    protocol: str = ANY
    help: str = ""

    def __post_init__(self) -> None:
        if self.direction not in ("in", "out"):
            raise ValueError(f"port {self.name!r}: direction must be 'in' or 'out'")
        if self.flows not in FLOWS:
            raise ValueError(f"port {self.name!r}: flows must be one of {', '.join(FLOWS)}")
        if self.mode not in MODES:
            raise ValueError(f"port {self.name!r}: mode must be one of {', '.join(m for m in MODES if m)}")
        if (self.flows == "records") != bool(self.mode):
            raise ValueError(f"port {self.name!r}: records need a mode (publish, route or consume); "
                             "other flows have none")

    @property
    def title(self) -> str:
        """How errors and the inspector name it: ``records (kafka)``."""
        return f"{self.name} ({self.protocol})"

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "direction": self.direction, "flows": self.flows, "mode": self.mode,
                "protocol": self.protocol, "help": self.help, "title": self.title}


def In(name: str, flows: str = "records", mode: str = "", protocol: str = ANY, help: str = "") -> Port:  # noqa: N802
    """An input port (shorthand for declarations)."""
    return Port(name, "in", flows, mode, protocol, help)


def Out(name: str, flows: str = "records", mode: str = "", protocol: str = ANY, help: str = "") -> Port:  # noqa: N802
    """An output port (shorthand for declarations)."""
    return Port(name, "out", flows, mode, protocol, help)


def why_not(out: Port, into: Port) -> str | None:
    """None when ``out`` may feed ``into``; else the reason, in words."""
    if out.direction != "out" or into.direction != "in":
        return "an edge goes from an output to an input"
    if out.flows != into.flows:
        return f"one carries {out.flows.replace('_', ' ')}, the other {into.flows.replace('_', ' ')}"
    if out.mode != into.mode:
        return f"one {_MODE_WORDS[out.mode]}, the other {_MODE_WORDS[into.mode]}"
    if out.protocol != into.protocol and ANY not in (out.protocol, into.protocol):
        return (f"they speak different protocols ({out.protocol} and {into.protocol}); "
                "a bridge (or another node speaking any protocol) connects two systems")
    return None


_MODE_WORDS = {
    "publish": "is written to by a client",
    "route": "is routed inside a broker",
    "consume": "is read by consumers",
    "": "carries no records",
}


def match(outs: tuple[Port, ...], ins: tuple[Port, ...]) -> tuple[Port, Port] | None:
    """The first (output, input) pair that fits, in declaration order, or None."""
    for out in outs:
        for into in ins:
            if why_not(out, into) is None:
                return out, into
    return None


def explain(source_id: str, outs: tuple[Port, ...], target_id: str, ins: tuple[Port, ...]) -> str:
    """Why no pair fits, naming both ports: the closest pair (same flows first, then same mode)."""
    if not outs:
        return f"{source_id} has no output"
    if not ins:
        return f"{target_id} has no input"

    def closeness(pair: tuple[Port, Port]) -> tuple[int, int]:
        out, into = pair
        return (out.flows == into.flows) + (out.mode == into.mode), -(outs.index(out) * 100 + ins.index(into))

    out, into = max(((o, i) for o in outs for i in ins), key=closeness)
    return (f"{source_id}'s output '{out.title}' cannot feed {target_id}'s input '{into.title}': "
            f"{why_not(out, into)}")
