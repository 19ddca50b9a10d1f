"""The rooms of this process (embedded mode): who watches what, who holds the controls.

A room is one runner plus its viewers and its control key. Rooms are capped (MAX_ROOMS). A room
nobody watches is suspended at once (its simulation stops costing anything; viewers that come
back find the run where it was and it goes on) and forgotten after a grace period; when the cap
is reached, the room unwatched for longest is forgotten to make space, so ``room_full`` only
happens when MAX_ROOMS rooms are all watched. Each client (its address) may hold at most
MAX_SOCKETS_PER_CLIENT sockets and have created at most MAX_ROOMS_PER_CLIENT of the live rooms.

Rate limits live here too: ``MessageLimiter`` counts every incoming message of a connection
before it is parsed (one ``rate_limited`` notice per burst, close after repeated abuse), and a
per-room bucket shared by all its viewers limits controls (``Room.bucket``; in the scaled mode
the room's worker also keeps one across every Daphne process).

Which runner a room gets comes from ``playground.live.backends`` (settings ``FANOUT_RUNNER``).
"""

from __future__ import annotations

import asyncio
import hmac
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings

from playground.live import backends
from playground.live.runner import Runner

MAX_ROOMS = 50
MAX_SOCKETS_PER_CLIENT = 64
MAX_ROOMS_PER_CLIENT = 8
IDLE_GRACE_SECONDS = 120.0
MAX_KEY_LENGTH = 128
CONTROL_RATE_PER_SECOND = 20.0
CONTROL_BURST = 20
ROOM_CONTROL_RATE_PER_SECOND = 30.0  # all viewers of a room together
ROOM_CONTROL_BURST = 30


class RoomFull(RuntimeError):
    """No room for this: the process's room cap, or (scaled mode) no free worker slot."""


class ClientLimit(RuntimeError):
    """This client already holds as many sockets, or has created as many rooms, as allowed."""


class RateLimited(RuntimeError):
    """Too many control messages for this room."""


@dataclass
class Room:
    id: str
    runner: Runner
    key: str | None = None
    viewers: int = 0
    creator: str | None = None
    unwatched_since: float | None = None
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
        max_sockets_per_client: int = MAX_SOCKETS_PER_CLIENT,
        max_rooms_per_client: int = MAX_ROOMS_PER_CLIENT,
    ) -> None:
        if runner_factory is None:
            from playground.live.runner import EmbeddedRunner

            runner_factory = EmbeddedRunner
        self.max_rooms = max_rooms
        self.idle_grace = idle_grace
        self.runner_factory = runner_factory
        self.max_sockets_per_client = max_sockets_per_client
        self.max_rooms_per_client = max_rooms_per_client
        self.rooms: dict[str, Room] = {}
        self.sockets: dict[str, int] = {}  # per client address
        self._expiring: set[asyncio.Task[None]] = set()

    def get(self, room_id: str) -> Room | None:
        return self.rooms.get(room_id)

    def open_socket(self, client: str) -> None:
        """Count one more socket of ``client``; raise ClientLimit past its allowance."""
        held = self.sockets.get(client, 0)
        if held >= self.max_sockets_per_client:
            raise ClientLimit(
                f"this address already has {held} live connections open (the limit is "
                f"{self.max_sockets_per_client}); close a tab and try again"
            )
        self.sockets[client] = held + 1

    def close_socket(self, client: str) -> None:
        held = self.sockets.get(client, 0) - 1
        if held > 0:
            self.sockets[client] = held
        else:
            self.sockets.pop(client, None)

    async def join(self, room_id: str, key: str | None, client: str | None = None) -> tuple[Room, bool]:
        """Add a viewer; return the room and whether this viewer holds the controls.

        The first connection that brings a key to a room sets the room's key.
        Raises RoomFull when the room is new and MAX_ROOMS rooms are all watched (an unwatched
        room is forgotten to make space), ClientLimit when ``client`` created too many rooms.
        """
        if key is not None and not 0 < len(key) <= MAX_KEY_LENGTH:
            key = None
        room = self.rooms.get(room_id)
        if room is None:
            if client is not None:
                created = sum(1 for r in self.rooms.values() if r.creator == client)
                if created >= self.max_rooms_per_client:
                    # The client's own rooms nobody watches any more make space first (a tab
                    # that moved on to another topology, a reload).
                    await self._make_space(creator=client)
                    created = sum(1 for r in self.rooms.values() if r.creator == client)
                if created >= self.max_rooms_per_client:
                    raise ClientLimit(
                        f"this address already runs {created} rooms (the limit is "
                        f"{self.max_rooms_per_client}); close one and try again"
                    )
            if len(self.rooms) >= self.max_rooms:
                await self._make_space()
            if len(self.rooms) >= self.max_rooms:
                raise RoomFull(
                    f"this server already runs {len(self.rooms)} rooms, all watched: its "
                    f"configured maximum (FANOUT_MAX_ROOMS={self.max_rooms}); try again later"
                )
            room = Room(id=room_id, runner=self.runner_factory(room_id), creator=client)
            self.rooms[room_id] = room
            await room.runner.start()
        if room.idle_timer is not None:
            room.idle_timer.cancel()
            room.idle_timer = None
        room.viewers += 1
        if room.unwatched_since is not None:
            room.unwatched_since = None
            await _set_watched(room.runner, True)
        if room.key is None and key is not None:
            room.key = key
        return room, room.is_controller(key)

    async def _make_space(self, creator: str | None = None) -> None:
        """Forget the room unwatched for longest (of ``creator``, if given) to make space."""
        idle = [
            r
            for r in self.rooms.values()
            if r.viewers == 0 and r.unwatched_since is not None and (creator is None or r.creator == creator)
        ]
        if not idle:
            return
        oldest = min(idle, key=lambda r: r.unwatched_since or 0.0)
        if oldest.idle_timer is not None:
            oldest.idle_timer.cancel()
            oldest.idle_timer = None
        await self._expire(oldest)

    def leave(self, room: Room) -> None:
        room.viewers = max(0, room.viewers - 1)
        if room.viewers == 0 and room.idle_timer is None and self.rooms.get(room.id) is room:
            # Nobody watches: the simulation stops costing anything now, not after the grace.
            room.unwatched_since = time.monotonic()
            task = asyncio.ensure_future(_set_watched(room.runner, False))
            self._expiring.add(task)
            task.add_done_callback(self._expiring.discard)
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


async def _set_watched(runner: Runner, watched: bool) -> None:
    """Tell a runner whether anyone watches (runners without the hook just keep going)."""
    hook = getattr(runner, "set_watched", None)
    if hook is not None:
        await hook(watched)


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


MESSAGE_RATE_PER_SECOND = 20.0  # every message of one connection, acks included
MESSAGE_BURST = 40
QUIET_SECONDS = 1.0  # a burst of refused messages ends after this long without one
MAX_BURSTS = 3  # refused bursts within ABUSE_WINDOW before the connection is closed
ABUSE_WINDOW = 60.0
MAX_REFUSED_IN_BURST = 200  # a flood that never pauses is closed after this many refusals

# MessageLimiter verdicts
ALLOW = "allow"
NOTIFY = "notify"  # refused, and the first refusal of a burst: tell the client once
DROP = "drop"  # refused silently (the client was told at the start of the burst)
CLOSE = "close"  # repeated abuse: close the connection (4008: policy violation)


class MessageLimiter:
    """Counts every incoming message of one connection, before it is parsed.

    A message over the rate is refused; the first refusal of a burst gets one ``rate_limited``
    notice, the rest of the burst none (answering each would cost as much as the flood). A burst
    ends after QUIET_SECONDS without a refusal. More than MAX_BURSTS bursts within ABUSE_WINDOW,
    or MAX_REFUSED_IN_BURST refusals in one burst, is abuse: the connection is to be closed.
    """

    def __init__(
        self,
        rate: float = MESSAGE_RATE_PER_SECOND,
        burst: int = MESSAGE_BURST,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.bucket = TokenBucket(rate, burst, clock)
        self.clock = clock
        self.last_refused: float | None = None
        self.refused_in_burst = 0
        self.bursts: list[float] = []
        self.refused = 0

    def check(self) -> str:
        if self.bucket.allow():
            return ALLOW
        now = self.clock()
        self.refused += 1
        new_burst = self.last_refused is None or now - self.last_refused > QUIET_SECONDS
        self.last_refused = now
        if new_burst:
            self.refused_in_burst = 1
            self.bursts = [t for t in self.bursts if now - t < ABUSE_WINDOW] + [now]
            return CLOSE if len(self.bursts) > MAX_BURSTS else NOTIFY
        self.refused_in_burst += 1
        return CLOSE if self.refused_in_burst > MAX_REFUSED_IN_BURST else DROP


def room_bucket() -> TokenBucket:
    """The per-room control bucket (settings FANOUT_ROOM_CONTROL_RATE and _BURST)."""
    rate = float(getattr(settings, "FANOUT_ROOM_CONTROL_RATE", ROOM_CONTROL_RATE_PER_SECOND))
    burst = int(getattr(settings, "FANOUT_ROOM_CONTROL_BURST", ROOM_CONTROL_BURST))
    return TokenBucket(rate, burst)


_registry: RoomRegistry | None = None


def _setting(name: str, default: int) -> int:
    """A Django setting, else the environment variable of the same name, else ``default``."""
    value = getattr(settings, name, None)
    if value is None:
        value = os.environ.get(name) or default
    return int(value)


def get_registry() -> RoomRegistry:
    global _registry
    if _registry is None:
        _registry = RoomRegistry(
            max_rooms=int(getattr(settings, "FANOUT_MAX_ROOMS", MAX_ROOMS)),
            idle_grace=float(getattr(settings, "FANOUT_ROOM_IDLE_SECONDS", IDLE_GRACE_SECONDS)),
            runner_factory=backends.runner_factory(),
            max_sockets_per_client=_setting("FANOUT_MAX_SOCKETS_PER_CLIENT", MAX_SOCKETS_PER_CLIENT),
            max_rooms_per_client=_setting("FANOUT_MAX_ROOMS_PER_CLIENT", MAX_ROOMS_PER_CLIENT),
        )
    return _registry


async def reset_registry() -> None:
    """Stop every room and forget them (tests; each test has its own event loop)."""
    global _registry
    registry, _registry = _registry, None
    if registry is not None:
        await registry.close()
    from playground.live import procrunner, runner

    await procrunner.reset_host()
    runner._scheduler = None
