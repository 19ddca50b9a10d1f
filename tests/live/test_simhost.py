"""Issue 19 points 1 and 2: rooms simulate in the simulation process, off Daphne's event loop.

End to end through the consumer, with FANOUT_SIM_PROCESS on: the child process builds, steps,
measures and encodes; this process's loop must stay responsive whatever one room does."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest

from playground.live import procrunner, rooms
from tests.live.helpers import KEY, ROOM, WAIT, starter


def heavy() -> dict[str, Any]:
    """5 producers at 200k msg/s, 1,024 partitions, 256 consumers (the issue's document)."""
    return {
        "fanout": 1,
        "name": "heavy",
        "nodes": [
            *({"id": f"p{i}", "type": "producer", "params": {"rate": 200000, "keys": 100000}} for i in range(5)),
            *({"id": f"topic{j}", "type": "kafka_topic", "params": {"partitions": 256}} for j in range(4)),
            *({"id": f"group{j}", "type": "consumer_group", "params": {"consumers": 64}} for j in range(4)),
        ],
        "edges": [
            *({"id": f"e{i}", "source": f"p{i}", "target": f"topic{i % 4}"} for i in range(5)),
            *({"id": f"g{j}", "source": f"topic{j}", "target": f"group{j}"} for j in range(4)),
        ],
    }


@pytest.fixture(autouse=True)
async def in_process(settings) -> None:
    settings.FANOUT_SIM_PROCESS = True
    await rooms.reset_registry()
    yield
    await rooms.reset_registry()


async def test_a_room_runs_in_the_simulation_process(viewers):
    alice = viewers(ROOM, KEY)
    await alice.connect()
    await alice.send({"type": "load", "document": starter()})
    snapshot = await alice.receive_type("snapshot")
    assert snapshot["t"] == 0 and snapshot["controller"] is True
    host = procrunner.get_host()
    assert host.pid is not None and rooms.get_registry().rooms[ROOM].runner.host is host
    await alice.send({"type": "control", "action": "run"})
    frames = await alice.receive_until(lambda m: m["type"] == "frame" and m["seq"] >= snapshot["seq"] + 5)
    seqs = [m["seq"] for m in frames if m["type"] == "frame"]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))
    await alice.send({"type": "command", "command": {"op": "nonsense"}})
    error = await alice.receive_type("error")
    assert error["code"] == "bad_command"
    bob = viewers(ROOM)
    late = await bob.connect()  # a late joiner's snapshot comes from the child
    assert late["type"] == "snapshot" and late["controller"] is False and late["t"] > 0


async def test_the_loop_stays_responsive_while_a_heavy_room_resets_and_steps(viewers):
    """The issue's attack, bounded: the heavy document loaded, reset 10 times, stepped 20 times,
    while another room keeps its frames and this process's loop answers within 100 ms."""
    other = viewers("room-other-1", "other-key")
    await other.connect()
    await other.send({"type": "load", "document": starter()})
    await other.receive_type("snapshot")
    await other.send({"type": "control", "action": "run"})
    await other.receive_type("frame")

    attacker = viewers(ROOM, KEY)
    await attacker.connect()
    await attacker.send({"type": "load", "document": heavy()})
    for _ in range(10):
        await attacker.send({"type": "control", "action": "reset"})
    for _ in range(20):
        await attacker.send({"type": "control", "action": "step"})

    lags: list[float] = []
    other_frames = 0
    loop = asyncio.get_running_loop()
    until = loop.time() + 6.0
    while loop.time() < until:
        asked = time.perf_counter()
        await asyncio.sleep(0.01)
        lags.append(time.perf_counter() - asked - 0.01)
        while not await other.nothing(0.001):
            message = json.loads(await other.comm.receive_from())
            other_frames += message["type"] == "frame"
    lags.sort()
    p99 = lags[int(len(lags) * 0.99)] * 1000
    print(f"loop lag p99 {p99:.1f} ms, max {lags[-1] * 1000:.1f} ms; other room {other_frames} frames in 6 s")
    assert lags[int(len(lags) * 0.99)] < 0.1
    assert other_frames >= 6 * 0.5 / 0.02 * 0.1  # the other room keeps going (ticks of 20 ms here)


async def test_a_dead_simulation_process_is_told_to_the_viewers_and_replaced(viewers):
    alice = viewers(ROOM, KEY)
    await alice.connect()
    await alice.send({"type": "load", "document": starter()})
    await alice.receive_type("snapshot")
    host = procrunner.get_host()
    old = host.pid
    host._proc.kill()  # type: ignore[union-attr]
    notice = await alice.receive_type("notice", timeout=WAIT)
    assert notice["code"] == "restarted"
    await alice.send({"type": "load", "document": starter()})
    assert (await alice.receive_type("snapshot"))["t"] == 0
    assert host.pid not in (None, old)
