"""The rooms of this process (embedded mode): who watches what, who holds the controls.

A room is one runner plus its viewers and its control key. Rooms are capped (MAX_ROOMS), and a
room nobody watches is stopped after a grace period, so a presenter whose page reloads finds
the run where it was. Rate limits on control messages live here too (TokenBucket): one per
connection, and one per room shared by all its viewers (``Room.bucket``; in the scaled mode the
room's worker also keeps one across every Daphne process).

Which runner a room gets comes from ``playground.live.backends`` (settings ``FANOUT_RUNNER``).
"""

from __future__ import annotations

import asyncio
import hmac
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings

from playground.live import backends
from playground.live.runner import Runner

MAX_ROOMS = 50
IDLE_GRACE_SECONDS = 120.0
MAX_KEY_LENGTH = 128
CONTROL_RATE_PER_SECOND = 20.0
CONTROL_BURST = 20
ROOM_CONTROL_RATE_PER_SECOND = 30.0  # all viewers of a room together
ROOM_CONTROL_BURST = 30


class RoomFull(RuntimeError):
    """No room for this: the process's room cap, or (scaled mode) no free worker slot."""


class RateLimited(RuntimeError):
    """Too many control messages for this room."""


@dataclass
class Room:
    id: str
    runner: Runner
    key: str | None = None
    viewers: int = 0
    bucket: TokenBucket = field(default_factory=lambda: room_bucket())
    idle_timer: asyncio.TimerHandle | None = field(default=None, repr=False)

    def is_controller(self, key: str | None) -> bool:
        if key is None or self.key is None:
            return False
        return hmac.compare_digest(key.encode("utf-8"), self.key.encode("utf-8"))


RunnerFactory = Callable[[str], Runner]


class RoomRegistry:
    def __init__(
        self,
        *,
        max_rooms: int = MAX_ROOMS,
        idle_grace: float = IDLE_GRACE_SECONDS,
        runner_factory: RunnerFactory | None = None,
    ) -> None:
        if runner_factory is None:
            from playground.live.runner import EmbeddedRunner

            runner_factory = EmbeddedRunner
        self.max_rooms = max_rooms
        self.idle_grace = idle_grace
        self.runner_factory = runner_factory
        self.rooms: dict[str, Room] = {}
        self._expiring: set[asyncio.Task[None]] = set()

    def get(self, room_id: str) -> Room | None:
        return self.rooms.get(room_id)

    async def join(self, room_id: str, key: str | None) -> tuple[Room, bool]:
        """Add a viewer; return the room and whether this viewer holds the controls.

        The first connection that brings a key to a room sets the room's key.
        Raises RoomFull when the room is new and the process already runs MAX_ROOMS rooms.
        """
        if key is not None and not 0 < len(key) <= MAX_KEY_LENGTH:
            key = None
        room = self.rooms.get(room_id)
        if room is None:
            if len(self.rooms) >= self.max_rooms:
                raise RoomFull(f"this server already runs {self.max_rooms} rooms; try again later")
            room = Room(id=room_id, runner=self.runner_factory(room_id))
            self.rooms[room_id] = room
            await room.runner.start()
        if room.idle_timer is not None:
            room.idle_timer.cancel()
            room.idle_timer = None
        room.viewers += 1
        if room.key is None and key is not None:
            room.key = key
        return room, room.is_controller(key)

    def leave(self, room: Room) -> None:
        room.viewers = max(0, room.viewers - 1)
        if room.viewers == 0 and room.idle_timer is None and self.rooms.get(room.id) is room:
            loop = asyncio.get_running_loop()
            room.idle_timer = loop.call_later(self.idle_grace, self._expire_soon, room)

    def _expire_soon(self, room: Room) -> None:
        room.idle_timer = None
        task = asyncio.ensure_future(self._expire(room))
        self._expiring.add(task)
        task.add_done_callback(self._expiring.discard)

    async def _expire(self, room: Room) -> None:
        if room.viewers == 0 and self.rooms.get(room.id) is room:
            del self.rooms[room.id]
            await room.runner.stop()

    async def close(self) -> None:
        """Stop every room (process shutdown, tests)."""
        rooms, self.rooms = list(self.rooms.values()), {}
        for room in rooms:
            if room.idle_timer is not None:
                room.idle_timer.cancel()
            await room.runner.stop()
        for task in list(self._expiring):
            task.cancel()


class TokenBucket:
    """``rate`` tokens a second up to ``burst``; each allowed message takes one."""

    def __init__(
        self,
        rate: float = CONTROL_RATE_PER_SECOND,
        burst: int = CONTROL_BURST,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rate = rate
        self.burst = burst
        self.clock = clock
        self.tokens = float(burst)
        self.updated = clock()

    def allow(self) -> bool:
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


def room_bucket() -> TokenBucket:
    """The per-room control bucket (settings FANOUT_ROOM_CONTROL_RATE and _BURST)."""
    rate = float(getattr(settings, "FANOUT_ROOM_CONTROL_RATE", ROOM_CONTROL_RATE_PER_SECOND))
    burst = int(getattr(settings, "FANOUT_ROOM_CONTROL_BURST", ROOM_CONTROL_BURST))
    return TokenBucket(rate, burst)


_registry: RoomRegistry | None = None


def get_registry() -> RoomRegistry:
    global _registry
    if _registry is None:
        _registry = RoomRegistry(
            max_rooms=int(getattr(settings, "FANOUT_MAX_ROOMS", MAX_ROOMS)),
            idle_grace=float(getattr(settings, "FANOUT_ROOM_IDLE_SECONDS", IDLE_GRACE_SECONDS)),
            runner_factory=backends.runner_factory(),
        )
    return _registry


async def reset_registry() -> None:
    """Stop every room and forget them (tests; each test has its own event loop)."""
    global _registry
    registry, _registry = _registry, None
    if registry is not None:
        await registry.close()
