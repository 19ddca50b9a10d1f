"""The fleet of workers in Redis: leases, capacity (admission), registration and the watchdog.

Why a lease and a watchdog rather than Celery's own redelivery: a room's task runs for as long as
the room lives (hours), and Celery's late acknowledgement on the Redis broker redelivers only
after the broker's visibility timeout (an hour by default; shorter would redeliver tasks that are
still running). A lease says within seconds, and without clock agreement between machines (Redis
expires it), that a room's worker is gone.

Who resumes: every worker runs a watchdog thread (``tasks.Heartbeat``) that looks, twice a
second, for rooms in ``keys.rooms`` with neither a lease nor a queued start, marks them
``starting`` (so only one watchdog queues them) and queues their task; any worker with a free
slot takes it and restores the checkpoint. The watchdog lives in the workers because resuming
needs a live worker anyway: no extra process (Celery beat) to deploy, watch and keep single.

Everything that decides is one Lua script, so two Daphnes or two watchdogs racing cannot both
win. Scripts compute key names from the prefix, so this assumes one Redis (not a cluster).
"""

from __future__ import annotations

from typing import Any

from playground.live.scaled import conf, keys

LEASE_LOST = 0
LEASE_KEPT = 1
LEASE_REGAINED = 2

# KEYS: lease, rooms, watched. ARGV: owner, ttl ms, room.
# Returns {status, watched}: kept (ours, TTL renewed), regained (missing, e.g. Redis restarted:
# taken again), lost (another worker's).
_REFRESH = """
local v = redis.call('GET', KEYS[1])
local status
if v == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2]); status = 1
elseif not v then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]); status = 2
else
  return {0, 0}
end
redis.call('SADD', KEYS[2], ARGV[3])
return {status, redis.call('EXISTS', KEYS[3])}
"""

# KEYS: lease. ARGV: owner.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""

# KEYS: rooms, workers, lease, starting, checkpoint, control. ARGV: room, worker key prefix,
# starting ttl ms. Returns 1 (running or queued already), 0 (caller must queue the task),
# -1 (no live worker), -2 (every slot taken).
_ADMIT = """
if redis.call('EXISTS', KEYS[3]) == 1 or redis.call('EXISTS', KEYS[4]) == 1 then return 1 end
local capacity = 0
for _, id in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  local slots = redis.call('GET', ARGV[2] .. id)
  if slots then capacity = capacity + tonumber(slots) else redis.call('SREM', KEYS[2], id) end
end
if capacity == 0 then return -1 end
if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 0 then
  if redis.call('SCARD', KEYS[1]) >= capacity then return -2 end
  if redis.call('EXISTS', KEYS[5]) == 0 then redis.call('DEL', KEYS[6]) end
  redis.call('SADD', KEYS[1], ARGV[1])
end
redis.call('SET', KEYS[4], 'daphne', 'PX', ARGV[3])
return 0
"""

# KEYS: rooms. ARGV: key prefix, starting ttl ms. Returns the rooms to queue again.
# A room that never ran (no checkpoint: its task was queued but no worker took it in time, e.g.
# every slot was busy) is forgotten, not queued again and again: its viewer was told the server
# is busy, and the next load admits it afresh.
_WATCHDOG = """
local out = {}
for _, room in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local base = ARGV[1] .. ':room:' .. room
  if redis.call('EXISTS', base .. ':lease') == 0 and redis.call('EXISTS', base .. ':starting') == 0 then
    if redis.call('EXISTS', base .. ':checkpoint') == 0 then
      redis.call('SREM', KEYS[1], room)
    else
      redis.call('SET', base .. ':starting', 'watchdog', 'PX', ARGV[2])
      table.insert(out, room)
    end
  end
end
return out
"""

STARTING_MS = 15_000  # a queued task not started by then is queued again
WORKER_TTL_MS = 5_000

ADMITTED = 0
ALREADY = 1
NO_WORKER = -1
FULL = -2


async def refresh_lease(client: Any, room: str, owner: str, ttl_ms: int) -> tuple[int, bool]:
    status, watched = await client.eval(
        _REFRESH, 3, keys.lease(room), keys.rooms(), keys.watched(room), owner, ttl_ms, room
    )
    return int(status), bool(watched)


async def release_lease(client: Any, room: str, owner: str) -> None:
    await client.eval(_RELEASE, 1, keys.lease(room), owner)


async def admit(client: Any, room: str) -> int:
    """Whether ``room`` may start: ADMITTED (queue its task now), ALREADY, NO_WORKER or FULL."""
    return int(
        await client.eval(
            _ADMIT,
            6,
            keys.rooms(),
            keys.workers(),
            keys.lease(room),
            keys.starting(room),
            keys.checkpoint(room),
            keys.control(room),
            room,
            keys.worker("", conf.prefix()),
            STARTING_MS,
        )
    )


def register_worker(client: Any, worker_id: str, slots: int) -> None:
    """Say (again) that this worker is alive with ``slots`` room slots; expires unless renewed."""
    pipe = client.pipeline(transaction=False)
    pipe.set(keys.worker(worker_id), slots, px=WORKER_TTL_MS)
    pipe.sadd(keys.workers(), worker_id)
    pipe.execute()


def unregister_worker(client: Any, worker_id: str) -> None:
    pipe = client.pipeline(transaction=False)
    pipe.delete(keys.worker(worker_id))
    pipe.srem(keys.workers(), worker_id)
    pipe.execute()


def orphaned_rooms(client: Any) -> list[str]:
    """Rooms that must run but have no lease and no queued task, now marked as queued."""
    rooms = client.eval(_WATCHDOG, 1, keys.rooms(), conf.prefix(), STARTING_MS)
    return [r.decode() if isinstance(r, bytes) else r for r in rooms]
