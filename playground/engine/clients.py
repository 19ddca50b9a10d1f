"""What the clients of every system share.

A publisher or producer of any system sends at a Poisson rate in ticks: each tick schedules the
next one and draws how many messages arrive in it, n ~ Poisson(rate x tick), with the client's own
seeded random source (kernel.Kernel.rng). The Kafka producer draws its arrivals its own way (per
batch, in kafka/producer.py); every other system's client calls ``poisson_tick``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from playground.engine.component import CommandError

if TYPE_CHECKING:
    from playground.engine.simulation import Simulation

M = TypeVar("M")


def poisson_tick(sim: Simulation, runtime_id: str, kind: int, tick: float, rng: Any, rate: float) -> int:
    """Schedule the client's next tick (event ``kind`` for ``runtime_id``), then draw how many
    messages arrive in this one. The order (schedule, then draw) is part of the determinism."""
    sim.kernel.schedule(sim.kernel.now + tick, kind, runtime_id)
    return int(rng.poisson(rate * tick))


def pick_member(owner: str, live: Sequence[M], wanted: Any, verb: str, names: Callable[[M], tuple[Any, ...]],
                noun: str = "running consumer") -> M:
    """The member of a consumer pool a command names (``member``: any of its ``names``), or the
    newest live one when it names none: what remove, kill and the like act on. A CommandError
    says what is missing, in the pool's own words (``noun``)."""
    if wanted is None:
        if not live:
            raise CommandError(f"{owner!r} has no {noun} to {verb}")
        return live[-1]
    for member in live:
        if wanted in names(member):
            return member
    raise CommandError(f"{owner!r} has no {noun} {wanted!r} to {verb}")
