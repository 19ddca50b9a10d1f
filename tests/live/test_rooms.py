"""The room registry: caps, keys, idle rooms, rate limits."""

from __future__ import annotations

import asyncio

import pytest

from playground.live.rooms import Room, RoomFull, RoomRegistry, TokenBucket
from tests.live.helpers import WAIT


class FakeRunner:
    def __init__(self, room: str) -> None:
        self.room = room
        self.started = False
        self.stopped = False

    async def start(self) -> None:
        self.started = True

    async def stop(self) -> None:
        self.stopped = True


def registry(**kwargs) -> RoomRegistry:
    return RoomRegistry(runner_factory=FakeRunner, **kwargs)  # type: ignore[arg-type]


async def test_first_key_brought_to_a_room_becomes_its_key():
    rooms = registry()
    _, bob_controls = await rooms.join("room-12345", None)
    room, alice_controls = await rooms.join("room-12345", "alice-key")
    _, charlie_controls = await rooms.join("room-12345", "charlie-key")
    _, alice_again = await rooms.join("room-12345", "alice-key")
    assert (bob_controls, alice_controls, charlie_controls, alice_again) == (
        False,
        True,
        False,
        True,
    )
    assert room.viewers == 4 and room.runner.started


async def test_new_rooms_beyond_the_cap_are_refused_but_existing_ones_admit_viewers():
    rooms = registry(max_rooms=2)
    await rooms.join("room-aaaaaa", None)
    await rooms.join("room-bbbbbb", None)
    with pytest.raises(RoomFull):
        await rooms.join("room-cccccc", None)
    room, _ = await rooms.join("room-aaaaaa", None)
    assert room.viewers == 2


async def wait_until(condition, timeout: float = WAIT) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        assert loop.time() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


async def test_a_room_nobody_watches_stops_after_the_grace_period():
    rooms = registry(idle_grace=0.05)
    room, _ = await rooms.join("room-12345", None)
    rooms.leave(room)
    await wait_until(lambda: rooms.get("room-12345") is None)
    assert room.runner.stopped


async def test_a_viewer_returning_within_the_grace_period_keeps_the_room():
    rooms = registry(idle_grace=0.2)
    room, _ = await rooms.join("room-12345", "alice-key")
    rooms.leave(room)
    again, controls = await rooms.join("room-12345", "alice-key")
    assert again is room and controls
    await asyncio.sleep(0.3)  # past the grace period: nothing may fire now
    assert rooms.get("room-12345") is room and not room.runner.stopped
    await rooms.close()


def test_only_the_exact_key_controls():
    room = Room(id="room-12345", runner=FakeRunner("room-12345"), key="k" * 10)  # type: ignore[arg-type]
    assert room.is_controller("k" * 10) and not room.is_controller("k" * 11)
    assert not room.is_controller(None)


async def test_an_overlong_key_neither_sets_the_key_nor_controls():
    rooms = registry()
    room, controls = await rooms.join("room-12345", "k" * 500)
    assert room.key is None and not controls


def test_token_bucket_allows_a_burst_then_the_rate():
    now = [0.0]
    bucket = TokenBucket(rate=20, burst=20, clock=lambda: now[0])
    assert sum(bucket.allow() for _ in range(30)) == 20
    now[0] += 0.5
    assert sum(bucket.allow() for _ in range(30)) == 10
