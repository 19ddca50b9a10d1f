"""Amazon SNS subscription filter policies on message attributes, as pure functions.

The rules, from the Amazon SNS Developer Guide ("Amazon SNS subscription filter policies",
"String value matching", "Numeric value matching", "Key matching", "AND/OR logic", "Filter
policy constraints"), for the default filter policy scope, ``MessageAttributes``:

- A policy is a JSON object: attribute name -> array of conditions. A subscription without a
  policy gets every message.
- AND across attribute names: every name in the policy must be satisfied. OR within an array:
  one condition of the array matching is enough. Message attributes the policy does not name
  are ignored.
- An attribute the message lacks satisfies no condition but ``{"exists": false}``, and that one
  only when the message has at least one attribute ("Key matching": "An empty set of attributes
  results in the filter not matching").
- Conditions: a string (exact, case-sensitive, against a String attribute or any element of a
  String.Array); a number (numeric equality with a Number attribute); ``{"prefix": s}``,
  ``{"suffix": s}``, ``{"equals-ignore-case": s}``; ``{"anything-but": v | [v...] |
  {"prefix": s}}`` (matches when the attribute is present and one of its values is not
  excluded: ``[100, 50]`` passes ``anything-but [100, 500]``); ``{"numeric": [op, n]}`` or a
  range ``[">", a, "<=", b]`` with ops ``= < <= > >=``; ``{"exists": true | false}``.
- Constraints: at most 5 attribute names; the product of the array lengths at most 150;
  numbers between -1e9 and 1e9, compared to 5 decimal places; Binary attributes are ignored.

The ``MessageBody`` scope, nested keys and ``$or`` are not modelled (say so in the policy's
error rather than accept them silently).
"""

from __future__ import annotations

import json
import math
from typing import Any

MAX_KEYS = 5
MAX_COMBINATIONS = 150
NUMERIC_LIMIT = 1e9
NUMERIC_OPS = ("=", "<", "<=", ">", ">=")

#: A message attribute: (data type, value); type "String" (str), "Number" (float) or
#: "String.Array" (tuple of str | float).
Attribute = tuple[str, Any]


class PolicyError(ValueError):
    """A filter policy SNS would refuse (InvalidParameter); the message says why."""


def parse_policy(raw: str | dict[str, Any] | None) -> dict[str, list[Any]] | None:
    """Validate a filter policy (its JSON text, or the object) and return it; None or an empty
    text means no policy (every message is delivered). Raises PolicyError."""
    if raw is None:
        return None
    if isinstance(raw, str):
        if not raw.strip():
            return None
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise PolicyError(f"is not valid JSON: {exc.msg} at column {exc.colno}") from None
    if not isinstance(raw, dict):
        raise PolicyError("must be a JSON object: attribute name -> array of conditions")
    if not raw:
        return None
    if len(raw) > MAX_KEYS:
        raise PolicyError(f"names {len(raw)} attributes; a filter policy may name at most {MAX_KEYS}")
    combinations = 1
    for name, conditions in raw.items():
        if name == "$or":
            raise PolicyError("$or is not modelled here: use one subscription per alternative")
        if not isinstance(conditions, list) or not conditions:
            raise PolicyError(f"{name}: must be a non-empty array of conditions (attribute scope has no nesting)")
        for condition in conditions:
            _check_condition(name, condition)
        combinations *= len(conditions)
    if combinations > MAX_COMBINATIONS:
        raise PolicyError(f"has {combinations} combinations of values; at most {MAX_COMBINATIONS} are allowed")
    return raw


def _check_number(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise PolicyError(f"{name}: {value!r} is not a number")
    if abs(value) > NUMERIC_LIMIT:
        raise PolicyError(f"{name}: {value} is outside -1,000,000,000 .. 1,000,000,000")


def _check_condition(name: str, condition: Any) -> None:
    if isinstance(condition, str):
        return
    if isinstance(condition, (int, float)) and not isinstance(condition, bool):
        _check_number(name, condition)
        return
    if not isinstance(condition, dict) or len(condition) != 1:
        raise PolicyError(f"{name}: {json.dumps(condition)} is not a condition (a string, a number or "
                          "an object with one operator)")
    (op, arg), = condition.items()
    if op in ("prefix", "suffix", "equals-ignore-case"):
        if not isinstance(arg, str):
            raise PolicyError(f"{name}: {op} takes a string")
    elif op == "exists":
        if not isinstance(arg, bool):
            raise PolicyError(f"{name}: exists takes true or false")
    elif op == "anything-but":
        values = arg if isinstance(arg, list) else [arg]
        if isinstance(arg, dict):
            if set(arg) != {"prefix"} or not isinstance(arg["prefix"], str):
                raise PolicyError(f"{name}: anything-but takes values or {{\"prefix\": string}}")
            return
        if not values:
            raise PolicyError(f"{name}: anything-but needs at least one value")
        for v in values:
            if not isinstance(v, str):
                _check_number(name, v)
    elif op == "numeric":
        if not isinstance(arg, list) or len(arg) not in (2, 4):
            raise PolicyError(f"{name}: numeric takes [op, number] or [op, number, op, number]")
        for i in range(0, len(arg), 2):
            if arg[i] not in NUMERIC_OPS:
                raise PolicyError(f"{name}: {arg[i]!r} is not one of {', '.join(NUMERIC_OPS)}")
            _check_number(name, arg[i + 1])
        if len(arg) == 4:
            if arg[0] not in (">", ">=") or arg[2] not in ("<", "<="):
                raise PolicyError(f"{name}: a numeric range is a lower bound (> or >=) then an upper one (< or <=)")
            if arg[1] > arg[3]:
                raise PolicyError(f"{name}: the range's lower bound is above its upper bound")
    else:
        raise PolicyError(f"{name}: unknown operator {op!r}")


def _n(value: float) -> float:
    """Numbers are compared to five digits after the decimal point ("Filter policy constraints")."""
    return round(float(value), 5)


def _values(attribute: Attribute) -> tuple[Any, ...]:
    kind, value = attribute
    return tuple(value) if kind == "String.Array" else (value,)


def _numeric_ok(value: float, spec: list[Any]) -> bool:
    v = _n(value)
    for i in range(0, len(spec), 2):
        op, bound = spec[i], _n(spec[i + 1])
        ok = {"=": v == bound, "<": v < bound, "<=": v <= bound, ">": v > bound, ">=": v >= bound}[op]
        if not ok:
            return False
    return True


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def condition_matches(condition: Any, attribute: Attribute | None, has_attributes: bool) -> bool:
    """Whether one condition of a policy's array accepts a message attribute (None: absent)."""
    if isinstance(condition, dict) and "exists" in condition:
        return (attribute is not None) if condition["exists"] else (attribute is None and has_attributes)
    if attribute is None:
        return False
    values = _values(attribute)
    if isinstance(condition, str):
        return any(isinstance(v, str) and v == condition for v in values)
    if _is_number(condition):
        return any(_is_number(v) and _n(v) == _n(condition) for v in values)
    (op, arg), = condition.items()
    strings = [v for v in values if isinstance(v, str)]
    if op == "prefix":
        return any(v.startswith(arg) for v in strings)
    if op == "suffix":
        return any(v.endswith(arg) for v in strings)
    if op == "equals-ignore-case":
        return any(v.lower() == arg.lower() for v in strings)
    if op == "numeric":
        return any(_is_number(v) and _numeric_ok(v, arg) for v in values)
    if op == "anything-but":
        if isinstance(arg, dict):
            return any(not v.startswith(arg["prefix"]) for v in strings)
        excluded = arg if isinstance(arg, list) else [arg]

        def excluded_value(v: Any) -> bool:
            return any((isinstance(x, str) and isinstance(v, str) and v == x)
                       or (_is_number(x) and _is_number(v) and _n(v) == _n(x)) for x in excluded)

        return any(not excluded_value(v) for v in values)
    return False


def matches(policy: dict[str, list[Any]] | None, attributes: dict[str, Attribute]) -> bool:
    """Whether a subscription with this policy receives a message with these attributes:
    AND across the policy's attribute names, OR within each name's array."""
    if policy is None:
        return True
    has_attributes = bool(attributes)
    for name, conditions in policy.items():
        attribute = attributes.get(name)
        if not any(condition_matches(c, attribute, has_attributes) for c in conditions):
            return False
    return True


def attribute_of(text: str) -> Attribute:
    """A message attribute from a producer's parameter text: a number is a Number, ``[a, b]``
    (JSON) a String.Array, anything else a String."""
    stripped = text.strip()
    if stripped.startswith("["):
        try:
            items = json.loads(stripped)
        except json.JSONDecodeError:
            items = None
        if isinstance(items, list) and all(isinstance(i, str) or _is_number(i) for i in items):
            return ("String.Array", tuple(items))
    try:
        number = float(stripped)
    except ValueError:
        return ("String", text)
    if math.isfinite(number) and stripped.lower() not in ("nan", "inf", "-inf", "infinity"):
        return ("Number", number)
    return ("String", text)


def summary(policy: dict[str, list[Any]] | None) -> str:
    """A short human reading of a policy, e.g. ``event=order_placed · price≥100`` (for views)."""
    if policy is None:
        return "all messages"
    parts = []
    for name, conditions in policy.items():
        alts = []
        for c in conditions:
            if isinstance(c, str):
                alts.append(c)
            elif _is_number(c):
                alts.append(f"{c:g}")
            else:
                (op, arg), = c.items()
                if op == "numeric":
                    alts.append(" ".join(f"{arg[i]}{arg[i + 1]:g}" for i in range(0, len(arg), 2)))
                elif op == "exists":
                    alts.append("present" if arg else "absent")
                elif op == "anything-but":
                    alts.append("not " + (f"{arg['prefix']}*" if isinstance(arg, dict) else
                                          "|".join(str(a) for a in (arg if isinstance(arg, list) else [arg]))))
                elif op == "prefix":
                    alts.append(f"{arg}*")
                elif op == "suffix":
                    alts.append(f"*{arg}")
                else:
                    alts.append(f"~{arg}")
        parts.append(f"{name}={'|'.join(alts)}")
    return " · ".join(parts)
