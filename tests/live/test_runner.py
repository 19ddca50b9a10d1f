"""The embedded runner without sockets: pacing, budget, bounded frames."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from playground import engine
from playground.live import runner as runner_module
from playground.live.runner import SIM_SECONDS_PER_TICK, EmbeddedRunner
from tests.live.helpers import WAIT, rated, reference, starter


class Collector:
    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []

    async def __call__(self, message: dict[str, Any]) -> None:
        self.messages.append(message)

    def frames(self) -> list[dict[str, Any]]:
        return [json.loads(m["text"]) for m in self.messages if m["type"] == "room.frame"]


async def loaded(
    document: dict[str, Any], tick_seconds: float = 0.1
) -> tuple[EmbeddedRunner, Collector]:
    out = Collector()
    runner = EmbeddedRunner("runner-test", publish=out, tick_seconds=tick_seconds)
    await runner.load(engine.parse_document(document))
    return runner, out


async def frame_bytes_at(rate: float, steps: int = 3) -> tuple[int, dict[str, Any]]:
    runner, out = await loaded(rated(rate))
    for _ in range(steps):
        await runner.control("step")
    sizes = [len(m["text"].encode()) for m in out.messages if m["type"] == "room.frame"]
    return max(sizes), out.frames()[-1]


async def test_frame_size_stays_bounded_from_100_to_500000_msg_per_second():
    low_bytes, low = await frame_bytes_at(100)
    high_bytes, high = await frame_bytes_at(500_000)
    # 5,000 times the messages; the animated sample is capped, the counts are complete.
    assert high["metrics"]["produced"] > 1000 * max(1, low["metrics"]["produced"])
    assert sum(high["sampled"].values()) > 2 * len(high["events"])
    flow = [e for e in high["events"] if e["k"] in ("produce", "fetch", "process", "commit")]
    assert len(flow) <= 200
    assert high_bytes < 100_000
    assert high_bytes < 20 * low_bytes


async def test_step_advances_exactly_one_tick_whatever_the_speed():
    runner, out = await loaded(reference())
    await runner.control("speed", 100)
    await runner.control("step")
    await runner.control("step")
    frames = out.frames()
    assert [f["t"] for f in frames[-2:]] == pytest.approx([0.1, 0.2])
    assert runner.running is False


async def test_a_heavy_tick_stops_at_its_budget_and_yields_between_slices(monkeypatch):
    # A fake wall clock: every engine call "costs" 3 ms, so the test does not depend on how
    # busy the machine is. Budget: 40 ms of a 100 ms tick; the loop gets a turn every 5 ms.
    now = [0.0]
    monkeypatch.setattr(runner_module, "clock", lambda: now[0])
    runner, out = await loaded(reference(), tick_seconds=0.1)
    sim = runner._sim
    assert sim is not None
    advance = sim.advance
    calls = []

    def costly_advance(dt: float) -> None:
        advance(dt)
        now[0] += 0.003
        calls.append(dt)

    monkeypatch.setattr(sim, "advance", costly_advance)
    await runner.control("speed", 100)
    await runner.control("run")
    beats = 0

    async def heartbeat() -> None:
        nonlocal beats
        while True:
            await asyncio.sleep(0)
            beats += 1

    task = asyncio.create_task(heartbeat())
    try:
        await runner.tick()
    finally:
        task.cancel()
    frame = out.frames()[-1]
    assert len(calls) == 14  # 14 x 3 ms: the first call past the 40 ms budget is the last
    assert frame["t"] == pytest.approx(sum(calls)) and frame["t"] < 100 * SIM_SECONDS_PER_TICK
    assert 0 < frame["state"]["effective_speed"] < 100
    assert beats >= 5  # the loop got a turn after every other call (6 ms), 6 turns in all


async def test_a_heavy_room_does_not_stall_a_light_one():
    heavy, _ = await loaded(reference(), tick_seconds=0.1)
    light, light_out = await loaded(starter(), tick_seconds=0.1)
    await heavy.control("speed", 100)
    for runner in (heavy, light):
        await runner.start()
        await runner.control("run")
    try:
        loop = asyncio.get_running_loop()
        started = loop.time()
        deadline = started + WAIT
        while len(light_out.frames()) < 10 and loop.time() < deadline:
            await asyncio.sleep(0.01)
        elapsed = loop.time() - started
    finally:
        await heavy.stop()
        await light.stop()
    assert len(light_out.frames()) >= 10
    # 10 frames at 10 a second: about 1 s; a stalled loop would take several times longer.
    assert elapsed < 3.0
    last = light_out.frames()[-1]
    assert last["t"] == pytest.approx(0.1 * last["state"]["tick"])  # never cut short


async def test_snapshot_carries_recent_dead_letters_and_rebalances():
    runner, _ = await loaded(reference())
    for _ in range(10):
        await runner.control("step")
    seq, body = await runner.snapshot_body()
    snapshot = json.loads(body)
    assert snapshot["seq"] == seq == 10
    assert snapshot["recent"]["rebalances"][0]["g"] == "workers"
    assert snapshot["recent"]["dlq"] and len(snapshot["recent"]["dlq"]) <= 50
    assert snapshot["t"] == pytest.approx(1.0)


async def test_controls_need_a_simulation():
    from playground.live.runner import NoSimulation

    runner = EmbeddedRunner("runner-test", publish=Collector(), tick_seconds=0.1)
    with pytest.raises(NoSimulation):
        await runner.control("run")
    with pytest.raises(NoSimulation):
        await runner.command({"op": "add_consumer", "node": "g"})
    seq, body = await runner.snapshot_body()
    assert (seq, body) == (0, None)
