"""The scaled mode's settings (see the README's table), read from Django settings at call time."""

from __future__ import annotations

from django.conf import settings

from playground.live.scaled.keys import DEFAULT_PREFIX

DEFAULT_LEASE_SECONDS = 3.0
DEFAULT_CHECKPOINT_SECONDS = 5.0  # simulated seconds between two engine snapshots
DEFAULT_WORKER_MAX_ROOMS = 4
DEFAULT_ROOM_CONTROL_RATE = 30.0  # control messages a second, per room, all viewers together
DEFAULT_ROOM_CONTROL_BURST = 30
REPLY_SECONDS = 5.0  # how long a Daphne waits for the worker to answer a control
START_REPLY_SECONDS = 15.0  # the same when a worker must first pick the room's task up
UNWATCHED_GRACE = 3.0  # a room no Daphne has watched for this long is stopped (its slot freed)
WATCHED_REFRESH = 1.0
WATCHDOG_SECONDS = 0.5  # how often each worker looks for rooms whose lease expired


def redis_url() -> str:
    url = getattr(settings, "FANOUT_REDIS_URL", None)
    if not url:
        raise RuntimeError("the scaled runner needs REDIS_URL")
    return str(url)


def prefix() -> str:
    return str(getattr(settings, "FANOUT_REDIS_PREFIX", DEFAULT_PREFIX))


def max_connections() -> int:
    return int(getattr(settings, "FANOUT_REDIS_MAX_CONNECTIONS", 1000))


def lease_seconds() -> float:
    return float(getattr(settings, "FANOUT_LEASE_SECONDS", DEFAULT_LEASE_SECONDS))


def checkpoint_seconds() -> float:
    return float(getattr(settings, "FANOUT_CHECKPOINT_SECONDS", DEFAULT_CHECKPOINT_SECONDS))


def worker_max_rooms() -> int:
    return int(getattr(settings, "FANOUT_WORKER_MAX_ROOMS", DEFAULT_WORKER_MAX_ROOMS))


def room_control_rate() -> tuple[float, int]:
    rate = float(getattr(settings, "FANOUT_ROOM_CONTROL_RATE", DEFAULT_ROOM_CONTROL_RATE))
    burst = int(getattr(settings, "FANOUT_ROOM_CONTROL_BURST", DEFAULT_ROOM_CONTROL_BURST))
    return rate, burst


def room_idle_seconds() -> float:
    """How long a stopped room's checkpoint and snapshot stay, for a viewer coming back."""
    return float(getattr(settings, "FANOUT_ROOM_IDLE_SECONDS", 120.0))


def queue() -> str:
    return str(getattr(settings, "FANOUT_CELERY_QUEUE", "fanout-rooms"))
