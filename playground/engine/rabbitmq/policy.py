"""RabbitMQ policies and how they combine with queue arguments, as pure functions.

What a policy is ("Policies" guide; rabbit_policy.erl, 3.10): a name, a regular expression
``pattern`` matched against queue (or exchange) names, what it ``apply-to`` (queues,
exchanges or all), a ``priority`` and a ``definition`` of keys (dead-letter-exchange,
message-ttl, max-length ...). At most one policy applies to a queue: of the policies that match
it, the one with the highest priority (rabbit_policy match/2 sorts by priority_comparator/2;
between equal priorities the choice is not defined, here the first by name).

A key set both by the effective policy and by the queue's own ``x-`` argument resolves per key
and per queue type (rabbit_queue_type_util args_policy_lookup/3 with a resolver):

- classic queues (rabbit_amqqueue_process process_args_policy/1): the *lower* value wins for
  expires, message-ttl, max-length and max-length-bytes (res_min); the *queue argument* wins for
  dead-letter-exchange, dead-letter-routing-key and overflow (res_arg);
- quorum queues (rabbit_quorum_queue ra_machine_config/1, dead_letter_handler/2): lower value for
  max-length, max-length-bytes, delivery-limit and message-ttl; the *policy* wins for overflow
  and expires (policyHasPrecedence); the queue argument for dead-letter-exchange,
  dead-letter-routing-key and dead-letter-strategy (queueArgHasPrecedence);
- streams (rabbit_stream_queue): the policy wins for max-length-bytes and max-age.

An exchange's alternate-exchange argument wins over a policy's (rabbit_policy get_arg/3).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

APPLY_TO = ("all", "queues", "exchanges")
MIN, ARG, POLICY = "min", "arg", "policy"

#: key -> how a policy value and a queue argument combine, per queue type
RESOLVE: dict[str, dict[str, str]] = {
    "classic": {"expires": MIN, "dead-letter-exchange": ARG, "dead-letter-routing-key": ARG,
                "message-ttl": MIN, "max-length": MIN, "max-length-bytes": MIN, "overflow": ARG},
    "quorum": {"max-length": MIN, "overflow": POLICY, "max-length-bytes": MIN, "delivery-limit": MIN,
               "expires": POLICY, "message-ttl": MIN, "dead-letter-exchange": ARG,
               "dead-letter-routing-key": ARG, "dead-letter-strategy": ARG},
    "stream": {"max-length-bytes": POLICY, "max-age": POLICY},
}


@dataclass(frozen=True)
class Policy:
    """One policy: ``definition`` maps RabbitMQ keys (``max-length`` ...) to values."""

    name: str
    pattern: str
    apply_to: str = "all"
    priority: int = 0
    definition: Mapping[str, Any] = field(default_factory=dict)

    def matches(self, name: str, kind: str) -> bool:
        """rabbit_policy matches/2: the kind fits apply-to and the pattern is found in the name
        (re:run: anywhere in it, unless anchored)."""
        fits = self.apply_to == "all" or self.apply_to == kind + "s"
        return fits and re.search(self.pattern, name) is not None


def effective_policy(policies: Iterable[Policy], name: str, kind: str) -> Policy | None:
    """The one policy that applies to a queue or exchange: the matching one of highest priority."""
    matching = sorted((p for p in policies if p.matches(name, kind)), key=lambda p: (-p.priority, p.name))
    return matching[0] if matching else None


def resolve(queue_type: str, key: str, arg: Any, policy: Any) -> Any:
    """The effective value of one key from the queue's x- argument and the policy's value (None
    when not set); a key that this queue type does not take from policies keeps the argument."""
    if policy is None:
        return arg
    if arg is None:
        return policy if key in RESOLVE.get(queue_type, {}) else None
    rule = RESOLVE.get(queue_type, {}).get(key, ARG)
    if rule == MIN:
        return min(arg, policy)
    return policy if rule == POLICY else arg


def effective_arguments(queue_type: str, arguments: Mapping[str, Any], policy: Policy | None) -> dict[str, Any]:
    """Every key of the queue's arguments and of its policy's definition, resolved (None = not set)."""
    definition = policy.definition if policy is not None else {}
    keys = [*arguments, *(k for k in definition if k not in arguments)]
    return {k: resolve(queue_type, k, arguments.get(k), definition.get(k)) for k in keys}


def check_pattern(pattern: str) -> str | None:
    """An error message if the pattern is not a valid regular expression, else None."""
    try:
        re.compile(pattern)
    except re.error as exc:
        return f"is not a valid regular expression: {exc}"
    return None
