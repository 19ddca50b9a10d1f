"""The per-process fan-out hub against a fake runner: ordering, windows, buffers, notices."""

from __future__ import annotations

import asyncio
import functools
import json
from typing import Any

from playground.live import hub, protocol
from playground.live.runner import Listener


class FakeRunner:
    """Publishes what a test tells it; its snapshot is whatever ``seq`` says, served slowly."""

    room = "room-fake-1"

    def __init__(self) -> None:
        self.listeners: list[Listener] = []
        self.seq = 0
        self.snapshot_gate: asyncio.Event | None = None

    def subscribe(self, listener: Listener):
        self.listeners.append(listener)
        return lambda: self.listeners.remove(listener)

    async def snapshot_body(self) -> tuple[int, str | None]:
        seq = self.seq
        if self.snapshot_gate is not None:
            await self.snapshot_gate.wait()
        return seq, protocol.dumps({"v": 1, "type": "snapshot", "seq": seq})

    def hello(self, controller: bool) -> str:
        return protocol.dumps({"v": 1, "type": "hello", "controller": controller})

    async def frame(self, seq: int | None = None) -> None:
        self.seq = self.seq + 1 if seq is None else seq
        text = protocol.dumps({"v": 1, "type": "frame", "seq": self.seq})
        for listener in list(self.listeners):
            await listener({"type": "room.frame", "seq": self.seq, "text": text})


class Socket:
    """What a viewer's ASGI send writes to."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    async def __call__(self, message: dict[str, Any]) -> None:
        self.sent.append(protocol_json(message["text"]))

    def seqs(self) -> list[tuple[str, int]]:
        return [(m["type"], m.get("seq", -1)) for m in self.sent]


def protocol_json(text: str) -> dict[str, Any]:
    return json.loads(text)


async def test_one_subscription_per_room_whatever_the_number_of_viewers():
    runner, h = FakeRunner(), hub.Hub()
    seats = [await h.join(runner.room, runner, Socket(), False) for _ in range(3)]
    assert len(runner.listeners) == 1
    for seat in seats:
        h.leave(seat)
    assert runner.listeners == [] and h.feeds == {}


async def test_every_viewer_gets_the_same_frame_text_in_order():
    runner, h = FakeRunner(), hub.Hub()
    alice, bob = Socket(), Socket()
    await h.join(runner.room, runner, alice, True)
    await h.join(runner.room, runner, bob, False)
    for _ in range(3):
        await runner.frame()
    assert alice.seqs() == bob.seqs() == [("snapshot", 0), ("frame", 1), ("frame", 2), ("frame", 3)]


async def test_frames_during_the_joining_snapshot_follow_it_in_order_without_duplicates():
    runner, h = FakeRunner(), hub.Hub()
    runner.seq = 5
    runner.snapshot_gate = asyncio.Event()
    socket = Socket()
    joining = asyncio.ensure_future(h.join(runner.room, runner, socket, False))
    await asyncio.sleep(0)
    await runner.frame(5)  # already in the snapshot (taken at seq 5)
    await runner.frame(6)
    await runner.frame(7)
    assert socket.sent == []  # nothing before the snapshot
    runner.snapshot_gate.set()
    await joining
    await runner.frame(8)
    assert socket.seqs() == [("snapshot", 5), ("frame", 6), ("frame", 7), ("frame", 8)]


async def test_a_viewer_past_its_ack_window_skips_frames_and_resumes_with_a_snapshot():
    runner, h = FakeRunner(), hub.Hub()
    slow, fast = Socket(), Socket()
    seat = await h.join(runner.room, runner, slow, False)
    await h.join(runner.room, runner, fast, False)
    await seat.ack(0)
    for _ in range(hub.WINDOW + 20):
        await runner.frame()
    assert len(fast.sent) == 1 + hub.WINDOW + 20  # never slowed by the slow one
    assert len(slow.sent) == 1 + hub.WINDOW and seat.state == hub.BEHIND
    assert seat.frames_skipped == 20

    await seat.ack(hub.WINDOW - hub.RESUME_BELOW - 1)  # not caught up enough yet
    assert seat.state == hub.BEHIND
    await seat.ack(hub.WINDOW)
    assert slow.sent[-1] == {"v": 1, "type": "snapshot", "seq": runner.seq, "controller": False}
    await runner.frame()
    assert slow.seqs()[-1] == ("frame", runner.seq) and seat.state == hub.LIVE


async def test_acks_beyond_what_was_written_acknowledge_nothing_more():
    runner, h = FakeRunner(), hub.Hub()
    seat = await h.join(runner.room, runner, Socket(), False)
    await seat.ack(10**9)
    assert seat.acked == 0
    for _ in range(hub.WINDOW + 1):
        await runner.frame()
    assert seat.state == hub.BEHIND


class FakeTransport:
    dataBuffer = b""
    offset = 0
    _tempDataLen = 0


class FakeProtocol:
    def __init__(self) -> None:
        self.transport = FakeTransport()


class FakeServer:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    async def handle_reply(self, protocol: FakeProtocol, message: dict[str, Any]) -> None:
        self.sent.append(message)


async def test_transport_backlog_reads_daphnes_twisted_buffer():
    server, proto = FakeServer(), FakeProtocol()
    send = functools.partial(server.handle_reply, proto)
    assert hub.transport_backlog(send) == 0
    proto.transport.dataBuffer, proto.transport.offset, proto.transport._tempDataLen = b"x" * 100, 40, 7
    assert hub.transport_backlog(send) == 67
    assert hub.transport_backlog(Socket()) is None


async def test_a_viewer_that_never_acks_is_bounded_by_the_transport_buffer():
    runner, h = FakeRunner(), hub.Hub()
    server, proto = FakeServer(), FakeProtocol()
    seat = await h.join(runner.room, runner, functools.partial(server.handle_reply, proto), False)
    await runner.frame()
    proto.transport._tempDataLen = hub.MAX_BUFFERED_BYTES + 1  # the client stopped reading
    for _ in range(5):
        await runner.frame()
    assert len(server.sent) == 2 and seat.state == hub.BEHIND and seat.frames_skipped == 5

    proto.transport._tempDataLen = 0  # it drained: the next frame brings it the latest snapshot
    await runner.frame()
    assert seat.resyncing is not None
    await seat.resyncing
    snapshot = protocol_json(server.sent[-1]["text"])
    assert snapshot == {"v": 1, "type": "snapshot", "seq": runner.seq, "controller": False}
    await runner.frame()
    assert seat.state == hub.LIVE and len(server.sent) == 4


async def test_notices_reach_every_viewer_outside_the_sequence():
    runner, h = FakeRunner(), hub.Hub()
    socket = Socket()
    await h.join(runner.room, runner, socket, False)
    text = protocol.notice("resumed", "the run moved to another worker")
    await runner.listeners[0]({"type": "room.message", "text": text})
    assert socket.sent[-1]["type"] == "notice" and socket.sent[-1]["code"] == "resumed"


async def test_a_gap_in_what_reaches_the_hub_becomes_a_snapshot_not_a_gap():
    runner, h = FakeRunner(), hub.Hub()
    socket = Socket()
    seat = await h.join(runner.room, runner, socket, False)
    await runner.frame()
    runner.seq = 4  # frames 2-4 were lost between the worker and this process
    await runner.frame()
    await seat.resyncing
    await runner.frame()
    assert socket.seqs() == [("snapshot", 0), ("frame", 1), ("snapshot", 5), ("frame", 6)]
