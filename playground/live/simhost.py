"""The simulation process: where the embedded mode's rooms simulate, off Daphne's event loop.

Daphne's process keeps the sockets, the fan-out and the pages; every room's simulation (build,
steps, metrics, frame encoding) runs here, in a child process of its own (issue 19, points 1
and 2): on this 2-core machine the second core does the simulating, and whatever one room costs
(a 1,024-partition document's build takes over a second), Daphne's loop only ever reads
finished frame texts from a pipe.

Inside, each room is an ``EmbeddedRunner`` (the same pacing, budgets and frames as ever), all of
them sharing the process's ``Scheduler``: a CPU budget split evenly between the running rooms,
so a saturated process slows every room alike and says so in ``state.limited``.

Wire: both ways, messages are a 4-byte big-endian length then a pickle (parent and child are
the same program; nothing from a browser is ever unpickled: documents arrive as dicts that the
engine parses again). Parent to child: ``{"op", "room", "id", ...}`` requests; child to parent:
``{"op": "reply", "id", "ok"|"error"...}`` and ``{"op": "pub", "room", "msg"}`` for every message
a room publishes, a room's publications before the reply of the request that caused them.

Run as ``python -m playground.live.simhost TICK_SECONDS``; ``procrunner.SimHost`` starts it.
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
import pickle
import signal
import struct
import sys
from typing import Any

from playground import engine
from playground.live.runner import EmbeddedRunner, Message, NoSimulation, Scheduler

logger = logging.getLogger("playground.live.simhost")

HEADER = struct.Struct(">I")
MAX_MESSAGE = 64 * 1024 * 1024


def encode(message: dict[str, Any]) -> bytes:
    body = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    return HEADER.pack(len(body)) + body


async def read_message(reader: asyncio.StreamReader) -> dict[str, Any] | None:
    """The next message, or None at the end of the stream."""
    try:
        header = await reader.readexactly(HEADER.size)
        (size,) = HEADER.unpack(header)
        if size > MAX_MESSAGE:
            raise ValueError(f"message of {size} bytes")
        return pickle.loads(await reader.readexactly(size))
    except asyncio.IncompleteReadError:
        return None


MAX_BACKLOG_BYTES = 32 * 1024 * 1024  # frames waiting for Daphne to read them; past it, dropped
F_SETPIPE_SZ = 1031  # Linux: fcntl to resize a pipe's buffer


class Host:
    """The rooms of this process and the requests that reach them, one queue per room.

    Writes never block the simulations: they go to an asyncio write transport (the pipe's buffer
    enlarged to 1 MiB, then memory). If Daphne falls behind by more than MAX_BACKLOG_BYTES,
    frames are dropped (never replies or snapshots): the viewers see a gap in seq and resync.
    """

    def __init__(self, out: asyncio.WriteTransport | int, tick_seconds: float) -> None:
        self.out = out
        self.tick_seconds = tick_seconds
        self.dropped = 0
        self.scheduler = Scheduler()
        self.runners: dict[str, EmbeddedRunner] = {}
        self.queues: dict[str, asyncio.Queue[dict[str, Any]]] = {}
        self.workers: dict[str, asyncio.Task[None]] = {}

    def write(self, message: dict[str, Any]) -> None:
        if isinstance(self.out, int):  # a plain descriptor (tests): blocking writes
            data = memoryview(encode(message))
            while data:
                data = data[os.write(self.out, data) :]
            return
        if (
            message.get("op") == "pub"
            and message["msg"].get("type") == "room.frame"
            and self.out.get_write_buffer_size() > MAX_BACKLOG_BYTES
        ):
            self.dropped += 1
            return
        self.out.write(encode(message))

    def submit(self, request: dict[str, Any]) -> None:
        room = request["room"]
        queue = self.queues.get(room)
        if queue is None:
            queue = self.queues[room] = asyncio.Queue()
            self.workers[room] = asyncio.create_task(self._serve(room, queue), name=f"simhost-{room}")
        queue.put_nowait(request)

    async def _serve(self, room: str, queue: asyncio.Queue[dict[str, Any]]) -> None:
        while True:
            request = await queue.get()
            reply: dict[str, Any] = {"op": "reply", "id": request.get("id")}
            try:
                reply["result"] = await self._handle(room, request)
                reply["ok"] = True
            except NoSimulation as exc:
                reply.update(ok=False, error="no_simulation", message=str(exc))
            except engine.CommandError as exc:
                reply.update(ok=False, error="bad_command", message=str(exc))
            except engine.DocumentError as exc:
                reply.update(ok=False, error="invalid_document", message=str(exc))
            except ValueError as exc:
                reply.update(ok=False, error="bad_message", message=str(exc))
            except Exception as exc:  # a bug: the room stays, the caller hears of it
                logger.exception("room %s: %s failed", room, request.get("op"))
                reply.update(ok=False, error="internal", message=f"{type(exc).__name__}: {exc}")
            if request.get("id") is not None:
                self.write(reply)
            if request.get("op") == "close":
                self.queues.pop(room, None)
                self.workers.pop(room, None)
                return

    async def _handle(self, room: str, request: dict[str, Any]) -> Any:
        op = request["op"]
        runner = self.runners.get(room)
        if op == "open":
            if runner is None:
                runner = self.runners[room] = EmbeddedRunner(
                    room,
                    publish=self._publisher(room),
                    tick_seconds=self.tick_seconds,
                    scheduler=self.scheduler,
                )
                await runner.start()
            return None
        if runner is None:
            raise NoSimulation("this room is not open in the simulation process")
        if op == "close":
            del self.runners[room]
            await runner.stop()
            return None
        if op == "load":
            document = engine.parse_document(request["document"])
            await runner.load(document, request.get("seed"))
            return None
        if op == "control":
            await runner.control(request["action"], request.get("value"))
            return None
        if op == "command":
            await runner.command(request["command"])
            return None
        if op == "snapshot":
            return await runner.snapshot_body()
        if op == "watched":
            await runner.set_watched(bool(request["watched"]))
            return None
        raise ValueError(f"unknown op {op!r}")

    def _publisher(self, room: str):
        async def publish(message: Message) -> None:
            self.write({"op": "pub", "room": room, "msg": message})

        return publish


async def serve(tick_seconds: float, out_fd: int) -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=MAX_MESSAGE)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin.buffer)
    try:
        fcntl.fcntl(out_fd, F_SETPIPE_SZ, 1024 * 1024)
    except OSError:  # not Linux, or over pipe-max-size: the default buffer will do
        pass
    transport, _ = await loop.connect_write_pipe(asyncio.Protocol, os.fdopen(out_fd, "wb", buffering=0))
    host = Host(transport, tick_seconds)
    while True:
        request = await read_message(reader)
        if request is None:
            break  # the parent is gone (or closed our stdin to stop us)
        host.submit(request)
    for runner in list(host.runners.values()):
        await runner.stop()


def main() -> None:
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="simhost %(levelname)s %(message)s")
    # Daphne's Ctrl-C reaches the whole process group: the parent decides when this one ends.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    tick_seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 0.1
    out_fd = os.dup(sys.stdout.buffer.fileno())
    os.dup2(sys.stderr.fileno(), sys.stdout.buffer.fileno())  # a stray print never corrupts the wire
    asyncio.run(serve(tick_seconds, out_fd))


if __name__ == "__main__":
    main()
