"""The scaled runner with a real Celery worker (a subprocess) over a real Redis.

Service: Redis (127.0.0.1:6379, database 9, a key prefix of this run).
"""

from __future__ import annotations

import asyncio
import json

import pytest

from playground import engine, examples
from playground.live.rooms import RoomFull
from playground.live.runner import NoSimulation
from playground.live.scaled import keys
from playground.live.scaled.runner import ScaledRunner
from tests.scaled.helpers import Collector, seqs

pytestmark = [pytest.mark.service, pytest.mark.timeout(120)]


def starter() -> engine.Document:
    return engine.parse_document(examples.load("starter"))


async def test_a_room_runs_on_a_celery_worker_and_streams_frames_through_redis(scaled_settings, processes):
    """Service: Redis. Load, run, command and pause reach the worker; frames come back in order."""
    processes.worker("w1")
    runner = ScaledRunner("scaled-runner-1")
    out = Collector()
    runner.subscribe(out)
    await runner.start()
    try:
        assert await runner.snapshot_body() == (0, None)
        await runner.load(starter())
        await out.wait_for(lambda: out.of_type("room.snapshot"))
        await runner.control("run")
        await out.wait_for(lambda: len(out.of_type("room.frame")) >= 10)
        await runner.command({"op": "add_consumer", "node": "billing"})
        with pytest.raises(engine.CommandError):
            await runner.command({"op": "no_such_op", "node": "billing"})
        await runner.control("pause")
        frames = out.parsed()
        assert seqs(frames) == list(range(1, len(frames) + 1))  # no gap, no repeat
        assert [f["t"] for f in frames] == sorted(f["t"] for f in frames)
        seq, body = await runner.snapshot_body()
        snapshot = json.loads(body)
        assert snapshot["type"] == "snapshot" and seq == snapshot["seq"] == frames[-1]["seq"]
        assert snapshot["state"]["running"] is False
        members = snapshot["metrics"]["nodes"]["billing"]["members"]
        assert len(members) == examples.load("starter")["nodes"][2]["params"]["consumers"] + 1
    finally:
        await runner.stop()


async def test_controls_before_a_load_answer_no_simulation(scaled_settings, processes):
    """Service: Redis."""
    runner = ScaledRunner("scaled-runner-2")
    await runner.start()
    try:
        with pytest.raises(NoSimulation):
            await runner.control("run")
        with pytest.raises(NoSimulation):
            await runner.command({"op": "add_consumer", "node": "billing"})
    finally:
        await runner.stop()


async def test_no_worker_means_server_busy_not_a_silent_wait(scaled_settings, prefix):
    """Service: Redis. A prefix no worker serves: the load is refused at once."""
    scaled_settings.FANOUT_REDIS_PREFIX = f"{prefix}-empty"
    runner = ScaledRunner("scaled-runner-3")
    await runner.start()
    try:
        with pytest.raises(RoomFull, match="no simulation worker"):
            await asyncio.wait_for(runner.load(starter()), 5)
    finally:
        await runner.stop()


async def test_a_full_worker_refuses_another_room_with_server_busy(scaled_settings, processes):
    """Service: Redis. One worker with one slot: a second room gets room_full, and a slot freed
    by the first room going away serves the next one."""
    processes.worker("w1")
    first, second = ScaledRunner("scaled-runner-4"), ScaledRunner("scaled-runner-5")
    for runner in (first, second):
        await runner.start()
    try:
        await first.load(starter())
        with pytest.raises(RoomFull, match="every simulation slot is taken"):
            await second.load(starter())
        assert not await first.redis.exists(keys.checkpoint("scaled-runner-5"))
    finally:
        await first.stop()
        await second.stop()
