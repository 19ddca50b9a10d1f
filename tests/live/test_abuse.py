"""Issue 19 points 2 and 3: rate limits before parsing, closing abusers, bounded snapshots,
collapsed resyncs, unwatched rooms suspended at once, per-client limits, honest room_full."""

from __future__ import annotations

import asyncio
import functools
import json
from typing import Any

import pytest

from playground.live import hub, protocol, rooms
from playground.live.rooms import ClientLimit, MessageLimiter, RoomFull, RoomRegistry
from tests.live.helpers import ROOM, WAIT, Viewer
from tests.live.test_hub import FakeRunner


def test_limiter_notifies_once_per_burst_and_closes_after_repeated_bursts():
    now = [0.0]
    limiter = MessageLimiter(rate=10, burst=5, clock=lambda: now[0])
    verdicts = [limiter.check() for _ in range(20)]
    assert verdicts[:5] == [rooms.ALLOW] * 5
    assert verdicts[5] == rooms.NOTIFY and set(verdicts[6:]) == {rooms.DROP}
    for _ in range(rooms.MAX_BURSTS - 1):  # more bursts, each after a quiet second
        now[0] += rooms.QUIET_SECONDS + 0.5
        verdicts = [limiter.check() for _ in range(30)]
        assert verdicts.count(rooms.NOTIFY) == 1 and rooms.CLOSE not in verdicts
    now[0] += rooms.QUIET_SECONDS + 0.5
    assert rooms.CLOSE in [limiter.check() for _ in range(30)]


def test_limiter_closes_a_flood_that_never_pauses():
    limiter = MessageLimiter(rate=10, burst=5, clock=lambda: 0.0)
    verdicts = [limiter.check() for _ in range(5 + rooms.MAX_REFUSED_IN_BURST + 1)]
    assert verdicts[-1] == rooms.CLOSE and verdicts.count(rooms.NOTIFY) == 1


async def test_a_flood_of_tiny_invalid_messages_is_refused_before_parsing_then_closed(viewers):
    """200,000 one-byte messages in the issue; a bounded 1,000 here: each costs a token check,
    the replies stop at the burst, one notice, then the socket is closed (4008, policy)."""
    bob = viewers(ROOM)
    await bob.connect()
    for _ in range(1000):
        await bob.comm.send_to(text_data="x")
    replies: list[dict[str, Any]] = []
    while True:
        out = await bob.comm.receive_output(timeout=WAIT)
        if out["type"] == "websocket.close":
            assert out["code"] == 4008  # 1008's twin: Daphne refuses 1008 from an application
            break
        replies.append(json.loads(out["text"]))
    bad = [m for m in replies if m.get("code") == "bad_message"]
    limited = [m for m in replies if m.get("code") == "rate_limited"]
    assert len(bad) <= rooms.MESSAGE_BURST + 2 and len(limited) == 1


class Transport:
    """A Twisted transport that never drains (a client that does not read)."""

    def __init__(self) -> None:
        self.dataBuffer = b""
        self.offset = 0
        self._tempDataLen = 0


class Protocol:
    def __init__(self) -> None:
        self.transport = Transport()


async def _stalled_send(proto: Protocol, message: dict[str, Any]) -> None:
    proto.transport._tempDataLen += len(message["text"])


class BigRunner(FakeRunner):
    """Snapshots of 300 KB, as a big topology's."""

    async def snapshot_body(self):
        return self.seq, protocol.dumps({"v": 1, "type": "snapshot", "seq": self.seq, "pad": "x" * 300_000})


async def test_resync_flood_from_a_reader_that_never_reads_stays_within_the_buffer_cap():
    runner, h = BigRunner(), hub.Hub()
    proto = Protocol()
    send = functools.partial(_stalled_send, proto)
    seat = await h.join(runner.room, runner, send, False)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 3 * hub.RESYNC_INTERVAL
    while loop.time() < deadline:  # 20 resyncs a second, with frames going on
        seat.request_resync()
        await runner.frame()
        await asyncio.sleep(0.05)
    held = proto.transport._tempDataLen
    assert held <= hub.MAX_BUFFERED_BYTES + 310_000
    assert seat.snapshots <= 4  # collapsed: at most one per RESYNC_INTERVAL, then behind
    h.leave(seat)


async def test_resyncs_collapse_and_each_is_answered():
    runner, h = FakeRunner(), hub.Hub()
    sent: list[dict[str, Any]] = []

    async def send(message):
        sent.append(json.loads(message["text"]))

    seat = await h.join(runner.room, runner, send, False)
    for _ in range(50):
        seat.request_resync()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT
    while sum(m["type"] == "snapshot" for m in sent) < 2:
        assert loop.time() < deadline
        await asyncio.sleep(0.05)
    await asyncio.sleep(hub.RESYNC_INTERVAL * 1.5)
    assert sum(m["type"] == "snapshot" for m in sent) == 2  # the join's, then one for all 50
    h.leave(seat)


class WatchedRunner:
    def __init__(self, room: str) -> None:
        self.room = room
        self.watched: list[bool] = []

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        pass

    async def set_watched(self, watched: bool) -> None:
        self.watched.append(watched)


async def test_an_unwatched_room_is_suspended_at_once_and_resumes_on_return():
    registry = RoomRegistry(runner_factory=WatchedRunner, idle_grace=60)  # type: ignore[arg-type]
    room, _ = await registry.join("room-aaaaaa", None)
    registry.leave(room)
    await asyncio.sleep(0.05)
    assert room.runner.watched == [False]  # not after 120 s: now
    await registry.join("room-aaaaaa", None)
    assert room.runner.watched == [False, True]
    await registry.close()


async def test_room_full_only_when_every_room_is_watched_and_says_so():
    registry = RoomRegistry(runner_factory=WatchedRunner, max_rooms=2, idle_grace=60)  # type: ignore[arg-type]
    a, _ = await registry.join("room-aaaaaa", None)
    await registry.join("room-bbbbbb", None)
    registry.leave(a)  # unwatched: forgotten to make space
    await registry.join("room-cccccc", None)
    assert set(registry.rooms) == {"room-bbbbbb", "room-cccccc"}
    with pytest.raises(RoomFull, match="FANOUT_MAX_ROOMS=2"):
        await registry.join("room-dddddd", None)
    await registry.close()


async def test_per_client_limits_on_sockets_and_rooms():
    registry = RoomRegistry(
        runner_factory=WatchedRunner, max_sockets_per_client=2, max_rooms_per_client=1  # type: ignore[arg-type]
    )
    registry.open_socket("10.0.0.1")
    registry.open_socket("10.0.0.1")
    with pytest.raises(ClientLimit, match="limit is 2"):
        registry.open_socket("10.0.0.1")
    registry.open_socket("10.0.0.2")  # another client is not affected
    registry.close_socket("10.0.0.1")
    registry.open_socket("10.0.0.1")
    await registry.join("room-aaaaaa", None, "10.0.0.1")
    with pytest.raises(ClientLimit, match="already runs 1 rooms"):
        await registry.join("room-bbbbbb", None, "10.0.0.1")
    room, _ = await registry.join("room-aaaaaa", None, "10.0.0.1")  # joining an existing room is fine
    await registry.join("room-bbbbbb", None, "10.0.0.2")
    registry.leave(room)
    registry.leave(room)  # nobody watches 10.0.0.1's room now: it makes space for its next one
    await registry.join("room-cccccc", None, "10.0.0.1")
    assert "room-aaaaaa" not in registry.rooms
    await registry.close()


async def test_a_viewer_that_leaves_and_comes_back_finds_the_run_where_it_was(presenter: Viewer, viewers):
    await presenter.send({"type": "control", "action": "run"})
    await presenter.receive_until(lambda m: m["type"] == "frame" and m["t"] > 0.3)
    await presenter.disconnect()
    runner = rooms.get_registry().rooms[ROOM].runner
    await asyncio.sleep(0.1)
    t_left = runner.now
    await asyncio.sleep(0.3)
    assert runner.now == t_left  # suspended: nobody simulates for nobody
    back = viewers(ROOM)
    snapshot = await back.connect()
    assert snapshot["type"] == "snapshot" and snapshot["state"]["running"]
    await back.receive_until(lambda m: m["type"] == "frame" and m["t"] > t_left)
