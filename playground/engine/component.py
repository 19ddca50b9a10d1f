"""What a node's behaviour looks like to the simulation: the runtime protocol.

A node type (registry.NodeType) builds its runtime with ``build(sim, node)``. The simulation
knows nothing of any particular system: it builds runtimes in ``build_order``, hands each event
to the runtime it targets, asks runtimes for their accounting streams and views, and routes
commands by the ``commands`` table each runtime class declares. Adding a system is adding a
package with node types and runtimes; this file and simulation.py do not change.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from playground.engine.registry import Param
    from playground.engine.simulation import Simulation


class CommandError(ValueError):
    """A command that cannot be applied; the message says why."""


@dataclass(frozen=True)
class CommandSpec:
    """What a command acts on and carries, besides ``op`` and ``node``: the simulation checks a
    command against it, and the browser draws its buttons and fields from it (a command without a
    spec acts on the whole node and carries nothing).

    ``item``: the key naming the one item of the node it acts on (``"member"``, ``"broker"``); the
    items are the list ``Runtime.items`` names in the node's metrics, each with an ``id`` and a
    ``state``. ``args``: the values it carries, declared, bounded and defaulted like parameters.
    ``valid_in``: the item states in which it applies (empty: any); the engine refuses the others.
    """

    item: str | None = None
    args: tuple[Param, ...] = ()
    valid_in: tuple[str, ...] = ()


#: a command that acts on one member (a consumer of a group, a channel of a consumer node)
ON_MEMBER = CommandSpec(item="member")


class Runtime:
    """Base of node runtimes. Subclasses override what they need."""

    id: str
    #: command op -> name of a method ``(self, sim, command) -> None`` that applies it
    commands: ClassVar[dict[str, str]] = {}
    #: optional button text per op (default: from the op's name, "add_consumer" -> "Add consumer")
    command_labels: ClassVar[dict[str, str]] = {}
    #: op -> what the command acts on and carries (see CommandSpec); absent: the whole node, nothing
    command_specs: ClassVar[dict[str, CommandSpec]] = {}
    #: the key of the node's metrics holding its items (members, channels, brokers), if it has any
    items: ClassVar[str | None] = None
    #: keys of the node's metrics that are histories (lists of past happenings with simulated
    #: times, newest last): a frame carries their newest entries, a late joiner all it kept
    histories: ClassVar[tuple[str, ...]] = ()

    def on_event(self, sim: Simulation, kind: int, arg: Any) -> None:
        raise AssertionError(f"{type(self).__name__} {self.id} schedules no events")

    def streams(self, sim: Simulation) -> list[dict[str, Any]]:
        """Accounting streams this runtime owns, each a dict with ``produced, acknowledged,
        in_flight, waiting, dead_lettered, dropped`` (a dict reason -> count) and names of what
        it is (``topic``, ``group`` ...). produced = the rest, at every instant."""
        return []

    def metrics(self, sim: Simulation) -> dict[str, Any]:
        """The node's JSON-ready view. Counters named ``sent``, ``duplicates``, ``retried``,
        ``processed`` and ``lag`` are summed into the run's totals."""
        return {}


def describe_commands(runtime_class: type | None) -> dict[str, dict[str, Any]]:
    """op -> {label, help, item, args, valid_in} for a runtime class's commands: the label its
    ``command_labels`` gives (or one made from the op's name), the help the first paragraph of its
    method's docstring, and its CommandSpec (args as parameter declarations)."""
    out: dict[str, dict[str, Any]] = {}
    table: dict[str, str] = getattr(runtime_class, "commands", {})
    labels: dict[str, str] = getattr(runtime_class, "command_labels", {})
    specs: dict[str, CommandSpec] = getattr(runtime_class, "command_specs", {})
    for op in sorted(table):
        doc = (getattr(getattr(runtime_class, table[op], None), "__doc__", None) or "").strip()
        spec = specs.get(op, CommandSpec())
        out[op] = {"label": labels.get(op) or op.replace("_", " ").capitalize(),
                   "help": " ".join(doc.split("\n\n")[0].replace("``", "").split()),
                   "item": spec.item, "args": [p.to_dict() for p in spec.args], "valid_in": list(spec.valid_in)}
    return out


def check_command(runtime: Runtime, op: str, command: dict[str, Any]) -> dict[str, Any]:
    """The command with its declared args coerced (strings from a form accepted, bounds checked);
    CommandError naming the field for a refused value. Which item it names, and whether that item
    can take it now, the runtime's method decides (some pick one when none is named)."""
    spec = runtime.command_specs.get(op)
    if spec is None:
        return command
    coerced = dict(command)
    for param in spec.args:
        if command.get(param.name) is not None:  # None: not given (the method's default)
            value, message = param.coerce(command[param.name])
            if message is not None:
                raise CommandError(f"{op}: {param.name} {message}")
            coerced[param.name] = value
    return coerced
