"""A room's simulation inside a Celery worker: the embedded tick loop, fed and published by Redis.

``host_room(room)`` is what the Celery task runs (one asyncio loop per room, in the task's
thread). It

1. takes the room's lease (``SET NX`` with a TTL) or returns at once if another worker has it;
2. restores the room from its checkpoint when there is one (a resume after a worker died),
   replaying the commands applied since the last engine snapshot, and tells the viewers
   (a ``notice`` with code ``resumed``, then a snapshot);
3. runs the same ``EmbeddedRunner`` tick loop as the embedded mode (same pacing, budgets,
   frames: only what changed), publishing every message once to ``keys.frames`` with the
   checkpoint's progress in the same MULTI. The snapshot at ``keys.snapshot`` is written only
   when needed (issue 19: serialising one per frame was a third of a worker's time): for a new
   run (load, reset, resume), and when a Daphne asks for one (a ``snapshot`` control: a viewer
   joins or resyncs and the stored one is older than the frames it has seen);
4. applies the control stream (``keys.control``) between ticks, answering each entry; the
   stream is read with a long block, so a paused room costs nothing (XREAD returns as soon
   as an entry arrives);
5. refreshes the lease a few times per TTL; stops when the lease is lost (another worker took
   the room), when no Daphne has watched the room for ``UNWATCHED_GRACE`` (a few seconds: its
   slot is free for another room; its checkpoint and snapshot stay for
   ``FANOUT_ROOM_IDLE_SECONDS``, so a viewer coming back resumes the run), or when the worker
   shuts down (then hands the lease back, so another worker resumes at once).

Redis outages: every loop retries with backoff and the simulation keeps its state in memory;
when Redis is back the lease is taken again if it is free, and a full checkpoint is written.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import threading
import time
import uuid
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from playground import engine
from playground.live import protocol
from playground.live.rooms import TokenBucket
from playground.live.runner import EmbeddedRunner, Message, NoSimulation
from playground.live.scaled import conf, fleet, keys

logger = logging.getLogger(__name__)

CONTROL_BATCH = 50
CONTROL_BLOCK_MS = 1000
BACKOFF_START = 0.1
BACKOFF_MAX = 2.0
STOP_SECONDS = 2.0  # each step of a room's stop waits at most this long

# Set by the worker's shutdown signal: every room hands its lease back and returns.
shutting_down = threading.Event()

# The rooms running in this process, each with its own event loop (one per task thread), so a
# shutdown reaches every one at once rather than at its next lease refresh.
_running: set[tuple[asyncio.AbstractEventLoop, RoomHost]] = set()
_running_lock = threading.Lock()


def stop_every_room(reason: str = "shutdown") -> int:
    """From any thread (the shutdown signal): stop every room of this process now."""
    shutting_down.set()
    with _running_lock:
        hosts = list(_running)
    for loop, host in hosts:
        try:
            loop.call_soon_threadsafe(host.stop, reason)
        except RuntimeError:  # its loop closed meanwhile: it stopped already
            pass
    return len(hosts)


def owner_id() -> str:
    """Who holds a lease: host, process, and this task instance (two tasks never share one)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class WorkerRunner(EmbeddedRunner):
    """The embedded runner with what a checkpoint needs: commands recorded as applied."""

    def __init__(self, room: str, publish: Any) -> None:
        super().__init__(room, publish=publish)
        # Each room has a thread and a loop of its own here: no executor (asyncio.run's shutdown
        # of one kept a worker from stopping on SIGTERM).
        self.build_in_thread = False
        self.commands_since: list[tuple[float, dict[str, Any]]] = []

    async def command(self, command: dict[str, Any]) -> None:
        # As EmbeddedRunner.command, recording the command before its frame is published, so
        # the frame's checkpoint write includes it.
        if self._sim is None:
            raise NoSimulation("no topology is loaded in this room yet")
        async with self._lock:
            if self._sim is None:
                raise NoSimulation("no topology is loaded in this room yet")
            self._sim.apply(command)
            self.commands_since.append((self._sim.now, dict(command)))
            await self._publish_frame()

    def progress(self) -> dict[str, Any]:
        return {
            "seq": self._seq,
            "t": self.now,
            "tick": self._tick,
            "running": self._running,
            "speed": self._speed,
        }

    def restore(self, checkpoint: dict[bytes, bytes]) -> bool:
        """Rebuild the room from a checkpoint hash; False if it holds no document."""
        raw_document = checkpoint.get(b"document")
        if not raw_document:
            return False
        document = engine.parse_document(raw_document.decode())
        seed = int(checkpoint.get(b"seed", b"1"))
        progress = json.loads(checkpoint.get(b"progress", b"{}"))
        commands = json.loads(checkpoint.get(b"commands", b"[]"))
        blob = checkpoint.get(b"engine")
        self._seed = seed
        self._document = document
        self._document_dict = document.to_dict()
        self._rebuild()
        if blob:
            self._sim = engine.Simulation.restore(blob)
        sim = self._sim
        assert sim is not None
        # Replay: each command at the simulated instant it was applied, then up to the last
        # frame the viewers saw. The engine is event-driven, so the same instants give the same
        # state whatever the step sizes.
        for t, command in commands:
            _advance_to(sim, float(t))
            sim.apply(command)
        _advance_to(sim, float(progress.get("t", sim.now)))
        sim.drain_events()  # the viewers saw these already
        self.commands_since = [(float(t), c) for t, c in commands]
        self._seq = int(progress.get("seq", 0))
        self._tick = int(progress.get("tick", 0))
        self._speed = float(progress.get("speed", 1.0))
        self._running = bool(progress.get("running", False))
        self._set_active()
        if self._running:
            self._wake.set()
        return True


def _advance_to(sim: engine.Simulation, t: float) -> None:
    while t - sim.now > 1e-9:
        sim.advance(min(t - sim.now, 1.0))


class RoomHost:
    """One room on this worker: its runner, its lease and the loops around them."""

    def __init__(self, room: str, client: aioredis.Redis, owner: str | None = None) -> None:
        self.room = room
        self.redis = client
        self.owner = owner or owner_id()
        self.lease_ms = int(conf.lease_seconds() * 1000)
        self.runner = WorkerRunner(room, publish=self._publish)
        self.last_control_id = "0-0"
        self.bucket = TokenBucket(*conf.room_control_rate())
        self.stopped = asyncio.Event()
        self.stop_reason = ""
        self.resumed = False
        self._written_sim: engine.Simulation | None = None  # the run the checkpoint describes
        self._engine_t = 0.0
        self._commands_written = 0
        self._needs_full_checkpoint = True
        self._publish_failed = False

    # -- life cycle -------------------------------------------------------------------------

    async def run(self) -> str:
        """Host the room until it stops; return why it stopped."""
        if not await self._acquire():
            return "taken"
        tasks: list[asyncio.Task[None]] = []
        entry = (asyncio.get_running_loop(), self)
        with _running_lock:
            _running.add(entry)
        if shutting_down.is_set():
            self.stop("shutdown")
        try:
            await self._restore()
            await self.runner.start()
            tasks = [
                asyncio.create_task(self._keep_lease(), name=f"lease-{self.room}"),
                asyncio.create_task(self._read_controls(), name=f"controls-{self.room}"),
            ]
            await self.stopped.wait()
        finally:
            # Bounded: a task stuck in a Redis read must not keep the worker from stopping.
            for task in tasks:
                task.cancel()
            if tasks:
                await asyncio.wait(tasks, timeout=STOP_SECONDS)
            await self.runner.stop()
            try:
                await asyncio.wait_for(self._release(), STOP_SECONDS)
            except TimeoutError:
                logger.warning("room %s: lease not released in time; it expires", self.room)
            with _running_lock:
                _running.discard(entry)
        return self.stop_reason

    def stop(self, reason: str) -> None:
        if not self.stopped.is_set():
            self.stop_reason = reason
            self.stopped.set()

    async def _acquire(self) -> bool:
        for delay in _backoff():
            try:
                got = await self.redis.set(keys.lease(self.room), self.owner, nx=True, px=self.lease_ms)
                if got:
                    await self.redis.delete(keys.starting(self.room))
                    await self.redis.sadd(keys.rooms(), self.room)
                return bool(got)
            except RedisError as exc:
                logger.warning("room %s: cannot reach Redis to take the lease (%s)", self.room, exc)
                if shutting_down.is_set():
                    return False
                await asyncio.sleep(delay)
        return False  # pragma: no cover - _backoff never ends

    async def _restore(self) -> None:
        checkpoint = await self.redis.hgetall(keys.checkpoint(self.room))
        if not checkpoint:
            return
        started = time.perf_counter()
        try:
            restored = self.runner.restore(checkpoint)
        except Exception:
            logger.exception("room %s: checkpoint unusable; the room starts empty", self.room)
            await self.redis.delete(keys.checkpoint(self.room), keys.snapshot(self.room))
            return
        self.last_control_id = (checkpoint.get(b"control_id") or b"0-0").decode()
        if not restored:
            return
        self.resumed = True
        self._written_sim = self.runner._sim
        self._engine_t = float(checkpoint.get(b"engine_t", b"0"))
        self._commands_written = len(self.runner.commands_since)
        self._needs_full_checkpoint = False
        took = (time.perf_counter() - started) * 1000
        logger.info("room %s: resumed at t=%.2f seq=%d in %.0f ms", self.room, self.runner.now, self.runner.seq, took)
        await self._publish_text(
            protocol.notice(
                "resumed",
                f"The simulation moved to another server after a fault and goes on from t={self.runner.now:.1f} s.",
            )
        )
        async with self.runner._lock:
            await self.runner._publish_snapshot()

    async def _release(self) -> None:
        try:
            if self.stop_reason == "unwatched":
                # Out of the fleet's set first, so the watchdog never sees a room without a
                # lease that nobody should resume; the slot is free now. What a returning viewer
                # needs to resume (checkpoint, snapshot, controls) stays for a while.
                await self.redis.srem(keys.rooms(), self.room)
                idle = conf.room_idle_seconds()
                async with self.redis.pipeline(transaction=True) as pipe:
                    for key in keys.room_keys(self.room):
                        pipe.expire(key, max(1, int(idle)))
                    pipe.delete(keys.lease(self.room), keys.watched(self.room))
                    await pipe.execute()
            elif self.stop_reason != "lost":
                await fleet.release_lease(self.redis, self.room, self.owner)
        except RedisError as exc:
            logger.warning("room %s: could not release the lease (%s); it expires", self.room, exc)

    # -- lease, watch, shutdown -------------------------------------------------------------

    async def _keep_lease(self) -> None:
        interval = self.lease_ms / 1000 / 4
        unwatched_since: float | None = None
        backoff = _backoff()
        while True:
            if shutting_down.is_set():
                self.stop("shutdown")
                return
            try:
                status, watched = await fleet.refresh_lease(self.redis, self.room, self.owner, self.lease_ms)
            except RedisError as exc:
                logger.warning("room %s: lease refresh failed (%s); retrying", self.room, exc)
                self._needs_full_checkpoint = True
                await asyncio.sleep(next(backoff))
                continue
            backoff = _backoff()
            if status == fleet.LEASE_LOST:
                logger.warning("room %s: lease taken by another worker; stopping here", self.room)
                self.stop("lost")
                return
            if status == fleet.LEASE_REGAINED:
                logger.info("room %s: lease taken again after a Redis outage", self.room)
                self._needs_full_checkpoint = True
                await self._checkpoint_now()
            now = time.monotonic()
            if watched:
                unwatched_since = None
            elif unwatched_since is None:
                unwatched_since = now
            elif now - unwatched_since >= conf.UNWATCHED_GRACE:
                self.stop("unwatched")
                return
            await asyncio.sleep(interval)

    # -- controls ---------------------------------------------------------------------------

    async def _read_controls(self) -> None:
        stream = keys.control(self.room)
        backoff = _backoff()
        while True:
            try:
                response = await self.redis.xread(
                    {stream: self.last_control_id}, count=CONTROL_BATCH, block=CONTROL_BLOCK_MS
                )
            except RedisError as exc:
                logger.warning("room %s: control stream unreachable (%s); retrying", self.room, exc)
                await asyncio.sleep(next(backoff))
                continue
            backoff = _backoff()
            for _stream, entries in response or ():
                for entry_id, fields in entries:
                    self.last_control_id = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
                    answer = await self._apply(fields)
                    reply = fields.get(b"reply")
                    if reply:
                        await self._answer(reply.decode(), answer)

    async def _apply(self, fields: dict[bytes, bytes]) -> dict[str, Any]:
        if fields.get(b"kind") == b"snapshot":
            # A Daphne needs the current snapshot (not rate-limited: Daphne asks at most once
            # per frame it saw, for every viewer of the room together).
            await self._store_snapshot()
            return {"ok": True}
        if not self.bucket.allow():
            return {"error": "rate_limited", "message": "too many controls for this room; wait a moment"}
        kind = fields.get(b"kind", b"").decode()
        try:
            body = json.loads(fields.get(b"body", b"{}"))
            if kind == "load":
                document = engine.parse_document(body["document"])
                await self.runner.load(document, body.get("seed"))
            elif kind == "control":
                await self.runner.control(body["action"], body.get("value"))
            elif kind == "command":
                await self.runner.command(body["command"])
            else:
                return {"error": "bad_message", "message": f"unknown control kind {kind!r}"}
        except NoSimulation as exc:
            return {"error": "no_simulation", "message": str(exc)}
        except engine.CommandError as exc:
            return {"error": "bad_command", "message": str(exc)}
        except engine.DocumentError as exc:
            return {"error": "invalid_document", "message": str(exc)}
        except (KeyError, TypeError, ValueError) as exc:
            return {"error": "bad_message", "message": str(exc)}
        return {"ok": True}

    async def _answer(self, key: str, answer: dict[str, Any]) -> None:
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                pipe.lpush(key, json.dumps(answer))
                pipe.expire(key, 60)
                await pipe.execute()
        except RedisError as exc:
            logger.warning("room %s: could not answer a control (%s)", self.room, exc)

    # -- publishing and checkpoints ---------------------------------------------------------

    async def _store_snapshot(self) -> None:
        async with self.runner._lock:
            body = self.runner._snapshot_body()
            if body is not None:
                await self.redis.set(keys.snapshot(self.room), body)

    async def _publish(self, message: Message) -> None:
        """The runner's publisher: one PUBLISH of the text and the checkpoint (and, for a new
        run, the snapshot) in one MULTI. Runs under the runner's lock, after the change."""
        pipe = self.redis.pipeline(transaction=True)
        pipe.publish(keys.frames(self.room), message["text"])
        if message.get("type") == "room.snapshot":
            pipe.set(keys.snapshot(self.room), message["text"])
        self._add_checkpoint(pipe)
        try:
            await pipe.execute()
            if self._publish_failed:
                logger.info("room %s: publishing again", self.room)
            self._publish_failed = False
        except RedisError as exc:
            # The run goes on; viewers see a gap in seq and resync once Redis is back.
            if not self._publish_failed:
                logger.warning("room %s: cannot publish (%s); the run goes on", self.room, exc)
            self._publish_failed = True
            self._needs_full_checkpoint = True
        finally:
            await pipe.reset()

    def _add_checkpoint(self, pipe: Any) -> None:
        runner = self.runner
        sim = runner._sim
        key = keys.checkpoint(self.room)
        fields: dict[str, Any] = {
            "progress": json.dumps(runner.progress()),
            "control_id": self.last_control_id,
        }
        if sim is not None and (sim is not self._written_sim or self._needs_full_checkpoint):
            # A new run (load, reset) or a doubtful store: the document, and the engine as it is.
            fields["document"] = protocol.dumps(runner._document_dict)
            fields["seed"] = str(runner._seed)
            self._take_engine_snapshot(fields)
            self._written_sim = sim
            self._needs_full_checkpoint = False
        elif sim is not None and sim.now - self._engine_t >= conf.checkpoint_seconds():
            self._take_engine_snapshot(fields)
        elif len(runner.commands_since) != self._commands_written:
            fields["commands"] = json.dumps(runner.commands_since)
            self._commands_written = len(runner.commands_since)
        pipe.hset(key, mapping=fields)

    def _take_engine_snapshot(self, fields: dict[str, Any]) -> None:
        sim = self.runner._sim
        assert sim is not None
        fields["engine"] = sim.snapshot()
        fields["engine_t"] = repr(sim.now)
        fields["commands"] = "[]"
        self._engine_t = sim.now
        self.runner.commands_since = []
        self._commands_written = 0

    async def _checkpoint_now(self) -> None:
        async with self.runner._lock:
            if self.runner._sim is None:
                return
            pipe = self.redis.pipeline(transaction=True)
            self._add_checkpoint(pipe)
            body = self.runner._snapshot_body()
            if body is not None:
                pipe.set(keys.snapshot(self.room), body)
            try:
                await pipe.execute()
            except RedisError:
                self._needs_full_checkpoint = True
            finally:
                await pipe.reset()

    async def _publish_text(self, text: str) -> None:
        try:
            await self.redis.publish(keys.frames(self.room), text)
        except RedisError as exc:
            logger.warning("room %s: could not publish a notice (%s)", self.room, exc)


def _backoff() -> Any:
    delay = BACKOFF_START
    while True:
        yield delay
        delay = min(BACKOFF_MAX, delay * 2)


def redis_client() -> aioredis.Redis:
    return aioredis.Redis.from_url(
        conf.redis_url(),
        max_connections=conf.max_connections(),
        socket_connect_timeout=2,
        health_check_interval=10,
    )


async def host_room(room: str) -> str:
    """Run ``room`` here until it stops (the Celery task's body); return why it stopped."""
    if not protocol.is_room_id(room):
        raise ValueError(f"not a room id: {room!r}")
    client = redis_client()
    try:
        host = RoomHost(room, client)
        return await host.run()
    finally:
        try:
            await asyncio.wait_for(client.aclose(), STOP_SECONDS)
        except (TimeoutError, RedisError):
            pass
