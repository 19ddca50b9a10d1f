"""Celery side of the scaled mode: the room task, and each worker's heartbeat and watchdog.

The task is thin: it passes a room id to ``worker.host_room``, which holds the logic.
"""

from __future__ import annotations

import asyncio
import faulthandler
import logging
import os
import signal
import sys
import threading
import time
from typing import Any

import redis
from celery import shared_task, signals
from redis.exceptions import RedisError

from playground.live.scaled import conf, fleet, worker

logger = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 1.0

# `kill -USR1 <worker pid>` prints every thread's stack to the worker's log (a stuck shutdown).
if hasattr(signal, "SIGUSR1"):
    faulthandler.register(signal.SIGUSR1, file=sys.stderr, all_threads=True)


@shared_task(name="fanout.run_room", ignore_result=True)
def run_room(room: str) -> str:
    """Run a room's simulation on this worker until it stops (see ``worker.RoomHost``)."""
    loop = asyncio.new_event_loop()
    try:
        reason = loop.run_until_complete(worker.host_room(room))
    finally:
        # Not asyncio.run: its shutdown waits without bound for every task left, and one stuck
        # in a Redis read kept a worker from stopping on SIGTERM. Cancel, wait 2 s, close.
        pending = asyncio.all_tasks(loop)
        for task in pending:
            task.cancel()
        if pending:
            loop.run_until_complete(asyncio.wait(pending, timeout=2.0))
        loop.close()
    logger.info("room %s: stopped here (%s)", room, reason)
    return reason


def queue_room(room: str) -> None:
    run_room.apply_async(args=[room], queue=conf.queue())


class Heartbeat(threading.Thread):
    """Registers this worker's slots, and resumes rooms whose worker died (the watchdog)."""

    def __init__(self, worker_id: str, slots: int) -> None:
        super().__init__(name="fanout-heartbeat", daemon=True)
        self.worker_id = worker_id
        self.slots = slots
        self.halt = threading.Event()

    def run(self) -> None:
        client = redis.Redis.from_url(conf.redis_url(), socket_connect_timeout=2, socket_timeout=5)
        last_beat = 0.0
        delay = conf.WATCHDOG_SECONDS
        try:
            while not self.halt.wait(delay):
                try:
                    now = time.monotonic()
                    if now - last_beat >= HEARTBEAT_SECONDS:
                        fleet.register_worker(client, self.worker_id, self.slots)
                        last_beat = now
                    for room in fleet.orphaned_rooms(client):
                        logger.warning("room %s: its worker is gone; queueing it to resume", room)
                        queue_room(room)
                    delay = conf.WATCHDOG_SECONDS
                except (RedisError, OSError) as exc:
                    logger.warning("heartbeat: Redis or the broker unreachable (%s); retrying", exc)
                    delay = min(5.0, delay * 2)
                    last_beat = 0.0
            fleet.unregister_worker(client, self.worker_id)
        except (RedisError, OSError):
            pass
        finally:
            client.close()


_heartbeat: Heartbeat | None = None


@signals.worker_ready.connect
def _start_heartbeat(sender: Any = None, **_: Any) -> None:
    global _heartbeat
    pool = getattr(sender, "pool", None)
    slots = int(getattr(pool, "limit", None) or conf.worker_max_rooms())
    hostname = getattr(sender, "hostname", None) or "worker"
    _heartbeat = Heartbeat(f"{hostname}:{os.getpid()}", slots)
    _heartbeat.start()
    logger.info("fanout worker %s ready with %d room slots", _heartbeat.worker_id, slots)


@signals.worker_shutting_down.connect
def _stop_rooms(**_: Any) -> None:
    # Rooms hand their leases back and return, so a warm shutdown does not wait for them
    # forever and other workers resume them at once.
    worker.stop_every_room()
    if _heartbeat is not None:
        _heartbeat.halt.set()
