"""A policy node during a run: shows which queues and exchanges it applies to."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from playground.engine.component import Runtime
from playground.engine.rabbitmq.policy import Policy, effective_policy

if TYPE_CHECKING:
    from playground.engine.simulation import Simulation


class PolicyRuntime(Runtime):
    """Holds the policy; its view lists what it applies to (it may lose to a higher priority)."""

    def __init__(self, sim: Simulation, node_id: str, policy: Policy) -> None:
        self.id = node_id
        self.policy = policy

    def metrics(self, sim: Simulation) -> dict[str, Any]:
        policies = [c.policy for c in sim.components.values() if isinstance(c, PolicyRuntime)]
        applies: list[str] = []
        overridden: list[str] = []
        for node in sim.document.nodes:
            kind = {"amqp_queue": "queue", "amqp_exchange": "exchange"}.get(node.type)
            if kind is None or not self.policy.matches(node.id, kind):
                continue
            winner = effective_policy(policies, node.id, kind)
            (applies if winner is self.policy else overridden).append(node.id)
        return {"applies_to": applies, "overridden": overridden, "definition": dict(self.policy.definition),
                "priority": self.policy.priority}
