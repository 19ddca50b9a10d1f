"""Runners: what advances a room's simulation and publishes its frames.

``Runner`` is the interface the consumers talk to; ``EmbeddedRunner`` is the default backend, an
asyncio task in the ASGI process. A scaled backend (a Celery worker publishing over the Redis
channel layer) implements the same interface.

Pacing: one tick per ``FANOUT_TICK_SECONDS`` of wall time (0.1 s), each advancing the engine by
``SIM_SECONDS_PER_TICK × speed`` simulated seconds. The engine is CPU-bound and knows nothing of
wall time, so the runner cuts a tick into slices sized to take about ``SLICE_SECONDS`` of wall
time each, gives the event loop back between slices (other rooms' frames and every control stay
on time), and stops a tick's work once it has used its budget (``TICK_BUDGET_SHARE`` of the tick
interval). When the budget cuts a tick short the run falls behind the asked speed rather than
the loop falling behind: ``state.effective_speed`` says what the run achieved.

Fairness (issue 19 point 2): every runner of a process shares one ``Scheduler``, a CPU budget
for the whole process (``CPU_SHARE`` of one core). A tick's budget is the room's own budget,
scaled down when the process as a whole spent more than its share over the last second (frames,
metrics and encoding included; CPU time, so other processes on the machine do not count). So a
saturated process slows every room evenly (every tick's budget scaled by one factor: the rooms
that cost most give most back, a light one is not slowed): lower simulated speed and fewer flow
events per frame, and ``state.limited`` tells the viewers why (``"server_busy"``, or
``"topology"`` when the room's own topology costs more than real time allows). Building a
simulation (load, reset) runs in a thread, so no single call holds the loop for the length of
a big document's build.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from django.conf import settings

from playground import engine
from playground.live import protocol

logger = logging.getLogger(__name__)

SIM_SECONDS_PER_TICK = 0.1
DEFAULT_TICK_SECONDS = 0.1
TICK_BUDGET_SHARE = 0.4  # of the tick interval: 40 ms of a 100 ms frame
SLICE_SECONDS = 0.005  # wall time between two returns to the event loop
SUBSTEP_SECONDS = 0.002  # wall time one engine call is sized to take (its cost is bursty)
MAX_SUBSTEP = 0.01  # simulated seconds one engine call may cover
MIN_SUBSTEP = 0.0001
DEFAULT_SEED = 1
RECENT_DLQ = 50
RECENT_HISTORY = 20
CPU_SHARE = 0.85  # of one core: what the rooms of one process may spend together
MIN_FACTOR = 0.05
MIN_FLOW_EVENTS = 20

# Wall time, for pacing and budgets only (the engine never sees it); tests may replace it.
clock = time.perf_counter

Message = dict[str, Any]
Publish = Callable[[Message], Awaitable[None]]
Listener = Callable[[Message], Awaitable[None]]


class Scheduler:
    """The CPU budget all the rooms of one process share (see the module's docstring)."""

    def __init__(self, share: float = CPU_SHARE, window: float = 1.0) -> None:
        self.share = share
        self.window = window
        self.active: set[int] = set()  # ids of the runners running now
        self._spent: deque[tuple[float, float]] = deque()
        self._total = 0.0
        self.factor = 1.0  # 1: no pressure; less: every room does that share of its work
        self._adjusted = 0.0

    def record(self, seconds: float) -> None:
        """A room spent ``seconds`` of CPU on a tick (simulating, measuring, encoding)."""
        now = clock()
        self._spent.append((now, seconds))
        self._total += seconds
        while self._spent and now - self._spent[0][0] > self.window:
            self._total -= self._spent.popleft()[1]
        if now - self._adjusted >= self.window / 5:
            self._adjusted = now
            load = max(self._total, 0.0) / self.window
            if load > 0:
                wanted = self.factor * (self.share / load) ** 0.5
                self.factor = min(1.0, max(MIN_FACTOR, wanted))

    def tick_budget(self, own: float, tick_seconds: float) -> float:
        """Wall seconds one room's tick may spend advancing its simulation: its own budget while
        the process keeps within its share; past it, every room's budget scaled by the same
        factor (the process's share over what it spent, smoothed). A room that needs less than
        its budget (a light topology) is not slowed; the rooms that cost most give most back."""
        return own * self.factor

    @property
    def busy(self) -> bool:
        return self.factor < 0.99

    def max_flow(self) -> int:
        return max(MIN_FLOW_EVENTS, int(protocol.MAX_FLOW_EVENTS * self.factor))


_scheduler: Scheduler | None = None


def get_scheduler() -> Scheduler:
    global _scheduler
    if _scheduler is None:
        _scheduler = Scheduler()
    return _scheduler


class NoSimulation(RuntimeError):
    """A control or command reached a room that has no document loaded."""


class Runner(Protocol):
    """What a consumer may ask of a room's simulation, whichever backend runs it.

    Published messages (to the room's group and to subscribers) are channel-layer events:
    ``{"type": "room.frame", "seq", "text"}`` and ``{"type": "room.snapshot", "seq", "text"}``,
    where a snapshot's text lacks the per-viewer ``controller`` field
    (see ``protocol.with_controller``).
    """

    room: str

    @property
    def has_simulation(self) -> bool: ...

    @property
    def seq(self) -> int: ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def load(self, document: engine.Document, seed: int | None = None) -> None: ...

    async def control(self, action: str, value: float | None = None) -> None: ...

    async def command(self, command: dict[str, Any]) -> None: ...

    async def snapshot_body(self) -> tuple[int, str | None]: ...

    def hello(self, controller: bool) -> str: ...

    def subscribe(self, listener: Listener) -> Callable[[], None]: ...


async def _nowhere(message: Message) -> None:
    """The embedded runner's frames reach viewers through its subscribers (the fan-out hub of
    this process), not through a channel-layer group: nothing else to publish to."""


def tick_seconds_setting() -> float:
    return float(getattr(settings, "FANOUT_TICK_SECONDS", DEFAULT_TICK_SECONDS))


class EmbeddedRunner:
    """Runs one room's simulation as an asyncio task in this process.

    Every change to the simulation and every publication happens under one lock, so frames leave
    in ``seq`` order and a command never lands in the middle of a frame being built.
    """

    def __init__(
        self,
        room: str,
        *,
        publish: Publish | None = None,
        tick_seconds: float | None = None,
        default_seed: int = DEFAULT_SEED,
        scheduler: Scheduler | None = None,
    ) -> None:
        self.room = room
        self.scheduler = scheduler or get_scheduler()
        self._publish_to_layer = publish or _nowhere
        self.tick_seconds = tick_seconds if tick_seconds is not None else tick_seconds_setting()
        self.budget_seconds = self.tick_seconds * TICK_BUDGET_SHARE
        self.default_seed = default_seed
        self._listeners: list[Listener] = []
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

        self._sim: engine.Simulation | None = None
        self._document: engine.Document | None = None
        self._document_dict: dict[str, Any] | None = None
        self._seed = default_seed
        self._running = False
        self._watched = True  # False: nobody watches, so the run is suspended (costs nothing)
        self._speed = 1.0
        self._tick = 0
        self._seq = 0
        self._effective_speed = 0.0
        self._tick_ms = 0.0
        self._limited: str | None = None
        self._last_tick_at: float | None = None
        self._wall_per_sim = 0.0  # measured cost of one simulated second, for slice sizing
        self._snapshot_cache: tuple[int, str] | None = None
        self._frame_metrics: dict[str, Any] | None = None  # the last frame's, for deltas
        self.delta_frames = True
        self.build_in_thread = True  # False where the loop has a thread of its own (a worker room)
        self.last_frame: str | None = None

    # -- reading ----------------------------------------------------------------------------

    @property
    def has_simulation(self) -> bool:
        return self._sim is not None

    @property
    def seq(self) -> int:
        return self._seq

    @property
    def running(self) -> bool:
        return self._running

    @property
    def now(self) -> float:
        return self._sim.now if self._sim is not None else 0.0

    def state(self) -> dict[str, Any]:
        return {
            "running": self._running,
            "speed": self._speed,
            "tick": self._tick,
            "effective_speed": self._effective_speed,
            "tick_ms": self._tick_ms,
            "seed": self._seed,
            "limited": self._limited,
        }

    def hello(self, controller: bool) -> str:
        return protocol.hello(self.room, state=self.state(), seq=self._seq, controller=controller)

    async def snapshot_body(self) -> tuple[int, str | None]:
        """``(seq, snapshot text without controller)``; the text is None with no document loaded.

        Taken under the lock, so it never shows a tick half done. Cached until the next change,
        so a burst of resyncs costs one serialisation.
        """
        async with self._lock:
            return self._seq, self._snapshot_body()

    def _snapshot_body(self) -> str | None:
        if self._sim is None or self._document_dict is None:
            return None
        if self._snapshot_cache is not None and self._snapshot_cache[0] == self._seq:
            return self._snapshot_cache[1]
        metrics = self._sim.metrics()
        text = protocol.snapshot_body(
            room=self.room,
            seq=self._seq,
            t=self._sim.now,
            document=self._document_dict,
            state=self.state(),
            metrics=metrics,
            recent=_recent(self._document, metrics),
        )
        self._snapshot_cache = (self._seq, text)
        return text

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Also hand every published message to ``listener``; returns the unsubscribe call."""
        self._listeners.append(listener)

        def unsubscribe() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return unsubscribe

    # -- life cycle -------------------------------------------------------------------------

    async def start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._loop(), name=f"fanout-room-{self.room}")

    async def stop(self) -> None:
        task, self._task = self._task, None
        self._running = False
        self._set_active()
        if task is not None:
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass

    async def set_watched(self, watched: bool) -> None:
        """Nobody watches (False): suspend the run at once, it costs nothing; someone is back
        (True): resume where it was. ``running`` is unchanged, so viewers see the run as left."""
        self._watched = watched
        self._set_active()
        if watched:
            self._last_tick_at = None
            self._wake.set()

    # -- controls ---------------------------------------------------------------------------

    async def load(self, document: engine.Document, seed: int | None = None) -> None:
        """Replace the simulation with a fresh one of ``document`` (t=0, paused)."""
        async with self._lock:
            self._seed = self.default_seed if seed is None else seed
            self._document = document
            self._document_dict = document.to_dict()
            await self._rebuild_off_loop()
            await self._publish_snapshot()

    async def control(self, action: str, value: float | None = None) -> None:
        if self._sim is None:
            raise NoSimulation("no topology is loaded in this room yet")
        async with self._lock:
            self._snapshot_cache = None
            if action == "run":
                self._running = True
                self._set_active()
                self._last_tick_at = None
                self._wake.set()
            elif action == "pause":
                self._running = False
                self._set_active()
                await self._publish_frame()
            elif action == "step":
                # One tick of simulated time exactly, whatever the speed and the budget.
                self._running = False
                self._set_active()
                started = clock()
                await self._advance(SIM_SECONDS_PER_TICK, budget=None)
                self._tick += 1
                self._tick_ms = round((clock() - started) * 1000, 2)
                await self._publish_frame()
            elif action == "reset":
                await self._rebuild_off_loop()
                await self._publish_snapshot()
            elif action == "speed":
                if value is None or not protocol.MIN_SPEED <= value <= protocol.MAX_SPEED:
                    raise ValueError("speed out of range")
                self._speed = float(value)
                if not self._running:
                    await self._publish_frame()
            else:
                raise ValueError(f"unknown action {action!r}")

    async def command(self, command: dict[str, Any]) -> None:
        """Apply an engine command now and publish a frame, so its effect shows at once.

        Raises engine.CommandError (nothing changed) or NoSimulation.
        """
        if self._sim is None:
            raise NoSimulation("no topology is loaded in this room yet")
        async with self._lock:
            if self._sim is None:
                raise NoSimulation("no topology is loaded in this room yet")
            self._sim.apply(command)
            await self._publish_frame()

    # -- the tick loop ----------------------------------------------------------------------

    async def tick(self) -> None:
        """One tick, as the loop runs it: advance within the budget and publish a frame."""
        async with self._lock:
            if self._sim is None or not self._running or not self._watched:
                return
            started = clock()
            cpu_started = time.thread_time()
            wanted = SIM_SECONDS_PER_TICK * self._speed
            budget = self.scheduler.tick_budget(self.budget_seconds, self.tick_seconds)
            done = await self._advance(wanted, budget=budget)
            if not self._running:  # stopped meanwhile (the lock keeps the simulation itself)
                return
            short = done < wanted * 0.95
            self._tick += 1
            # Achieved speed: the share of the asked simulated time done, and the share of the
            # tick interval the loop kept to (a late loop slows the run as much as a short tick).
            interval = self.tick_seconds
            if self._last_tick_at is not None:
                interval = max(self.tick_seconds, started - self._last_tick_at)
            self._last_tick_at = started
            achieved = (done / SIM_SECONDS_PER_TICK) * (self.tick_seconds / interval)
            self._effective_speed = _round_sig(achieved)
            if short and budget >= self.budget_seconds * 0.95:
                self._limited = "topology"  # its own cost: more than real time allows
            elif short or achieved < self._speed * 0.9:
                self._limited = "server_busy"  # shared with other rooms, or a late loop
            else:
                self._limited = None
            self._tick_ms = round((clock() - started) * 1000, 2)
            await self._publish_frame()
            # CPU, not wall time: a machine busy with other processes is not this one's load.
            self.scheduler.record(time.thread_time() - cpu_started)

    async def _loop(self) -> None:
        loop = asyncio.get_running_loop()
        next_at = loop.time()
        while True:
            if self._sim is None or not self._running or not self._watched:
                self._wake.clear()
                await self._wake.wait()
                next_at = loop.time()
            next_at += self.tick_seconds
            try:
                await self.tick()
            except asyncio.CancelledError:
                raise
            except Exception:
                # A bug must not take the room down silently: stop the run, keep the room.
                logger.exception("room %s: tick failed; run paused", self.room)
                self._running = False
                self._set_active()
                try:
                    async with self._lock:
                        await self._publish_frame()
                except Exception:
                    logger.exception("room %s: could not publish after a failed tick", self.room)
            delay = next_at - loop.time()
            if delay <= 0:
                # Late: start the next tick now, without bursting to catch up.
                next_at = loop.time()
                delay = 0
            await asyncio.sleep(delay)

    async def _advance(self, sim_seconds: float, *, budget: float | None) -> float:
        """Advance up to ``sim_seconds`` in slices; return the simulated seconds done.

        Gives the event loop back every ``SLICE_SECONDS`` of work; with a ``budget`` (wall
        seconds), stops once it is spent. Runs under the lock, so the simulation cannot be
        replaced meanwhile.
        """
        sim = self._sim
        assert sim is not None
        started = slice_started = clock()
        begin = sim.now
        target = begin + sim_seconds
        while target - sim.now > 1e-9:
            # The last slice ends exactly on the target, so steps land on round times.
            step = min(target - sim.now, self._substep())
            t0 = clock()
            sim.advance(step)
            t1 = clock()
            cost = (t1 - t0) / step
            previous = self._wall_per_sim
            self._wall_per_sim = cost if previous == 0 else 0.7 * previous + 0.3 * cost
            if budget is not None and t1 - started >= budget:
                break
            if t1 - slice_started >= SLICE_SECONDS:
                await asyncio.sleep(0)
                slice_started = clock()
        return sim.now - begin

    def _substep(self) -> float:
        if self._wall_per_sim <= 0:
            return MIN_SUBSTEP * 10
        return min(MAX_SUBSTEP, max(MIN_SUBSTEP, SUBSTEP_SECONDS / self._wall_per_sim))

    def _set_active(self) -> None:
        if self._running and self._watched and self._sim is not None:
            self.scheduler.active.add(id(self))
        else:
            self.scheduler.active.discard(id(self))

    async def _rebuild_off_loop(self) -> None:
        """``_rebuild`` with the engine's build in a thread: a big document's build (a second
        or more) never holds the event loop. Runs under the lock, so nothing sees it half done."""
        assert self._document is not None
        if not self.build_in_thread:
            self._rebuild()
            return
        document, seed = self._document, self._seed
        sim = await asyncio.to_thread(engine.Simulation, document, seed)
        self._rebuild(sim)

    def _rebuild(self, sim: engine.Simulation | None = None) -> None:
        assert self._document is not None
        self._sim = sim if sim is not None else engine.Simulation(self._document, self._seed)
        self._running = False
        self._limited = None
        self._frame_metrics = None
        self._set_active()
        self._tick = 0
        self._effective_speed = 0.0
        self._tick_ms = 0.0
        self._wall_per_sim = 0.0
        self._last_tick_at = None
        self._snapshot_cache = None

    # -- publishing -------------------------------------------------------------------------

    async def _publish_frame(self) -> None:
        sim = self._sim
        assert sim is not None
        events, sampled = protocol.sample_events(sim.drain_events(), max_flow=self.scheduler.max_flow())
        self._seq += 1
        metrics = protocol.frame_metrics(sim.metrics())
        delta = protocol.metrics_delta(self._frame_metrics, metrics) if self.delta_frames else None
        self._frame_metrics = metrics
        text = protocol.frame(
            seq=self._seq,
            t=sim.now,
            events=events,
            metrics=metrics if delta is None else delta,
            state=self.state(),
            sampled=sampled,
            delta=delta is not None,
        )
        self.last_frame = text
        await self._publish({"type": "room.frame", "seq": self._seq, "text": text})

    async def _publish_snapshot(self) -> None:
        # Events of the replaced run belong to nobody now.
        if self._sim is not None:
            self._sim.drain_events()
        self._snapshot_cache = None
        self._frame_metrics = None  # the next frame is complete
        body = self._snapshot_body()
        assert body is not None
        await self._publish({"type": "room.snapshot", "seq": self._seq, "text": body})

    async def _publish(self, message: Message) -> None:
        await self._publish_to_layer(message)
        for listener in list(self._listeners):
            await listener(message)


def _recent(document: engine.Document | None, metrics: dict[str, Any]) -> dict[str, list[Any]]:
    """What a late joiner needs to draw the lists it missed: the dead letters of every dead-letter
    store (``dlq``), and each history its node types declare (``rebalances`` ...), all nodes'
    entries merged in time order, each with its node's id (``g``)."""
    dlq: list[dict[str, Any]] = []
    histories: dict[str, list[dict[str, Any]]] = {}
    nodes = metrics.get("nodes", {})
    for node in document.nodes if document is not None else ():
        view = nodes.get(node.id)
        if not isinstance(view, dict):
            continue
        node_type = engine.get_node_type(node.type)
        if node_type.dead_letter_store:
            dlq.extend(dict(e, store=node.id) for e in view.get("recent", ()))
        for key in getattr(node_type.runtime_class, "histories", ()):
            histories.setdefault(key, []).extend({"g": node.id, **entry} for entry in view.get(key, ()))
    dlq.sort(key=lambda e: e.get("t", 0))
    out = {"dlq": dlq[-RECENT_DLQ:]}
    for key, entries in histories.items():
        entries.sort(key=lambda e: e.get("started", e.get("t", 0)))
        out[key] = entries[-RECENT_HISTORY:]
    return out


def _round_sig(value: float) -> float:
    return float(f"{value:.3g}")
