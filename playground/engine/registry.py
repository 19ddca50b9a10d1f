"""The component registry: what each node type declares.

A node type is one class: its parameters (type, default, bounds, unit, help), its ports (what
it emits and accepts, ports.py; how many edges in and out) and, in the system's own package, its
behaviour. The inspector form, the JSON Schema of the document and validation are all derived
from these declarations, so adding a system means adding a module, not editing five.
"""

from __future__ import annotations

import importlib
import math
from dataclasses import dataclass, field
from typing import Any, ClassVar

from playground.engine.component import describe_commands
from playground.engine.ports import Port, match
from playground.engine.record import DEFAULT_TEMPLATE, ValueTemplate


@dataclass(frozen=True)
class FieldError:
    """One refused value, named by its path in the document (``nodes[2].params.rate``)."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message

    def to_dict(self) -> dict[str, str]:
        return {"path": self.path, "message": self.message}


@dataclass(frozen=True)
class Param:
    """A declared parameter of a node type."""

    name: str
    label: str
    kind: str  # "int" | "float" | "enum" | "bool" | "string" | "map" (string -> string)
    default: Any
    help: str = ""
    min: float | None = None
    max: float | None = None
    step: float | None = None
    unit: str = ""
    choices: tuple[str, ...] = ()
    max_length: int = 255  # for "string" and each key and value of a "map"
    #: the document-wide cap (a key of Limits.budgets) this value counts toward, if any: every
    #: producer's rate toward the total rate, every topic's partitions toward the partitions...
    budget: str | None = None

    def coerce(self, raw: Any) -> tuple[Any, str | None]:
        """Return ``(value, None)`` or ``(None, message)``. Strings from a form are accepted;
        a "map" may come from a form as text, one ``key=value`` a line (or separated by commas)."""
        if self.kind == "string":
            if not isinstance(raw, str):
                return None, "must be text"
            if len(raw) > self.max_length:
                return None, f"must be at most {self.max_length} characters"
            return raw, None
        if self.kind == "map":
            return self._coerce_map(raw)
        if self.kind == "bool":
            if isinstance(raw, bool):
                return raw, None
            if isinstance(raw, str) and raw.lower() in ("true", "on", "1", "false", "off", "0", ""):
                return raw.lower() in ("true", "on", "1"), None
            return None, "must be true or false"
        if self.kind == "enum":
            if isinstance(raw, str) and raw in self.choices:
                return raw, None
            return None, "must be one of " + ", ".join(self.choices)
        if isinstance(raw, bool):
            return None, f"must be {'a whole number' if self.kind == 'int' else 'a number'}"
        value: Any = raw
        if isinstance(raw, str):
            text = raw.strip()
            try:
                value = int(text) if self.kind == "int" else float(text)
            except ValueError:
                return None, f"must be {'a whole number' if self.kind == 'int' else 'a number'}"
        if self.kind == "int":
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            if not isinstance(value, int):
                return None, "must be a whole number"
        else:
            if not isinstance(value, (int, float)) or not math.isfinite(value):
                return None, "must be a number"
            value = float(value)
        if self.min is not None and value < self.min:
            return None, f"must be at least {_fmt(self.min)}{_unit(self.unit)}"
        if self.max is not None and value > self.max:
            return None, f"must be at most {_fmt(self.max)}{_unit(self.unit)}"
        return value, None

    def _coerce_map(self, raw: Any) -> tuple[Any, str | None]:
        if isinstance(raw, str):
            pairs: dict[str, str] = {}
            for part in raw.replace("\n", ",").split(","):
                if not part.strip():
                    continue
                key, sep, value = part.partition("=")
                if not sep or not key.strip():
                    return None, f"{part.strip()!r} is not key=value"
                pairs[key.strip()] = value.strip()
            raw = pairs
        if not isinstance(raw, dict):
            return None, "must be an object of text values"
        if len(raw) > 32:
            return None, "may hold at most 32 entries"
        for key, value in raw.items():
            if not isinstance(key, str) or not isinstance(value, str):
                return None, "keys and values must be text"
            if len(key) > self.max_length or len(value) > self.max_length:
                return None, f"keys and values must be at most {self.max_length} characters"
        return dict(raw), None

    def json_schema(self) -> dict[str, Any]:
        schema: dict[str, Any]
        if self.kind == "string":
            schema = {"type": "string", "maxLength": self.max_length}
        elif self.kind == "map":
            schema = {"type": "object", "maxProperties": 32,
                      "additionalProperties": {"type": "string", "maxLength": self.max_length}}
        elif self.kind == "bool":
            schema = {"type": "boolean"}
        elif self.kind == "enum":
            schema = {"enum": list(self.choices)}
        else:
            schema = {"type": "integer" if self.kind == "int" else "number"}
            if self.min is not None:
                schema["minimum"] = self.min
            if self.max is not None:
                schema["maximum"] = self.max
        schema["default"] = self.default
        schema["title"] = self.label
        description = self.help + (f" ({self.unit})" if self.unit else "")
        if description:
            schema["description"] = description
        return schema

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "label": self.label,
            "kind": self.kind,
            "default": self.default,
            "min": self.min,
            "max": self.max,
            "step": self.step,
            "unit": self.unit,
            "help": self.help,
            "choices": list(self.choices),
            "max_length": self.max_length if self.kind in ("string", "map") else None,
            "budget": self.budget,
        }


def _fmt(number: float) -> str:
    return f"{int(number):,}" if float(number).is_integer() else f"{number:g}"


def _unit(unit: str) -> str:
    return f" {unit}" if unit else ""


class NodeType:
    """Base of every node type. Subclasses set the class attributes and register themselves."""

    name: ClassVar[str]
    label: ClassVar[str]
    category: ClassVar[str]
    help: ClassVar[str]
    color: ClassVar[str] = "#64748b"
    params: ClassVar[tuple[Param, ...]] = ()
    #: parameters of the edges going out of a node of this type (a binding's routing key ...)
    edge_params: ClassVar[tuple[Param, ...]] = ()
    #: what the type emits and accepts (ports.py): an output feeds any input it is compatible with
    ports: ClassVar[tuple[Port, ...]] = ()
    #: legacy, for a type that declares no ports yet: the type names allowed as edge sources into it
    accepts_from: ClassVar[tuple[str, ...]] = ()
    max_in: ClassVar[int | None] = None
    max_out: ClassVar[int | None] = None
    #: runtimes are built in this order (what others connect to comes first)
    build_order: ClassVar[int] = 50
    #: a store of dead letters: its metrics are {count, recent: [entries]}, listed in the DLQ panel
    dead_letter_store: ClassVar[bool] = False
    #: the component.Runtime subclass build() returns (its ``commands`` are this type's commands)
    runtime_class: ClassVar[type | None] = None
    #: what the values of the records a node of this type writes look like (record.py): envelopes
    #: made again from a columnar store generate their value from it and the record's id
    value_template: ClassVar[ValueTemplate] = DEFAULT_TEMPLATE

    @classmethod
    def build(cls, sim: Any, node: Any) -> Any | None:
        """The node's runtime in a simulation (a component.Runtime), or None if it has no behaviour."""
        return None

    @classmethod
    def check_edges(cls, node: Any, outgoing: list[tuple[str, Any]], nodes: dict[str, Any]) -> list[FieldError]:
        """Rules that need both ends of a connection (a FIFO queue's dead-letter queue must be
        FIFO ...): ``outgoing`` is [(path, edge)] of this node's valid edges, ``nodes`` the
        document's nodes by id; errors are named by the edge's path."""
        return []

    @classmethod
    def check_graph(cls, node: Any, edges: list[Any], paths: dict[str, str], nodes: dict[str, Any]) -> list[FieldError]:
        """Rules that need the whole graph (what else connects to the node's neighbours): ``edges``
        are the document's valid edges, ``paths`` their paths by edge id."""
        return []

    @classmethod
    def inputs(cls) -> tuple[Port, ...]:
        return tuple(p for p in cls.ports if p.direction == "in")

    @classmethod
    def outputs(cls) -> tuple[Port, ...]:
        return tuple(p for p in cls.ports if p.direction == "out")

    @classmethod
    def connection(cls, source: type[NodeType]) -> tuple[Port, Port] | None | bool:
        """How an edge from a ``source`` node into a node of this type connects: the (output,
        input) pair of ports it uses, None if none fits. A type without declared ports falls back
        on its legacy ``accepts_from`` (True: allowed by name)."""
        if not cls.ports or not source.ports:
            return source.name in cls.accepts_from or None
        if cls.max_in == 0 or source.max_out == 0:
            return None
        return match(source.outputs(), cls.inputs())

    @classmethod
    def accepted_sources(cls) -> list[str]:
        """Names of the registered types whose nodes may feed a node of this type (the palette)."""
        return [t.name for t in node_types() if cls.connection(t) is not None]

    @classmethod
    def param(cls, name: str) -> Param:
        for p in cls.params:
            if p.name == name:
                return p
        raise KeyError(name)

    @classmethod
    def defaults(cls) -> dict[str, Any]:
        return {p.name: p.default for p in cls.params}

    @classmethod
    def coerce_params(cls, raw: dict[str, Any]) -> tuple[dict[str, Any], list[FieldError]]:
        return _coerce(cls.params, raw, f"is not a parameter of {cls.label}")

    @classmethod
    def coerce_edge_params(cls, raw: dict[str, Any]) -> tuple[dict[str, Any], list[FieldError]]:
        return _coerce(cls.edge_params, raw, f"is not a parameter of a connection from a {cls.label}")

    @classmethod
    def to_dict(cls) -> dict[str, Any]:
        return {
            "name": cls.name,
            "label": cls.label,
            "category": cls.category,
            "help": cls.help,
            "color": cls.color,
            "params": [p.to_dict() for p in cls.params],
            "edge_params": [p.to_dict() for p in cls.edge_params],
            "ports": [p.to_dict() for p in cls.ports],
            # derived from the ports of every registered type (the palette's connection check)
            "accepts_from": cls.accepted_sources(),
            "max_in": cls.max_in,
            "max_out": cls.max_out,
            "dead_letter_store": cls.dead_letter_store,
            # What a person can do to a node of this type during a run (sim.apply ops)
            "commands": sorted(getattr(cls.runtime_class, "commands", {})),
            "command_info": describe_commands(cls.runtime_class),
            # the key of its metrics listing the items commands act on, and its history lists
            "items": getattr(cls.runtime_class, "items", None),
            "histories": list(getattr(cls.runtime_class, "histories", ())),
        }


def _coerce(params: tuple[Param, ...], raw: dict[str, Any], unknown: str) -> tuple[dict[str, Any], list[FieldError]]:
    """Coerce and bound-check raw values; missing ones take their default.

    Returns the params that validated merged over the defaults, and the errors (each named by
    the parameter's name). Unknown names are errors: a typo must not pass silently.
    """
    values = {p.name: p.default for p in params}
    errors: list[FieldError] = []
    known = {p.name: p for p in params}
    for key in raw:
        if key not in known:
            errors.append(FieldError(key, unknown))
    for p in params:
        if p.name in raw:
            value, message = p.coerce(raw[p.name])
            if message is None:
                values[p.name] = value
            else:
                errors.append(FieldError(p.name, message))
    return values, errors


_REGISTRY: dict[str, type[NodeType]] = {}


def register(cls: type[NodeType]) -> type[NodeType]:
    """Class decorator: add a node type to the registry (palette order = registration order)."""
    if cls.name in _REGISTRY:
        raise ValueError(f"node type {cls.name!r} registered twice")
    _REGISTRY[cls.name] = cls
    return cls


TRAITS = {
    "ordering": "Ordering",
    "delivery": "Delivery guarantee",
    "retention": "Retention and replay",
    "routing": "Routing",
    "dlq": "Dead letters and redrive",
    "scaling": "Unit of scaling",
    "push_pull": "Push or pull",
    "dedup": "Deduplication",
}


@dataclass(frozen=True)
class SystemTraits:
    """What a messaging system promises, for the comparison matrix: one sentence per trait in
    TRAITS, each with the name of the ready topology (playground/examples) that shows it."""

    name: str
    label: str
    node_types: tuple[str, ...]
    traits: dict[str, tuple[str, str | None]]

    def __post_init__(self) -> None:
        missing = set(TRAITS) - set(self.traits)
        unknown = set(self.traits) - set(TRAITS)
        if missing or unknown:
            raise ValueError(f"system {self.name}: traits missing {sorted(missing)}, unknown {sorted(unknown)}")


_SYSTEMS: dict[str, SystemTraits] = {}


def register_system(system: SystemTraits) -> SystemTraits:
    _SYSTEMS[system.name] = system
    return system


def systems() -> list[SystemTraits]:
    _load_systems()
    return sorted(_SYSTEMS.values(), key=lambda s: min((_system_rank(get_node_type(t).__module__)
                                                         for t in s.node_types), default=99))


_FLOW_KINDS: set[str] = set()


def register_flow_kinds(*kinds: str) -> None:
    """Event kinds a system emits in bulk (per batch, per retry): viewers get an evenly spaced
    sample of them, while every one is counted. Other kinds are rare and kept."""
    _FLOW_KINDS.update(kinds)


def flow_kinds() -> frozenset[str]:
    _load_systems()
    return frozenset(_FLOW_KINDS)


def history_keys() -> frozenset[str]:
    """The keys of node metrics that are histories (component.Runtime.histories), in any system,
    and ``recent``, a dead-letter store's newest entries."""
    _load_systems()
    keys = {"recent"}
    for node_type in _REGISTRY.values():
        keys.update(getattr(node_type.runtime_class, "histories", ()))
    return frozenset(keys)


def node_types() -> list[type[NodeType]]:
    """Every node type, system by system (SYSTEM_PACKAGES), in each in registration order."""
    _load_systems()
    return sorted(_REGISTRY.values(), key=lambda t: _system_rank(t.__module__))


def get_node_type(name: str) -> type[NodeType]:
    _load_systems()
    return _REGISTRY[name]


#: the system packages, in the order the palette, the schema and the comparison matrix show them
SYSTEM_PACKAGES = ("kafka", "rabbitmq", "redisx", "sqs", "gcp_pubsub", "pulsar", "bridge", "streams", "schemas")


def _load_systems() -> None:
    # Importing a system's package registers its node types.
    for package in SYSTEM_PACKAGES:
        importlib.import_module(f"playground.engine.{package}")


def _system_rank(module: str) -> int:
    parts = module.split(".")
    package = parts[2] if len(parts) > 2 else ""
    return SYSTEM_PACKAGES.index(package) if package in SYSTEM_PACKAGES else len(SYSTEM_PACKAGES)


@dataclass(frozen=True)
class Budget:
    """A cap on the sum of every parameter declared with ``budget=`` this budget's name."""

    cap: float
    #: the refusal, with {total} and {cap}
    message: str


def _budgets() -> dict[str, Budget]:
    return {
        "partitions": Budget(1024, "the topics have {total} partitions in all; at most {cap} are allowed"),
        "rate": Budget(1_000_000.0, "the producers send {total} msg/s in all; at most {cap} are allowed"),
        "consumers": Budget(256, "the groups have {total} consumers in all; at most {cap} are allowed"),
    }


@dataclass(frozen=True)
class Limits:
    """Caps that keep one person from exhausting the server."""

    max_nodes: int = 60
    max_edges: int = 200
    budgets: dict[str, Budget] = field(default_factory=_budgets)


LIMITS = Limits()
