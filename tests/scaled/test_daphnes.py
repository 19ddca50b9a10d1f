"""The scaled mode end to end: Daphne processes, Celery workers and Redis, as deployed.

Service: Redis (127.0.0.1:6379, database 9, a key prefix of this test). The workers and the
Daphne processes are subprocesses started here and stopped by PID; viewers are `websockets`
clients.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from typing import Any

import pytest
import redis
from websockets.asyncio.client import ClientConnection, connect

from tests.live.helpers import complete_frames

pytestmark = [pytest.mark.service, pytest.mark.timeout(180)]

ROOM = "scaled-room-1"
KEY = "alice-key-123"
WAIT = 30.0


async def open_viewer(port: int, key: str | None = None) -> tuple[ClientConnection, dict[str, Any]]:
    url = f"ws://127.0.0.1:{port}/ws/rooms/{ROOM}/" + (f"?key={key}" if key else "")
    ws = await connect(url, origin=f"http://127.0.0.1:{port}", compression=None, open_timeout=WAIT)
    return ws, json.loads(await asyncio.wait_for(ws.recv(), WAIT))


async def receive_until(ws: ClientConnection, predicate, timeout: float = WAIT) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        assert left > 0, f"condition not met in {timeout} s; last: {[m.get('type') for m in seen[-5:]]}"
        message = json.loads(await asyncio.wait_for(ws.recv(), left))
        seen.append(message)
        if predicate(message):
            return seen


def starter() -> dict[str, Any]:
    from playground import examples

    return examples.load("starter")


async def test_viewers_on_two_daphnes_receive_identical_frame_sequences(processes):
    """Service: Redis. The controller on Daphne A, viewers on A and B: the same frames, in order."""
    processes.worker("w1")
    port_a, port_b = processes.daphne("daphne-a"), processes.daphne("daphne-b")
    processes.issue_key(ROOM, KEY)
    alice, hello = await open_viewer(port_a, KEY)
    assert hello["type"] == "hello" and hello["controller"] is True
    bob, _ = await open_viewer(port_b)
    carol, _ = await open_viewer(port_a)
    try:
        await alice.send(json.dumps({"type": "load", "document": starter()}))
        await receive_until(alice, lambda m: m["type"] == "snapshot")
        await alice.send(json.dumps({"type": "control", "action": "run"}))
        streams = await asyncio.gather(
            *(receive_until(ws, lambda m: m["type"] == "frame" and m["seq"] >= 30) for ws in (alice, bob, carol))
        )
        await alice.send(json.dumps({"type": "control", "action": "pause"}))
    finally:
        for ws in (alice, bob, carol):
            await ws.close()
    by_viewer = [{m["seq"]: m for m in stream if m["type"] == "frame"} for stream in streams]
    for frames in by_viewer:
        seqs = sorted(frames)
        assert seqs == list(range(seqs[0], 31)), "a gap in the frame sequence"
    common = set(by_viewer[0]) & set(by_viewer[1]) & set(by_viewer[2])
    assert len(common) >= 20
    for seq in common:
        assert by_viewer[0][seq] == by_viewer[1][seq] == by_viewer[2][seq]
    # Bob joined Daphne B before the load: he saw the load's snapshot, not a reload.
    assert any(m["type"] == "snapshot" for m in streams[1]) or min(by_viewer[1]) == 1


async def test_a_killed_worker_s_room_resumes_on_another_worker_and_viewers_see_a_notice(processes, scaled_env):
    """Service: Redis. Two workers; the one running the room is killed (SIGKILL): the other
    resumes it from its checkpoint within seconds, on the same websocket, without a reload, and
    the frames go on where they stopped."""
    processes.worker("w1")
    processes.worker("w2")
    port = processes.daphne("daphne-a")
    processes.issue_key(ROOM, KEY)
    alice, _ = await open_viewer(port, KEY)
    bob, _ = await open_viewer(port)
    client = redis.Redis.from_url(scaled_env["REDIS_URL"])
    try:
        await alice.send(json.dumps({"type": "load", "document": starter()}))
        await receive_until(alice, lambda m: m["type"] == "snapshot")
        await alice.send(json.dumps({"type": "control", "action": "speed", "value": 10}))
        await alice.send(json.dumps({"type": "control", "action": "run"}))
        await alice.send(json.dumps({"type": "command", "command": {"op": "add_consumer", "node": "billing"}}))
        before = await receive_until(bob, lambda m: m["type"] == "frame" and m["seq"] >= 40)
        owner = client.get(f"{scaled_env['FANOUT_REDIS_PREFIX']}:room:{ROOM}:lease").decode()
        pid = int(owner.split(":")[1])
        killed_at = time.monotonic()
        os.kill(pid, signal.SIGKILL)
        after = await receive_until(bob, lambda m: m["type"] == "notice")
        resumed_in = time.monotonic() - killed_at
        last_before = max(m["seq"] for m in before if m["type"] == "frame")
        after += await receive_until(bob, lambda m: m["type"] == "frame" and m["seq"] >= last_before + 60)
        await alice.send(json.dumps({"type": "control", "action": "pause"}))
    finally:
        client.close()
        await alice.close()
        await bob.close()
    print(f"\nresumed {resumed_in:.2f} s after the worker was killed (lease {scaled_env['FANOUT_LEASE_SECONDS']} s)")
    notice = next(m for m in after if m["type"] == "notice")
    assert notice["code"] == "resumed"
    assert resumed_in < 10
    frames = [m for m in before + after if m["type"] == "frame"]
    # No reload: the same socket goes on; the resumed run continues the sequence and the clock
    # from its last checkpointed frame (at most the frames of one lease may be published twice).
    resumed = [m for m in after if m["type"] in ("frame", "snapshot")]
    assert resumed and resumed[0]["seq"] <= last_before + 1
    assert all(b["t"] >= a["t"] - 1.0 for a, b in zip(frames, frames[1:], strict=False))
    last = frames[-1]
    assert last["seq"] > last_before + 50
    # The consumer added before the crash is still there: the command log was replayed.
    members = complete_frames(before + after)[-1]["metrics"]["nodes"]["billing"]["members"]  # deltas merged
    assert len(members) == starter()["nodes"][2]["params"]["consumers"] + 1
