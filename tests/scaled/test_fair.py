"""Issue 19, scaled mode: snapshots stored only when needed, slots freed within seconds of the
last viewer leaving (and the run resumed on return), never-started rooms forgotten, workers
stopping on SIGTERM within 10 s.

Service: Redis (127.0.0.1:6379, database 9, a key prefix of this run)."""

from __future__ import annotations

import asyncio
import json
import signal
import time

import pytest
import redis

from playground import engine, examples
from playground.live.scaled import fleet, keys
from playground.live.scaled.runner import ScaledRunner
from tests.scaled.helpers import Collector

pytestmark = [pytest.mark.service, pytest.mark.timeout(120)]


def starter() -> engine.Document:
    return engine.parse_document(examples.load("starter"))


async def _wait(predicate, timeout: float = 20.0) -> float:
    started = time.monotonic()
    while not await predicate():
        assert time.monotonic() - started < timeout, "condition not met in time"
        await asyncio.sleep(0.1)
    return time.monotonic() - started


async def test_the_snapshot_is_stored_for_a_new_run_and_on_request_not_every_frame(scaled_settings, processes):
    processes.worker("w1")
    runner = ScaledRunner("scaled-fair-1")
    out = Collector()
    runner.subscribe(out)
    await runner.start()
    try:
        await runner.load(starter())
        await out.wait_for(lambda: out.of_type("room.snapshot"))
        stored_at_load = keys.published_kind((await runner.redis.get(keys.snapshot(runner.room))).decode())[1]
        await runner.control("run")
        await out.wait_for(lambda: len(out.of_type("room.frame")) >= 20)
        stored = keys.published_kind((await runner.redis.get(keys.snapshot(runner.room))).decode())[1]
        assert stored == stored_at_load  # not rewritten by the 20 frames
        frames = out.parsed()
        assert all(f.get("delta") for f in frames[1:])  # frames carry only what changed
        seq, body = await runner.snapshot_body()  # a viewer joins: a fresh one is asked for
        assert seq >= frames[-1]["seq"] and json.loads(body)["seq"] == seq
    finally:
        await runner.stop()


async def test_a_slot_is_freed_within_seconds_of_the_last_viewer_leaving_and_the_run_resumes(
    scaled_settings, processes
):
    processes.worker("w1")
    runner = ScaledRunner("scaled-fair-2")
    out = Collector()
    runner.subscribe(out)
    await runner.start()
    client = runner.redis
    try:
        await runner.load(starter())
        await runner.control("run")
        await out.wait_for(lambda: len(out.of_type("room.frame")) >= 5)
        await runner.set_watched(False)  # what the registry does when the last viewer leaves
        took = await _wait(lambda: _missing(client, keys.lease(runner.room)))
        print(f"\nslot freed {took:.1f} s after the last viewer left")
        assert took < 12
        assert not await client.sismember(keys.rooms(), runner.room)
        assert await client.exists(keys.checkpoint(runner.room))  # kept, to resume
        seen = len(out.of_type("room.frame"))
        await runner.set_watched(True)  # a viewer is back: the run goes on
        await out.wait_for(lambda: len(out.of_type("room.frame")) >= seen + 5)
    finally:
        await runner.stop()


async def _missing(client, key: str) -> bool:
    return not await client.exists(key)


def test_the_watchdog_forgets_a_room_that_never_started(scaled_settings, redis_url):
    client = redis.Redis.from_url(redis_url)
    try:
        client.sadd(keys.rooms(), "never-started-1", "crashed-room-1")
        client.hset(keys.checkpoint("crashed-room-1"), mapping={"document": "{}"})
        assert fleet.orphaned_rooms(client) == ["crashed-room-1"]  # resumed: it ran before
        assert client.smembers(keys.rooms()) == {b"crashed-room-1"}  # the refused one is gone
    finally:
        client.close()


async def test_a_worker_stops_on_sigterm_within_10_s_while_running_a_room_flat_out(scaled_settings, processes):
    worker = processes.worker("w1")  # one slot
    runners = [ScaledRunner("scaled-fair-term-1")]
    try:
        for runner in runners:
            await runner.start()
            await runner.load(engine.parse_document(examples.load("reference")))
            await runner.control("speed", 100)
            await runner.control("run")
        await asyncio.sleep(1.0)
        started = time.monotonic()
        worker.send_signal(signal.SIGTERM)
        try:
            await asyncio.to_thread(worker.wait, 15)
        except Exception:
            worker.send_signal(signal.SIGUSR1)  # its threads' stacks, in its log
            await asyncio.sleep(1)
            print(processes.log(worker)[-6000:])
            raise
        took = time.monotonic() - started
        print(f"\nworker stopped {took:.1f} s after SIGTERM")
        assert took < 10
    finally:
        for runner in runners:
            await runner.stop()
