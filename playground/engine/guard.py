"""The first gate of every document: shape limits checked before validation goes further.

``parse_document`` runs this for every entry point (POST /t/, save, /import/, the websocket
``load``, ``manage.py simulate``), so a document that would exhaust the parser, overflow a
number or break the JSON encoder later is refused here with the field named:

- total size: at most ``MAX_DOCUMENT_BYTES`` of JSON (checked by the caller on text, here on
  an already parsed value);
- nesting: at most ``MAX_DEPTH`` levels of objects and lists (a valid document has about 5).
  Python's json parser recurses, so 10,000 nested ``[`` would end in RecursionError; that is
  caught and reported the same way;
- numbers: an integer within JavaScript's exact range (|n| <= 2**53 - 1, what the editor can
  hold), a number literal of at most ``MAX_NUMBER_CHARS`` characters (Python refuses to parse
  an integer of more than 4,300 digits with a ValueError, and a 5,000-digit literal is a
  denial of service on int()), finite floats only (no NaN, Infinity or 1e999);
- strings and keys: valid Unicode text that UTF-8 can encode: a lone surrogate such as
  "\\ud800" parses in Python but cannot be encoded, so every later frame of a room holding it
  would fail.

The walk is iterative (no recursion on user data) and stops at ``MAX_REPORTED`` problems.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from playground.engine.registry import FieldError

MAX_DEPTH = 16
MAX_NUMBER_CHARS = 32
MAX_SAFE_INTEGER = 2**53 - 1
MAX_REPORTED = 50

_SURROGATE = re.compile("[\ud800-\udfff]")


class _Refused:
    """A literal the parser must not turn into a value; the walk reports it with its path."""

    __slots__ = ("message",)

    def __init__(self, message: str) -> None:
        self.message = message


def _parse_int(text: str) -> int | _Refused:
    if len(text) > MAX_NUMBER_CHARS:
        return _Refused(f"is a number of {len(text.lstrip('-')):,} digits; at most "
                        f"{MAX_NUMBER_CHARS} characters are allowed")
    return int(text)


def _parse_float(text: str) -> float | _Refused:
    if len(text) > MAX_NUMBER_CHARS:
        return _Refused(f"is a number of {len(text):,} characters; at most {MAX_NUMBER_CHARS} are allowed")
    return float(text)


def _parse_constant(name: str) -> _Refused:
    return _Refused(f"is {name}, which JSON does not allow; give a finite number")


def loads(text: str) -> Any:
    """``json.loads`` that never builds a huge integer and reports over-deep nesting.

    Returns the value with refused literals left in place (``check`` names them); raises
    ValueError (json.JSONDecodeError) for text that is not JSON, and DocumentError-ready
    FieldError lists through ``TooDeep`` for nesting the parser cannot follow.
    """
    try:
        return json.loads(text, parse_int=_parse_int, parse_float=_parse_float,
                          parse_constant=_parse_constant)
    except RecursionError:
        raise TooDeep() from None


class TooDeep(Exception):
    """The JSON text nests deeper than the parser can follow."""

    error = FieldError("", f"is nested too deeply; at most {MAX_DEPTH} levels of objects and lists are allowed")


def check(value: Any) -> list[FieldError]:
    """Every problem of ``value`` (a parsed document) by path; empty when it may go on.

    A quick pass without paths first (a 200 KB document in a few milliseconds); only a value
    that fails it is walked again to name each field.
    """
    if _clean(value):
        return []
    return _problems(value)


def _clean(value: Any) -> bool:
    stack: list[tuple[Any, int]] = [(value, 0)]
    pop, push = stack.pop, stack.append
    while stack:
        item, depth = pop()
        kind = type(item)
        if kind is str:
            if not item.isascii() and _SURROGATE.search(item):
                return False
        elif kind is dict:
            if depth >= MAX_DEPTH:
                return False
            for key, child in item.items():
                if type(key) is not str or (not key.isascii() and _SURROGATE.search(key)):
                    return False
                push((child, depth + 1))
        elif kind is list:
            if depth >= MAX_DEPTH:
                return False
            for child in item:
                push((child, depth + 1))
        elif kind is int:
            if not -MAX_SAFE_INTEGER <= item <= MAX_SAFE_INTEGER:
                return False
        elif kind is float:
            if not math.isfinite(item):
                return False
        elif not (kind is bool or item is None):
            return False
    return True


def _problems(value: Any) -> list[FieldError]:
    errors: list[FieldError] = []
    # (value, path, depth): an explicit stack, so the walk itself cannot overflow.
    stack: list[tuple[Any, str, int]] = [(value, "", 0)]
    while stack and len(errors) < MAX_REPORTED:
        item, path, depth = stack.pop()
        if isinstance(item, (dict, list)):
            if depth >= MAX_DEPTH:
                errors.append(FieldError(path, f"is nested too deeply; at most {MAX_DEPTH} levels of "
                                               "objects and lists are allowed"))
                continue
            if isinstance(item, dict):
                for key, child in reversed(list(item.items())):
                    if not isinstance(key, str):
                        errors.append(FieldError(path, "has a key that is not text"))
                        continue
                    child_path = f"{path}.{key}" if path else key
                    if _SURROGATE.search(key):
                        errors.append(FieldError(_printable(child_path), _surrogate_message(key)))
                        continue
                    stack.append((child, child_path, depth + 1))
            else:
                for i in range(len(item) - 1, -1, -1):
                    stack.append((item[i], f"{path}[{i}]", depth + 1))
        elif isinstance(item, str):
            if _SURROGATE.search(item):
                errors.append(FieldError(path, _surrogate_message(item)))
        elif isinstance(item, bool) or item is None:
            continue
        elif isinstance(item, int):
            if not -MAX_SAFE_INTEGER <= item <= MAX_SAFE_INTEGER:
                errors.append(FieldError(path, f"is an integer beyond +-{MAX_SAFE_INTEGER:,} "
                                               "(2**53 - 1), more than the editor can hold exactly"))
        elif isinstance(item, float):
            if not math.isfinite(item):
                errors.append(FieldError(path, "must be a finite number"))
        elif isinstance(item, _Refused):
            errors.append(FieldError(path, item.message))
        else:
            errors.append(FieldError(path, f"holds a {type(item).__name__}, which is not a JSON value"))
    return errors


def _surrogate_message(text: str) -> str:
    found = _SURROGATE.search(text)
    code = f"\\u{ord(found.group()):04x}" if found else "?"
    return (f"contains a lone surrogate ({code}), which is not text: it cannot be encoded "
            "as UTF-8")


def _printable(path: str) -> str:
    return _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", path)
