"""Dead-lettering rules of RabbitMQ (docs: "Dead Letter Exchanges"; rabbit_dead_letter).

A message is dead-lettered when a consumer rejects or nacks it without requeue (reason
``rejected``), when it expires (``expired``), or when its queue's length limit drops it or,
with ``reject-publish-dlx``, refuses it (``maxlen``). It is republished to the queue's
dead-letter exchange with the dead-letter routing key if the queue has one, else with its own
routing key; its per-message expiration is removed (kept as ``original-expiration``) so it
does not expire again; and its ``x-death`` header records the event.

These functions follow RabbitMQ 3.10, the server the differential test runs against.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

REASONS = ("rejected", "expired", "maxlen", "delivery_limit")


@dataclass(frozen=True)
class Death:
    """One entry of the ``x-death`` header: a (queue, reason) pair and how often it happened."""

    queue: str
    reason: str
    count: int
    exchange: str
    routing_keys: tuple[str, ...]
    time: float
    original_expiration: float | None = None  # the message's own TTL, seconds

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"queue": self.queue, "reason": self.reason, "count": self.count,
                                  "exchange": self.exchange, "routing-keys": list(self.routing_keys),
                                  "time": self.time}
        if self.original_expiration is not None:
            out["original-expiration"] = self.original_expiration
        return out


def record_death(deaths: tuple[Death, ...], queue: str, reason: str, exchange: str,
                 routing_keys: tuple[str, ...], now: float,
                 original_expiration: float | None = None) -> tuple[Death, ...]:
    """The ``x-death`` array after one more dead-lettering (rabbit_dead_letter's
    update_x_death_header, 3.10): the entry of the same queue and reason, if any, has its
    ``count`` incremented and moves to the front, keeping its other fields (time, exchange,
    routing keys of its first occurrence); otherwise a new entry with count 1 goes in front.
    Most recent first."""
    for i, death in enumerate(deaths):
        if death.queue == queue and death.reason == reason:
            bumped = replace(death, count=death.count + 1)
            return (bumped, *deaths[:i], *deaths[i + 1:])
    new = Death(queue, reason, 1, exchange, routing_keys, now, original_expiration)
    return (new, *deaths)


@dataclass(frozen=True)
class FirstDeath:
    """The ``x-first-death-queue``, ``-reason`` and ``-exchange`` headers."""

    queue: str
    reason: str
    exchange: str


def first_death(current: FirstDeath | None, deaths: tuple[Death, ...], queue: str, reason: str,
                exchange: str) -> FirstDeath | None:
    """The x-first-death-* headers after one more dead-lettering (rabbit_dead_letter
    update_x_death_header, 3.10): they are set only when the message has no ``x-death`` yet, from
    that first event (the queue, the reason and the exchange the message had been published to),
    and never change afterwards, even when the x-death entry of that first event moves (an entry
    that happens again goes to the front) or the history is reordered. ``deaths`` is the history
    *before* this event."""
    if deaths:
        return current
    return FirstDeath(queue, reason, exchange)


def is_cycle(queue: str, deaths: tuple[Death, ...]) -> bool:
    """Whether dead-lettering to ``queue`` closes a fully automatic cycle (rabbit_dead_letter
    is_cycle, applied to the already updated ``x-death``): the queue appears in the history and
    no event from the newest back to (and including) its own entry was a rejection. Such a
    message is dropped instead of being delivered to that queue ("Dead Letter Exchanges": "It is
    possible to form a cycle of message dead-lettering ... messages will be dropped if there was
    no rejections in the entire cycle")."""
    for i, death in enumerate(deaths):
        if death.queue == queue:
            return all(d.reason != "rejected" for d in deaths[: i + 1])
    return False


def dead_letter_routing_keys(original: tuple[str, ...], dead_letter_routing_key: str | None) -> tuple[str, ...]:
    """The routing keys a dead-lettered message is republished with: the queue's
    ``x-dead-letter-routing-key`` if set, else the message's own routing keys."""
    return (dead_letter_routing_key,) if dead_letter_routing_key else original
