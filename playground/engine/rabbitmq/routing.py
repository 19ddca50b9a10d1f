"""AMQP 0-9-1 exchange routing, as pure functions.

What a binding is and how each exchange type matches a message against it, following RabbitMQ
(the AMQP 0-9-1 Model Explained, "Exchanges and Exchange Types"; the Tutorials "Routing",
"Topics"; and the headers exchange's documented x-match rules). A message is routed to the
*set* of queues its exchange's bindings select, each queue once however many bindings (or
exchange-to-exchange paths) lead to it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

EXCHANGE_TYPES = ("direct", "topic", "fanout", "headers")
X_MATCH = ("all", "any", "all-with-x", "any-with-x")


@dataclass(frozen=True)
class Binding:
    """A binding from an exchange to a destination (a queue, or another exchange).

    ``key`` is the binding key (direct, topic); ``x_match`` and ``headers`` are the binding
    arguments of a headers exchange (``x-match`` and the headers to compare; a value of None is
    an argument without a value, AMQP field type void: presence only).
    """

    destination: str
    key: str = ""
    x_match: str = "all"
    headers: Mapping[str, str | None] = field(default_factory=dict)


def topic_words(key: str) -> list[str]:
    """Split a routing or binding key into words on ".".

    The empty key has no word at all (RabbitMQ's topic trie splits ``<<>>`` into ``[]``), so a
    binding of ``#`` matches it and ``*`` does not; ``"a..b"`` has an empty middle word.
    """
    return key.split(".") if key else []


def topic_matches(binding_key: str, routing_key: str) -> bool:
    """Topic exchange rule: ``*`` stands for exactly one word, ``#`` for zero or more words;
    every other word must be equal. (RabbitMQ Tutorial 5, "Topics"; rabbit_exchange_type_topic.)
    """
    pattern = topic_words(binding_key)
    words = topic_words(routing_key)
    # Backtracking over '#' positions; keys are short, so a memo keeps it linear in practice.
    memo: dict[tuple[int, int], bool] = {}

    def match(i: int, j: int) -> bool:
        if (i, j) in memo:
            return memo[(i, j)]
        if i == len(pattern):
            result = j == len(words)
        elif pattern[i] == "#":
            result = match(i + 1, j) or (j < len(words) and match(i, j + 1))
        elif j == len(words):
            result = False
        else:
            result = (pattern[i] == "*" or pattern[i] == words[j]) and match(i + 1, j + 1)
        memo[(i, j)] = result
        return result

    return match(0, 0)


def direct_matches(binding_key: str, routing_key: str) -> bool:
    """Direct exchange rule: the routing key equals the binding key, byte for byte."""
    return binding_key == routing_key


def header_matches(name: str, wanted: str | None, headers: Mapping[str, str]) -> bool:
    """One binding argument against a message's headers: present with an equal value, or, for
    an argument without a value (AMQP type void), merely present whatever its value
    (rabbit_exchange_type_headers headers_match/5: "a 'no value' in a pattern field is supposed
    to mean simple presence of the corresponding data field")."""
    return name in headers and (wanted is None or headers[name] == wanted)


def headers_match(x_match: str, binding_headers: Mapping[str, str | None],
                  message_headers: Mapping[str, str] | None) -> bool:
    """Headers exchange rule (rabbit_exchange_type_headers headers_match/5).

    ``all`` (the default): every binding header is present in the message with an equal value
    (or merely present, for an argument without a value); ``any``: at least one is. Binding
    arguments whose name starts with ``x-`` take no part in matching (nor does ``x-match``
    itself); since RabbitMQ 3.10, ``all-with-x`` and ``any-with-x`` compare ``x-`` arguments too
    (presence-only ones included). ``all`` over no header at all matches every message; ``any``
    over none matches nothing. The routing key is ignored.
    """
    headers = message_headers or {}
    with_x = x_match.endswith("-with-x")
    wanted = [(k, v) for k, v in binding_headers.items() if k != "x-match" and (with_x or not k.startswith("x-"))]
    if x_match.startswith("any"):
        return any(header_matches(k, v, headers) for k, v in wanted)
    return all(header_matches(k, v, headers) for k, v in wanted)


def parse_present(text: str) -> list[str]:
    """Names of the presence-only binding arguments: comma- or newline-separated."""
    return [p.strip() for p in text.replace("\n", ",").split(",") if p.strip()]


def binding_matches(exchange_type: str, binding: Binding, routing_key: str,
                    headers: Mapping[str, str] | None) -> bool:
    """Whether one binding of an exchange of this type selects a message."""
    if exchange_type == "fanout":
        return True  # a fanout exchange ignores the routing key
    if exchange_type == "direct":
        return direct_matches(binding.key, routing_key)
    if exchange_type == "topic":
        return topic_matches(binding.key, routing_key)
    if exchange_type == "headers":
        return headers_match(binding.x_match, binding.headers, headers)
    raise ValueError(f"unknown exchange type {exchange_type!r}")


def match_bindings(exchange_type: str, bindings: Iterable[Binding], routing_key: str,
                   headers: Mapping[str, str] | None) -> list[str]:
    """Destinations selected by an exchange's bindings, each once, in binding order."""
    out: list[str] = []
    for binding in bindings:
        if binding.destination not in out and binding_matches(exchange_type, binding, routing_key, headers):
            out.append(binding.destination)
    return out


@dataclass(frozen=True)
class Exchange:
    """An exchange as routing sees it: its type, its bindings, its alternate exchange."""

    name: str
    type: str
    bindings: tuple[Binding, ...] = ()
    alternate: str | None = None


def route(exchanges: Mapping[str, Exchange], exchange: str, routing_key: str,
          headers: Mapping[str, str] | None, via: dict[str, str] | None = None) -> list[str]:
    """The queues a message published to ``exchange`` reaches (rabbit_exchange:route).

    Bindings to exchanges (exchange-to-exchange bindings) are followed, each exchange visited
    once, so a cycle of exchanges terminates; a queue reachable by several paths gets one copy.
    A message that an exchange routes nowhere goes to that exchange's alternate exchange, if it
    has one ("Alternate Exchanges"). Destinations not in ``exchanges`` are queues. ``via``, if
    given, is filled with destination -> the exchange that routed to it (for drawing the path).
    """
    queues: list[str] = []
    seen: set[str] = set()
    pending = [exchange]
    while pending:
        name = pending.pop(0)
        if name in seen or name not in exchanges:
            continue
        seen.add(name)
        ex = exchanges[name]
        hits = match_bindings(ex.type, ex.bindings, routing_key, headers)
        if not hits and ex.alternate:
            hits = [ex.alternate]
        for dest in hits:
            if via is not None and dest not in via and dest != exchange:
                via[dest] = name
            if dest in exchanges:
                pending.append(dest)
            elif dest not in queues:
                queues.append(dest)
    return queues
