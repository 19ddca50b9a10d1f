"""``ScaledRunner``: the ``Runner`` a Daphne process uses when rooms run on Celery workers.

It holds no simulation. Reading comes from Redis (the latest snapshot at ``keys.snapshot``, the
frames on the ``keys.frames`` pub/sub channel, one subscription per room in this process);
controls go to the room's worker through the ``keys.control`` stream, and the caller waits for
the worker's answer, so errors (bad command, no simulation) reach the viewer who sent them,
exactly as in the embedded mode. A load (or a control for a room whose worker is gone) first
makes sure a worker runs the room: ``fleet.admit`` queues its task, or refuses with
``RoomFull`` when every worker slot is taken.

Every Redis call retries on its own (redis-py) or fails into ``RoomFull`` ("server busy") for
the one viewer who asked; the subscription and the presence loop retry with backoff forever, so a
Redis restart heals by itself.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Callable
from typing import Any

import redis.asyncio as aioredis
from asgiref.sync import sync_to_async
from redis.exceptions import RedisError

from playground import engine
from playground.live import protocol
from playground.live.rooms import RateLimited, RoomFull
from playground.live.runner import DEFAULT_SEED, Listener, Message, NoSimulation
from playground.live.scaled import conf, fleet, keys

logger = logging.getLogger(__name__)

CONTROL_STREAM_MAXLEN = 1000
SUBSCRIBE_WAIT = 2.0
BACKOFF_MAX = 5.0


def message_from_text(text: str) -> Message:
    """The listener message for a text published on ``keys.frames``."""
    kind, seq = keys.published_kind(text)
    if kind == "frame" and seq is not None:
        return {"type": "room.frame", "seq": seq, "text": text}
    if kind == "snapshot" and seq is not None:
        return {"type": "room.snapshot", "seq": seq, "text": text}
    return {"type": "room.message", "text": text}


class ScaledRunner:
    def __init__(self, room: str) -> None:
        self.room = room
        self._redis: aioredis.Redis | None = None
        self._seq = 0
        self._has_simulation = False
        self._listeners: list[Listener] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._subscriber: asyncio.Task[None] | None = None
        self._subscribed = asyncio.Event()

    # -- reading ----------------------------------------------------------------------------

    @property
    def has_simulation(self) -> bool:
        return self._has_simulation

    @property
    def seq(self) -> int:
        return self._seq

    @property
    def redis(self) -> aioredis.Redis:
        if self._redis is None:
            self._redis = aioredis.Redis.from_url(
                conf.redis_url(),
                max_connections=conf.max_connections(),
                socket_connect_timeout=2,
                health_check_interval=10,
            )
        return self._redis

    async def snapshot_body(self) -> tuple[int, str | None]:
        """The room's snapshot. The worker stores one only for a new run or when asked: if the
        stored one is older than the frames this process has seen, ask for a fresh one (frames
        carry only what changed, so a viewer must start from the frame before the next)."""
        if self._subscriber is not None and not self._subscribed.is_set():
            # A snapshot read before the subscription is live could miss the frames between.
            try:
                await asyncio.wait_for(self._subscribed.wait(), SUBSCRIBE_WAIT)
            except TimeoutError:
                pass
        seen = self._seq
        seq, text = await self._read_snapshot()
        if (text is None and seen > 0) or (text is not None and seq < seen):
            # Stale, or gone while frames flowed (Redis restarted empty): ask the worker.
            try:
                await self._ask("snapshot", {}, needs_simulation=False)
            except (RoomFull, NoSimulation, RateLimited) as exc:
                logger.info("room %s: no fresh snapshot (%s); the stored one will do", self.room, exc)
            seq, text = await self._read_snapshot()
            deadline = asyncio.get_running_loop().time() + conf.REPLY_SECONDS
            while text is None and asyncio.get_running_loop().time() < deadline:
                # The worker writes one when it takes its lease again (a Redis restart).
                await asyncio.sleep(0.2)
                seq, text = await self._read_snapshot()
        return seq, text

    async def _read_snapshot(self) -> tuple[int, str | None]:
        try:
            raw = await self.redis.get(keys.snapshot(self.room))
        except RedisError as exc:
            logger.warning("room %s: snapshot unreadable (%s)", self.room, exc)
            return self._seq, None
        if raw is None:
            self._has_simulation = False
            return self._seq, None
        text = raw.decode()
        _kind, seq = keys.published_kind(text)
        self._has_simulation = True
        self._seq = max(self._seq, seq or 0)
        return seq or 0, text

    def hello(self, controller: bool) -> str:
        state = {
            "running": False,
            "speed": 1.0,
            "tick": 0,
            "effective_speed": 0.0,
            "tick_ms": 0.0,
            "seed": DEFAULT_SEED,
        }
        return protocol.hello(self.room, state=state, seq=self._seq, controller=controller)

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Hand every message published for the room to ``listener`` (one Redis subscription
        per room in this process, whatever the number of listeners)."""
        self._listeners.append(listener)
        if self._subscriber is None or self._subscriber.done():
            self._subscribed.clear()
            self._subscriber = asyncio.ensure_future(self._subscribe_forever())

        def unsubscribe() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return unsubscribe

    # -- life cycle -------------------------------------------------------------------------

    async def start(self) -> None:
        if not self._tasks:
            self._tasks.append(asyncio.create_task(self._keep_watched(), name=f"watched-{self.room}"))

    async def set_watched(self, watched: bool) -> None:
        """Nobody here watches (False): stop saying so, and the worker frees the room's slot a
        few seconds after the presence key expires (unless another Daphne still has viewers).
        Someone is back (True): say so again, and resume the room on a worker if it stopped."""
        for task in self._tasks:
            task.cancel()
        self._tasks = []
        if not watched:
            return
        await self.start()
        try:
            if await self.redis.exists(keys.checkpoint(self.room)):
                await self._ensure_worker()
        except (RedisError, RoomFull) as exc:
            logger.info("room %s: not resumed on return (%s)", self.room, exc)

    async def stop(self) -> None:
        tasks = [*self._tasks, *([self._subscriber] if self._subscriber else [])]
        self._tasks, self._subscriber = [], None
        for task in tasks:
            task.cancel()
        for task in tasks:
            try:
                await task
            except (asyncio.CancelledError, Exception):
                pass
        if self._redis is not None:
            client, self._redis = self._redis, None
            await client.aclose()

    # -- controls ---------------------------------------------------------------------------

    async def load(self, document: engine.Document, seed: int | None = None) -> None:
        await self._ask("load", {"document": document.to_dict(), "seed": seed}, needs_simulation=False)

    async def control(self, action: str, value: float | None = None) -> None:
        await self._ask("control", {"action": action, "value": value})

    async def command(self, command: dict[str, Any]) -> None:
        await self._ask("command", {"command": command})

    async def _ask(self, kind: str, body: dict[str, Any], *, needs_simulation: bool = True) -> None:
        client = self.redis
        token = uuid.uuid4().hex
        reply_key = keys.reply(token)
        try:
            if needs_simulation and not await client.exists(keys.snapshot(self.room)):
                raise NoSimulation("no topology is loaded in this room yet")
            started = await self._ensure_worker()
            async with client.pipeline(transaction=False) as pipe:
                pipe.xadd(
                    keys.control(self.room),
                    {"kind": kind, "body": protocol.dumps(body), "reply": reply_key},
                    maxlen=CONTROL_STREAM_MAXLEN,
                    approximate=True,
                )
                pipe.expire(keys.control(self.room), 24 * 3600)
                await pipe.execute()
            wait = conf.START_REPLY_SECONDS if started else conf.REPLY_SECONDS
            answer = await client.blpop([reply_key], timeout=wait)
        except RedisError as exc:
            logger.warning("room %s: control not delivered (%s)", self.room, exc)
            raise RoomFull("server busy: the room's store cannot be reached; try again shortly") from exc
        if answer is None:
            raise RoomFull(f"server busy: no simulation worker answered within {wait:g} s; try again")
        result = json.loads(answer[1])
        if result.get("ok"):
            if kind == "load":
                self._has_simulation = True
            return
        code, message = result.get("error"), result.get("message", "")
        if code == "no_simulation":
            raise NoSimulation(message)
        if code == "bad_command":
            raise engine.CommandError(message)
        if code == "rate_limited":
            raise RateLimited(message)
        # What this process validated already (documents, actions): a refusal here is a bug.
        logger.error("room %s: the worker refused a %s (%s: %s)", self.room, kind, code, message)

    async def _ensure_worker(self) -> bool:
        """Make sure a worker runs (or will run) the room; True if its task was queued now."""
        verdict = await fleet.admit(self.redis, self.room)
        if verdict == fleet.ALREADY:
            return False
        if verdict == fleet.NO_WORKER:
            raise RoomFull("server busy: no simulation worker is running; try again shortly")
        if verdict == fleet.FULL:
            raise RoomFull("server busy: every simulation slot is taken; try again later")
        await sync_to_async(_queue_room, thread_sensitive=False)(self.room)
        return True

    # -- background loops -------------------------------------------------------------------

    async def _keep_watched(self) -> None:
        """Tell the room's worker that this process has viewers (else it stops the room)."""
        delay = conf.WATCHED_REFRESH
        ttl_ms = int(conf.WATCHED_REFRESH * 3 * 1000)
        while True:
            try:
                await self.redis.set(keys.watched(self.room), "1", px=ttl_ms)
                delay = conf.WATCHED_REFRESH
            except RedisError as exc:
                logger.warning("room %s: presence not refreshed (%s); retrying", self.room, exc)
                delay = min(BACKOFF_MAX, delay * 2)
            await asyncio.sleep(delay)

    async def _subscribe_forever(self) -> None:
        delay = 0.1
        first = True
        while True:
            pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(keys.frames(self.room))
                self._subscribed.set()
                if not first:
                    # Frames were lost while Redis was away: bring every viewer up to date.
                    await self._republish_snapshot()
                first, delay = False, 0.1
                while True:
                    message = await pubsub.get_message(timeout=1.0)
                    if message is None or message.get("type") != "message":
                        continue
                    await self._deliver(message["data"].decode())
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError) as exc:
                logger.warning("room %s: frame subscription lost (%s); retrying", self.room, exc)
            except Exception:
                logger.exception("room %s: frame delivery failed; resubscribing", self.room)
            finally:
                try:
                    await pubsub.aclose()
                except Exception:
                    pass
            await asyncio.sleep(delay)
            delay = min(BACKOFF_MAX, delay * 2)

    async def _republish_snapshot(self) -> None:
        seq, body = await self.snapshot_body()
        if body is not None:
            await self._deliver(body)

    async def _deliver(self, text: str) -> None:
        message = message_from_text(text)
        seq = message.get("seq")
        if seq is not None:
            self._seq = max(self._seq, seq)
            self._has_simulation = True
        for listener in list(self._listeners):
            await listener(message)


def _queue_room(room: str) -> None:
    from playground.celery import app

    app.send_task("fanout.run_room", args=[room], queue=conf.queue())
