"""An AMQP exchange during a run: routes with routing.route, holds delayed messages."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from playground.engine.component import Runtime
from playground.engine.rabbitmq.flow import DROP_RETURNED, DROP_UNROUTABLE, RELEASE, bump, hops
from playground.engine.rabbitmq.queue import Message
from playground.engine.rabbitmq.routing import Binding, Exchange, route

if TYPE_CHECKING:
    from playground.engine.simulation import Simulation


class ExchangeRuntime(Runtime):
    """An exchange: routes each message to the queues its bindings select (routing.route)."""

    def __init__(self, node_id: str, exchange_type: str, bindings: list[Binding], alternate: str | None,
                 delayed: bool) -> None:
        self.id = node_id
        self.definition = Exchange(node_id, exchange_type, tuple(bindings), alternate)
        self.delayed = delayed
        self._map: dict[str, Exchange] | None = None
        self.received = 0
        self.routed = 0
        self.produced = 0  # messages that end here: unroutable, or held by a delayed exchange
        self.released = 0
        self.holding = 0
        self.dropped: dict[str, int] = {}

    def exchanges(self, sim: Simulation) -> dict[str, Exchange]:
        if self._map is None:
            self._map = {c.id: c.definition for c in sim.components.values() if isinstance(c, ExchangeRuntime)}
        return self._map

    def route(self, sim: Simulation, msg: Message, via: dict[str, str] | None = None) -> list[str]:
        return route(self.exchanges(sim), self.id, msg.routing_key, msg.headers, via=via)

    def publish(self, sim: Simulation, messages: list[Message], *, mandatory: bool = False) -> None:
        """basic.publish of a batch: each message routed on its own; flow shown per edge."""
        now = sim.kernel.now
        counts: dict[tuple[str, str], list[Any]] = {}
        for msg in messages:
            self.received += 1
            delay = _delay_of(msg) if self.delayed else 0
            if delay > 0:
                self.produced += 1
                self.holding += 1
                sim.kernel.schedule(now + delay / 1000.0, RELEASE, self.id, (msg, mandatory))
                continue
            self._deliver(sim, msg, mandatory, counts, released=False)
        self._emit_routes(sim, counts)

    def _deliver(self, sim: Simulation, msg: Message, mandatory: bool, counts: dict[tuple[str, str], list[Any]],
                 *, released: bool) -> None:
        via: dict[str, str] = {}
        queues = self.route(sim, msg, via)
        if not queues:
            if not released:
                self.produced += 1
            bump(self.dropped, DROP_RETURNED if mandatory else DROP_UNROUTABLE)
            if sim.record_flow:
                sim.emit({"k": "amqp_drop", "t": sim.kernel.now, "node": self.id, "reason": "unroutable",
                          "n": 1, "key": msg.routing_key})
            return
        if released:
            self.released += 1
        self.routed += 1
        for q in queues:
            for hop in hops(via, q):
                counts.setdefault(hop, [0, msg])[0] += 1
        for q in queues:
            sim.components[q].enqueue(sim, msg)

    def _emit_routes(self, sim: Simulation, counts: dict[tuple[str, str], list[Any]]) -> None:
        if not sim.record_flow:
            return
        for (src, dst), (n, msg) in counts.items():
            sim.emit({"k": "amqp_route", "t": sim.kernel.now, "src": src, "dst": dst, "n": n,
                      "key": msg.routing_key, "p": msg.priority or 0})

    def on_event(self, sim: Simulation, kind: int, arg: Any) -> None:
        msg, mandatory = arg
        self.holding -= 1
        counts: dict[tuple[str, str], list[Any]] = {}
        self._deliver(sim, msg, mandatory, counts, released=True)
        self._emit_routes(sim, counts)

    def streams(self, sim: Simulation) -> list[dict[str, Any]]:
        return [{"exchange": self.id, "queue": None, "produced": self.produced, "acknowledged": self.released,
                 "in_flight": 0, "waiting": self.holding, "dead_lettered": 0, "dropped": dict(self.dropped)}]

    def metrics(self, sim: Simulation) -> dict[str, Any]:
        return {"type": self.definition.type, "delayed": self.delayed, "received": self.received,
                "routed": self.routed, "unroutable": sum(self.dropped.values()), "holding": self.holding,
                "bindings": len(self.definition.bindings)}

def _delay_of(msg: Message) -> int:
    """The x-delay header in ms (the delayed-message exchange plugin); 0 if absent or invalid."""
    raw = (msg.headers or {}).get("x-delay")
    try:
        return max(0, int(raw)) if raw is not None else 0
    except ValueError:
        return 0
