"""Redis Pub/Sub delivery rules (PUBLISH, SUBSCRIBE, PSUBSCRIBE; "Redis Pub/Sub" docs page).

- Fire and forget: PUBLISH hands the message to the clients subscribed *at that moment* and
  forgets it. Nothing is stored: a client that is not connected (or not yet subscribed)
  never gets it, and nothing redelivers it. PUBLISH returns how many clients received it.
- A client subscribed to the channel by name gets a ``message``; a client with a matching
  PSUBSCRIBE pattern gets a ``pmessage``; a client with both (or several matching patterns)
  gets the message once per matching subscription.
- Channel subscribers are served before pattern subscribers (pubsubPublishMessage).
"""

from __future__ import annotations

from typing import NamedTuple


def glob_match(pattern: str, string: str) -> bool:
    """Redis's glob-style matching (util.c stringmatchlen, case-sensitive), used by PSUBSCRIBE
    and KEYS: ``*`` any run of characters, ``?`` one character, ``[abc]`` / ``[^abc]`` /
    ``[a-z]`` a class, ``\\x`` the character x itself."""
    return _match(pattern, 0, string, 0)


def _match(p: str, pi: int, s: str, si: int) -> bool:
    plen, slen = len(p), len(s)
    while pi < plen and si < slen:
        c = p[pi]
        if c == "*":
            while pi + 1 < plen and p[pi + 1] == "*":
                pi += 1
            if pi + 1 == plen:
                return True
            while si < slen:
                if _match(p, pi + 1, s, si):
                    return True
                si += 1
            return False
        if c == "?":
            si += 1
        elif c == "[":
            pi += 1
            negate = pi < plen and p[pi] == "^"
            if negate:
                pi += 1
            matched = False
            while True:
                if pi < plen and p[pi] == "\\" and plen - pi >= 2:
                    pi += 1
                    if p[pi] == s[si]:
                        matched = True
                elif pi < plen and p[pi] == "]":
                    break
                elif pi >= plen:
                    pi -= 1
                    break
                elif plen - pi >= 3 and p[pi + 1] == "-":
                    lo, hi = sorted((p[pi], p[pi + 2]))
                    if lo <= s[si] <= hi:
                        matched = True
                    pi += 2
                elif p[pi] == s[si]:
                    matched = True
                pi += 1
            if negate:
                matched = not matched
            if not matched:
                return False
            si += 1
        else:
            if c == "\\" and plen - pi >= 2:
                pi += 1
            if p[pi] != s[si]:
                return False
            si += 1
        pi += 1
        if si == slen:
            while pi < plen and p[pi] == "*":
                pi += 1
            break
    return pi == plen and si == slen


class Subscription(NamedTuple):
    client: str
    channel: str | None = None  # SUBSCRIBE channel
    pattern: str | None = None  # PSUBSCRIBE pattern (when channel is None)


class Delivery(NamedTuple):
    client: str
    kind: str  # "message" | "pmessage"
    pattern: str | None


def deliveries(channel: str, subscriptions: list[Subscription], connected: set[str]) -> list[Delivery]:
    """What ``PUBLISH channel message`` sends, in order: one ``message`` per connected client
    subscribed to ``channel``, then one ``pmessage`` per (connected client, matching pattern).
    ``len()`` of the result is PUBLISH's reply. ``subscriptions`` are in the order made."""
    out = [Delivery(s.client, "message", None) for s in subscriptions
           if s.channel is not None and s.channel == channel and s.client in connected]
    out += [Delivery(s.client, "pmessage", s.pattern) for s in subscriptions
            if s.channel is None and s.pattern is not None and s.client in connected and glob_match(s.pattern, channel)]
    return out
