"""What a node's behaviour looks like to the simulation: the runtime protocol.

A node type (registry.NodeType) builds its runtime with ``build(sim, node)``. The simulation
knows nothing of any particular system: it builds runtimes in ``build_order``, hands each event
to the runtime it targets, asks runtimes for their accounting streams and views, and routes
commands by the ``commands`` table each runtime class declares. Adding a system is adding a
package with node types and runtimes; this file and simulation.py do not change.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from playground.engine.simulation import Simulation


class CommandError(ValueError):
    """A command that cannot be applied; the message says why."""


class Runtime:
    """Base of node runtimes. Subclasses override what they need."""

    id: str
    #: command op -> name of a method ``(self, sim, command) -> None`` that applies it
    commands: ClassVar[dict[str, str]] = {}
    #: optional button text per op (default: from the op's name, "add_consumer" -> "Add consumer")
    command_labels: ClassVar[dict[str, str]] = {}

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


def describe_commands(runtime_class: type | None) -> dict[str, dict[str, str]]:
    """op -> {label, help} for a runtime class's commands: the label its ``command_labels``
    gives (or one made from the op's name), the help the first line of its method's docstring."""
    out: dict[str, dict[str, str]] = {}
    table: dict[str, str] = getattr(runtime_class, "commands", {})
    labels: dict[str, str] = getattr(runtime_class, "command_labels", {})
    for op in sorted(table):
        doc = (getattr(getattr(runtime_class, table[op], None), "__doc__", None) or "").strip()
        out[op] = {"label": labels.get(op) or op.replace("_", " ").capitalize(),
                   "help": " ".join(doc.split("\n\n")[0].replace("``", "").split())}
    return out
