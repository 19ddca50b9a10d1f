"""The scaled mode survives a Redis restart: workers, Daphne processes and viewers heal by themselves.

Service: Redis (a private redis-server started by the test, on a free loopback port, without
persistence: a restart empties it, as a crashed cache would). The shared Redis is not used: the
``redis_url`` fixture of conftest.py is overridden here, so the worker, the Daphne process and
the key clean-up of the usual fixtures all talk to the private server.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from websockets.asyncio.client import ClientConnection, connect

from tests.scaled.conftest import free_port, unavailable

pytestmark = [pytest.mark.service, pytest.mark.timeout(180)]

ROOM = "redis-restart-1"
KEY = "alice-key-123"
WAIT = 30.0
OUTAGE = 1.0  # seconds between the kill and the restart
HEAL = 20.0  # bound on frames flowing again after the restart


class PrivateRedis:
    """A redis-server of this test only, killed (SIGKILL) and restarted on the same port."""

    def __init__(self, binary: str, directory: Path) -> None:
        self.binary = binary
        self.directory = directory
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        self.starts += 1
        log = self.directory / f"redis-{self.starts}.log"
        with log.open("wb") as out:
            self.proc = subprocess.Popen(
                [
                    self.binary,
                    "--port", str(self.port),
                    "--bind", "127.0.0.1",
                    "--save", "",
                    "--appendonly", "no",
                    "--dir", str(self.directory),
                    "--daemonize", "no",
                ],
                cwd=self.directory,
                stdout=out,
                stderr=subprocess.STDOUT,
            )  # fmt: skip
        client = redis.Redis.from_url(self.url, socket_connect_timeout=0.5)
        deadline = time.monotonic() + 10
        try:
            while True:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"redis-server exited with {self.proc.returncode}:\n{log.read_text()}")
                try:
                    client.ping()
                    return
                except redis.exceptions.RedisError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)
        finally:
            client.close()

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    binary = shutil.which("redis-server")
    if binary is None:
        unavailable("redis-server is not installed (Debian's redis-server package)")
    directory = tmp_path / "redis"
    directory.mkdir()
    server = PrivateRedis(binary, directory)
    server.start()
    try:
        yield server
    finally:
        server.kill()


@pytest.fixture
def redis_url(private_redis: PrivateRedis) -> str:
    """Overrides conftest's: every scaled fixture of this module uses the private server."""
    return private_redis.url


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


async def test_after_a_redis_restart_the_room_goes_on_and_the_viewer_gets_frames_again(
    private_redis: PrivateRedis, processes, scaled_env
):
    """Service: Redis (a private redis-server started by the test). The running room's Redis is
    killed (SIGKILL) and started again, empty, on the same port after about a second: the worker
    keeps (retakes) its lease and the room goes on from where it was, the Daphne process
    resubscribes, and the viewer's websocket, never reopened, gets frames again within
    ``HEAL`` seconds, with seq and t going on increasing."""
    worker = processes.worker("w1")
    port = processes.daphne("daphne-a")
    processes.issue_key(ROOM, KEY)
    alice, hello = await open_viewer(port, KEY)
    assert hello["type"] == "hello" and hello["controller"] is True
    client = redis.Redis.from_url(private_redis.url, socket_connect_timeout=1)
    lease_key = f"{scaled_env['FANOUT_REDIS_PREFIX']}:room:{ROOM}:lease"
    try:
        await alice.send(json.dumps({"type": "load", "document": starter()}))
        await receive_until(alice, lambda m: m["type"] == "snapshot")
        await alice.send(json.dumps({"type": "control", "action": "run"}))
        before = await receive_until(alice, lambda m: m["type"] == "frame" and m["seq"] >= 20)
        owner = client.get(lease_key)
        assert owner is not None
        client.close()

        private_redis.kill()
        killed_at = time.monotonic()
        await asyncio.sleep(OUTAGE)
        private_redis.start()
        restarted_at = time.monotonic()

        last_before = max(m["seq"] for m in before if m["type"] == "frame")
        t_before = max(m["t"] for m in before if m["type"] == "frame")
        # Whatever arrived from the old server's last moments, then the first state after the
        # restart (a snapshot when the viewer resyncs after a gap, else a frame), then more.
        after = await receive_until(
            alice, lambda m: m["type"] in ("frame", "snapshot") and m["seq"] > last_before, timeout=HEAL
        )
        first_back = time.monotonic()
        after += await receive_until(alice, lambda m: m["type"] == "frame" and m["seq"] >= last_before + 40)
        client = redis.Redis.from_url(private_redis.url, socket_connect_timeout=1)
        # The worker retakes the lease at its next lease refresh, which may come just after the
        # first frames (the heartbeat and the tick loop are separate): wait for it, bounded.
        owner_after = client.get(lease_key)
        for _ in range(50):
            if owner_after is not None:
                break
            await asyncio.sleep(0.1)
            owner_after = client.get(lease_key)
        await alice.send(json.dumps({"type": "control", "action": "pause"}))
    finally:
        client.close()
        await alice.close()
    assert worker.poll() is None, "the worker died during the outage"
    # The same worker retook the lease under the same owner id: the room never moved.
    assert owner_after == owner
    worker_log = processes.log(worker)
    assert "lease taken again after a Redis outage" in worker_log
    assert "resumed at" not in worker_log
    stream = [m for m in before + after if m["type"] in ("frame", "snapshot")]
    seqs = [m["seq"] for m in stream]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs), "seq went back or repeated"
    ts = [m["t"] for m in stream]
    assert ts == sorted(ts), "the simulated clock went back: the room restarted"
    t_after = max(m["t"] for m in after if m["type"] == "frame")
    assert t_after > t_before
    # The viewer was never sent back to an empty room (a hello) nor told of a resume: the room
    # neither restarted nor moved to another worker.
    assert not [m for m in after if m["type"] == "hello"]
    assert not [m for m in after if m["type"] == "notice" and m.get("code") == "resumed"]
    print(
        f"\nRedis down {restarted_at - killed_at:.2f} s; first frame after it "
        f"{first_back - restarted_at:.2f} s after the restart ({first_back - killed_at:.2f} s after the kill)"
    )
