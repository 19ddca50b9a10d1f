"""Subscription filters: the Pub/Sub filter language on message attributes.

"Filter messages from a subscription" (Pub/Sub docs): a subscription with a filter delivers only
the messages whose attributes match it; Pub/Sub acknowledges the others automatically. The
language, on attributes only (never the data):

- ``attributes:KEY``              the message has the attribute KEY
- ``attributes.KEY = "value"``    it has KEY with exactly that value
- ``attributes.KEY != "value"``   it does not have KEY with that value (a message without KEY
                                  matches)
- ``hasPrefix(attributes.KEY, "prefix")``   it has KEY and the value starts with the prefix
- ``NOT expr`` (or ``-expr``), ``expr AND expr``, ``expr OR expr``, parentheses. AND and OR
  are not mixed without parentheses ("use parentheses" to combine them).

Keys and values are case-sensitive; a key with characters other than letters, digits, ``-`` and
``_`` is written as a string literal (``attributes."iana.org/language_tag" = "en"``). A filter
is at most 256 bytes and cannot change after the subscription is created. The Go emulator of
Pub/Sub (google-cloud-go, pubsub/pstest/filtering.go) evaluates the operators the same way,
``!=`` as the negation of ``=``.
"""

from __future__ import annotations

import re
from typing import Union

MAX_FILTER_BYTES = 256

# An expression: ("has", key) | ("eq", key, value) | ("ne", key, value) | ("prefix", key, value)
# | ("not", expr) | ("and", [expr...]) | ("or", [expr...])
Expr = tuple[Union[str, "Expr", list["Expr"]], ...]

_TOKEN = re.compile(r'\s*(?:(?P<str>"(?:[^"\\]|\\.)*")|(?P<op>!=|=|:|\(|\)|,|\.|-)|(?P<word>[A-Za-z0-9_]+))')
_KEY = re.compile(r"[A-Za-z0-9_-]+")


class FilterError(ValueError):
    """A filter Pub/Sub would refuse (the subscription is not created)."""


def _unquote(literal: str) -> str:
    body = literal[1:-1]
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), body)


def _tokens(text: str) -> list[tuple[str, str, int]]:
    out = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            raise FilterError(f"unexpected character {text[pos:].strip()[:1]!r} at position {pos + 1}")
        kind = m.lastgroup or ""
        out.append((kind, m.group(kind), m.start(kind)))
        pos = m.end()
    return out


class _Parser:
    def __init__(self, text: str) -> None:
        self.toks = _tokens(text)
        self.i = 0

    def peek(self) -> tuple[str, str, int] | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self, value: str | None = None, kind: str | None = None) -> tuple[str, str, int]:
        tok = self.peek()
        if tok is None:
            raise FilterError(f"the filter ends where {value or kind or 'more'} was expected")
        if (value is not None and tok[1] != value) or (kind is not None and tok[0] != kind):
            wanted = value or {"str": 'a "quoted" value', "word": "a name"}.get(kind or "", kind)
            raise FilterError(f"expected {wanted} at position {tok[2] + 1}, found {tok[1]!r}")
        self.i += 1
        return tok

    def expression(self) -> Expr:
        terms = [self.unary()]
        joiner = None
        while (tok := self.peek()) is not None and tok[0] == "word" and tok[1] in ("AND", "OR"):
            if joiner is not None and tok[1] != joiner:
                raise FilterError(f"AND and OR are combined without parentheses at position {tok[2] + 1}: "
                                  "use parentheses to group them")
            joiner = tok[1]
            self.i += 1
            terms.append(self.unary())
        if joiner is None:
            return terms[0]
        return ("and" if joiner == "AND" else "or", terms)

    def unary(self) -> Expr:
        tok = self.peek()
        if tok is not None and (tok[1] == "-" or (tok[0] == "word" and tok[1] == "NOT")):
            self.i += 1
            return ("not", self.unary())
        if tok is not None and tok[1] == "(":
            self.i += 1
            inner = self.expression()
            self.take(")")
            return inner
        return self.comparison()

    def key(self) -> str:
        tok = self.take()
        if tok[0] == "str":
            return _unquote(tok[1])
        if tok[0] == "word" and _KEY.fullmatch(tok[1]):
            key = tok[1]
            # keys may contain hyphens: attributes.my-key
            while (nxt := self.peek()) is not None and nxt[1] == "-" and self.i + 1 < len(self.toks) \
                    and self.toks[self.i + 1][0] == "word" and self.toks[self.i + 1][2] == nxt[2] + 1:
                self.i += 1
                key += "-" + self.take(kind="word")[1]
            return key
        raise FilterError(f"expected an attribute key at position {tok[2] + 1}, found {tok[1]!r}")

    def value(self) -> str:
        return _unquote(self.take(kind="str")[1])

    def comparison(self) -> Expr:
        tok = self.take()
        if tok[0] == "word" and tok[1] == "hasPrefix":
            self.take("(")
            self.take("attributes")
            self.take(".")
            key = self.key()
            self.take(",")
            prefix = self.value()
            self.take(")")
            return ("prefix", key, prefix)
        if tok[1] != "attributes":
            raise FilterError(f"expected attributes, hasPrefix, NOT or ( at position {tok[2] + 1}, found {tok[1]!r}")
        sep = self.take()
        if sep[1] == ":":
            return ("has", self.key())
        if sep[1] != ".":
            raise FilterError(f"expected : or . after attributes at position {sep[2] + 1}")
        key = self.key()
        op = self.take()
        if op[1] not in ("=", "!="):
            raise FilterError(f"expected = or != at position {op[2] + 1}, found {op[1]!r}")
        return ("eq" if op[1] == "=" else "ne", key, self.value())


def parse_filter(text: str) -> Expr | None:
    """Parse a subscription filter; None for the empty filter (every message matches).
    Raises FilterError, naming the position, for what Pub/Sub would refuse."""
    if len(text.encode()) > MAX_FILTER_BYTES:
        raise FilterError(f"a filter is at most {MAX_FILTER_BYTES} bytes")
    if not text.strip():
        return None
    parser = _Parser(text)
    expr = parser.expression()
    tok = parser.peek()
    if tok is not None:
        raise FilterError(f"unexpected {tok[1]!r} at position {tok[2] + 1}")
    return expr


def matches(expr: Expr | None, attributes: dict[str, str] | None) -> bool:
    """Whether a message with these attributes is delivered on a subscription with this filter
    (the operators as the module docstring lists them)."""
    if expr is None:
        return True
    attrs = attributes or {}
    op = expr[0]
    if op == "has":
        return expr[1] in attrs
    if op == "eq":
        return attrs.get(str(expr[1])) == expr[2]
    if op == "ne":
        return attrs.get(str(expr[1])) != expr[2]
    if op == "prefix":
        value = attrs.get(str(expr[1]))
        return value is not None and value.startswith(str(expr[2]))
    if op == "not":
        return not matches(expr[1], attrs)  # type: ignore[arg-type]
    parts: list[Expr] = expr[1]  # type: ignore[assignment]
    if op == "and":
        return all(matches(e, attrs) for e in parts)
    return any(matches(e, attrs) for e in parts)
