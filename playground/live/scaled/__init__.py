"""The scaled runner backend: rooms run as Celery tasks, frames and controls travel over Redis.

Nothing here is imported in the embedded mode (``playground.live.backends`` imports it only when
``FANOUT_RUNNER`` is ``celery``), so the default mode needs neither Redis nor Celery.

- ``keys``: every Redis key and channel name, and what lives there.
- ``conf``: the scaled-mode settings, read from Django settings.
- ``fleet``: worker registration, capacity (admission), leases and the watchdog.
- ``worker``: a room's simulation inside a worker (tick loop, control stream, checkpoints).
- ``tasks``: the Celery task that runs a room, and the worker's heartbeat thread.
- ``runner``: ``ScaledRunner``, the ``Runner`` a Daphne process talks to.
"""
