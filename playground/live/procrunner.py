"""The embedded mode's runner when rooms simulate in the simulation process (``simhost``).

``ProcessRunner`` is a ``Runner`` whose simulation lives in a child process this Daphne starts
(``SimHost``, one per Daphne process): controls and commands go down a pipe, finished frame and
snapshot texts come back and go to the room's subscribers (the fan-out hub). Daphne's event loop
only moves texts: building, stepping, measuring and encoding happen in the child, on the other
core (issue 19, points 1 and 2).

If the child dies, every room learns it (a ``notice`` and a ``hello``: the viewers' next Run
loads the topology again) and the next request starts a fresh child.

Settings: ``FANOUT_SIM_PROCESS`` (default on; off runs the simulations on Daphne's loop as
``EmbeddedRunner`` tasks, as the tests of the runner itself do).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.conf import settings

from playground import engine
from playground.live import protocol
from playground.live.runner import Listener, Message, NoSimulation, tick_seconds_setting
from playground.live.simhost import encode, read_message

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[2]
STOP_SECONDS = 5.0


def enabled() -> bool:
    value = getattr(settings, "FANOUT_SIM_PROCESS", None)
    if value is None:
        value = os.environ.get("FANOUT_SIM_PROCESS", "1") not in ("0", "false", "no", "")
    return bool(value)


class HostError(RuntimeError):
    """The simulation process refused a request for a reason the consumer does not map."""


class SimHost:
    """The child process and the pipe to it; one per Daphne process (``get_host``)."""

    def __init__(self, tick_seconds: float) -> None:
        self.tick_seconds = tick_seconds
        self.runners: dict[str, ProcessRunner] = {}
        self._proc: asyncio.subprocess.Process | None = None
        self._reader_task: asyncio.Task[None] | None = None
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._ids = itertools.count(1)
        self._starting: asyncio.Lock | None = None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    async def _ensure(self) -> asyncio.subprocess.Process:
        if self._starting is None:
            self._starting = asyncio.Lock()
        async with self._starting:
            if self._proc is not None and self._proc.returncode is None:
                return self._proc
            env = dict(os.environ)
            env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
            self._proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "playground.live.simhost",
                repr(self.tick_seconds),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                cwd=str(ROOT),
                env=env,
                limit=64 * 1024 * 1024,
            )
            self._reader_task = asyncio.create_task(self._read(self._proc), name="simhost-reader")
            # Rooms open in the previous child (if it died) open again, empty.
            for room in list(self.runners):
                self._send(self._proc, {"op": "open", "room": room})
            return self._proc

    def _send(self, proc: asyncio.subprocess.Process, message: dict[str, Any]) -> None:
        assert proc.stdin is not None
        proc.stdin.write(encode(message))

    async def request(self, room: str, op: str, **fields: Any) -> Any:
        proc = await self._ensure()
        request_id = next(self._ids)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        self._send(proc, {"op": op, "room": room, "id": request_id, **fields})
        assert proc.stdin is not None
        await proc.stdin.drain()
        return await future

    async def _read(self, proc: asyncio.subprocess.Process) -> None:
        assert proc.stdout is not None
        try:
            while True:
                message = await read_message(proc.stdout)
                if message is None:
                    break
                if message["op"] == "pub":
                    runner = self.runners.get(message["room"])
                    if runner is not None:
                        await runner.deliver(message["msg"])
                elif message["op"] == "reply":
                    future = self._pending.pop(message["id"], None)
                    if future is not None and not future.done():
                        future.set_result(message)
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("simulation process: reading its output failed")
        await self._lost(proc)

    async def _lost(self, proc: asyncio.subprocess.Process) -> None:
        if self._proc is not proc:
            return
        self._proc = None
        pending, self._pending = self._pending, {}
        for future in pending.values():
            if not future.done():
                future.set_exception(HostError("the simulation process stopped"))
        if self.runners:
            logger.error("simulation process %s ended; %d rooms lose their runs", proc.pid, len(self.runners))
        for runner in list(self.runners.values()):
            await runner.lost()

    async def close(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.stdin is not None:
            proc.stdin.close()  # the child's cue to stop
        try:
            await asyncio.wait_for(proc.wait(), STOP_SECONDS)
        except TimeoutError:
            proc.kill()
            await proc.wait()
        if self._reader_task is not None:
            self._reader_task.cancel()
        for future in self._pending.values():
            if not future.done():
                future.cancel()
        self._pending = {}


_host: SimHost | None = None


def get_host() -> SimHost:
    global _host
    if _host is None:
        _host = SimHost(tick_seconds_setting())
    return _host


async def reset_host() -> None:
    global _host
    host, _host = _host, None
    if host is not None:
        await host.close()


def _raise_for(reply: dict[str, Any]) -> Any:
    if reply.get("ok"):
        return reply.get("result")
    code, message = reply.get("error"), str(reply.get("message", ""))
    if code == "no_simulation":
        raise NoSimulation(message)
    if code == "bad_command":
        raise engine.CommandError(message)
    if code == "bad_message":
        raise ValueError(message)
    raise HostError(message)


class ProcessRunner:
    """A ``Runner`` whose simulation runs in the simulation process."""

    def __init__(self, room: str, *, host: SimHost | None = None) -> None:
        self.room = room
        self.host = host or get_host()
        self._listeners: list[Listener] = []
        self._seq = 0
        self._has_simulation = False
        self._snapshot: tuple[int, str] | None = None  # the newest published, served to resyncs
        self.last_frame: str | None = None

    @property
    def has_simulation(self) -> bool:
        return self._has_simulation

    @property
    def seq(self) -> int:
        return self._seq

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        self._listeners.append(listener)

        def unsubscribe() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return unsubscribe

    def hello(self, controller: bool) -> str:
        state = {"running": False, "speed": 1.0, "tick": 0, "effective_speed": 0.0, "limited": None}
        return protocol.hello(self.room, state=state, seq=self._seq, controller=controller)

    async def _call(self, op: str, **fields: Any) -> Any:
        """A request to the room in the simulation process. If that process died meanwhile, a
        load is sent again to its successor; anything else finds no simulation there."""
        for attempt in range(2):
            try:
                return _raise_for(await self.host.request(self.room, op, **fields))
            except HostError:
                if op not in ("load", "open") or attempt:
                    raise NoSimulation("the simulation stopped on the server; load the topology again") from None
        return None  # pragma: no cover - the loop returns or raises

    async def start(self) -> None:
        self.host.runners[self.room] = self
        await self._call("open")

    async def stop(self) -> None:
        if self.host.runners.get(self.room) is self:
            del self.host.runners[self.room]
        try:
            await self.host.request(self.room, "close")
        except HostError:
            pass

    async def load(self, document: engine.Document, seed: int | None = None) -> None:
        await self._call("load", document=document.to_dict(), seed=seed)

    async def control(self, action: str, value: float | None = None) -> None:
        if not self._has_simulation:
            raise NoSimulation("no topology is loaded in this room yet")
        await self._call("control", action=action, value=value)

    async def command(self, command: dict[str, Any]) -> None:
        if not self._has_simulation:
            raise NoSimulation("no topology is loaded in this room yet")
        await self._call("command", command=command)

    async def set_watched(self, watched: bool) -> None:
        try:
            await self._call("watched", watched=watched)
        except NoSimulation:
            pass

    async def snapshot_body(self) -> tuple[int, str | None]:
        if not self._has_simulation:
            return self._seq, None
        if self._snapshot is not None and self._snapshot[0] == self._seq:
            return self._snapshot  # nothing happened since: no round trip, no new text
        try:
            seq, body = await self._call("snapshot")
        except NoSimulation:
            return self._seq, None
        if body is not None:
            self._snapshot = (seq, body)
        return seq, body

    async def deliver(self, message: Message) -> None:
        """A message the room published in the simulation process: to every subscriber."""
        if message.get("type") == "room.snapshot":
            self._seq = int(message["seq"])  # a new run (a restarted process counts from 0)
        else:
            self._seq = max(self._seq, int(message.get("seq", self._seq)))
        if message.get("type") == "room.snapshot":
            self._has_simulation = True
            self._snapshot = (message["seq"], message["text"])
        elif message.get("type") == "room.frame":
            self.last_frame = message["text"]
        for listener in list(self._listeners):
            await listener(message)

    async def lost(self) -> None:
        """The simulation process died: the run is gone; say so and start the room empty."""
        self._has_simulation = False
        self._snapshot = None
        text = protocol.notice(
            "restarted", "The simulation stopped on the server; press Run to start it again."
        )
        for listener in list(self._listeners):
            await listener({"type": "room.notice", "text": text})
