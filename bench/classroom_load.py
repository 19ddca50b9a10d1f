"""A classroom on one server: the load targets of issue 19, measured and printed.

    .venv/bin/python bench/classroom_load.py --seconds 30
    .venv/bin/python bench/classroom_load.py --seconds 30 --attack
    .venv/bin/python bench/classroom_load.py --seconds 600 --attack      # the 10-minute memory figure
    .venv/bin/python bench/classroom_load.py --mode scaled --workers 2 --seconds 30

Loopback only, bounded in time (``--seconds`` <= 900) and count (rooms <= 60, attack messages
<= 200,000); every process it starts is stopped by its PID at the end.

What runs (embedded mode): one Daphne serving playground.asgi (plus, with the simulation
process, its child), and this one load-generator process on the same 2 cores:

- ``--starter`` rooms running ``starter`` and ``--reference`` rooms running ``reference``, all at
  ``--speed`` (1x). Each room has a controller (the room's key) and a viewer, each connecting
  from its own loopback address (127.0.1.N: every room is its own client for the per-client
  limits). Both ack every 10 frames as the browser does. The viewer counts frames; every
  ``--pause-every`` seconds the controller sends ``pause`` and times the frame that shows the
  run paused (the control's latency), then ``run`` again.
- a poller does GET / every 200 ms (sequentially, a fresh connection each) and times it.
- ``--attack``: one more client, from 127.0.0.2, runs every attack of issue 19 at once for the
  whole window: the heavy document (5 producers at 200k msg/s, 1,024 partitions, 256
  consumers) loaded, reset 10 times and stepped 20 times, again and again; up to 50 rooms of
  ``reference`` at 100x; a flood of one-byte invalid messages (reconnecting when closed); two
  viewers asking ``resync`` 20 times a second without reading.
- ``--mode scaled``: the same rooms over Celery workers (``--workers``, Redis at ``--redis-url``
  with a key prefix of this run's own), Daphne subscribing to each room.

Prints one line per figure, then one JSON line. Frames/s is per room, over the window after
``--settle`` seconds; memory is Daphne's RSS (and the simulation process's) sampled every 5 s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# The process helpers the live load test has (this script runs from bench/, as it does).
from load_test import children, free_port, rss_mib, wait_port

ROOT = Path(__file__).resolve().parent.parent
HEAD = re.compile(r'\{"v":\d+,"type":"(\w+)"(?:,"seq":(\d+))?')
ACK_EVERY = 10


def cpu_seconds(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def stop(proc: subprocess.Popen | None, wait: float = 10) -> float | None:
    """SIGTERM, then SIGKILL after ``wait`` s; returns how long it took to stop (None: killed)."""
    if proc is None or proc.poll() is not None:
        return 0.0
    started = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=wait)
        return round(time.monotonic() - started, 2)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGUSR1)  # a Celery worker prints its threads' stacks to its log
        time.sleep(1)
        proc.kill()
        proc.wait(timeout=5)
        return None


def load_example(root: Path, name: str) -> dict:
    return json.loads((root / "playground" / "examples" / f"{name}.json").read_text())


def heavy() -> dict:
    """The issue's document: 5 producers at 200k msg/s, 1,024 partitions, 256 consumers."""
    return {
        "fanout": 1,
        "name": "heavy",
        "nodes": [
            *({"id": f"p{i}", "type": "producer", "params": {"rate": 200000, "keys": 100000}} for i in range(5)),
            *({"id": f"topic{j}", "type": "kafka_topic", "params": {"partitions": 256}} for j in range(4)),
            *({"id": f"group{j}", "type": "consumer_group", "params": {"consumers": 64}} for j in range(4)),
        ],
        "edges": [
            *({"id": f"e{i}", "source": f"p{i}", "target": f"topic{i % 4}"} for i in range(5)),
            *({"id": f"g{j}", "source": f"topic{j}", "target": f"group{j}"} for j in range(4)),
        ],
    }


# ---------------------------------------------------------------------------------------------
# clients
# ---------------------------------------------------------------------------------------------


class Window:
    def __init__(self, start: float, end: float) -> None:
        self.start, self.end = start, end

    def inside(self, t: float | None = None) -> bool:
        t = time.time() if t is None else t
        return self.start <= t < self.end


async def connect(url: str, source: str, origin: str):
    import websockets

    return await websockets.connect(
        url,
        origin=origin,
        compression=None,
        max_size=None,
        open_timeout=30,
        ping_interval=None,
        local_addr=(source, 0),
    )


class Room:
    def __init__(self, index: int, name: str, document: dict, args, base: str, origin: str) -> None:
        self.index = index
        self.id = f"classroom-{name}-{index:03d}"
        self.document = document
        self.args = args
        self.base = base
        self.origin = origin
        self.source = f"127.0.1.{index + 1}"
        self.key = f"classroom-key-{index:03d}"
        self.frames = 0
        self.limited = 0
        self.pause_ms: list[float] = []
        self.errors: list[str] = []
        self.refused = False

    async def run(self, window: Window) -> None:
        try:
            controller = await connect(f"{self.base}/ws/rooms/{self.id}/?key={self.key}", self.source, self.origin)
            viewer = await connect(f"{self.base}/ws/rooms/{self.id}/", self.source, self.origin)
        except Exception as exc:
            self.errors.append(f"connect: {exc!r}")
            self.refused = True
            return
        try:
            await self._setup(controller)
            await asyncio.gather(self._view(viewer, window), self._control(controller, window))
        except Exception as exc:  # a closed socket ends this room's figures, not the run
            self.errors.append(repr(exc))
        finally:
            await controller.close()
            await viewer.close()

    async def _setup(self, ws) -> None:
        await ws.send(json.dumps({"type": "load", "document": self.document}))
        while True:
            text = await asyncio.wait_for(ws.recv(), 60)
            head = HEAD.match(text)
            if head and head.group(1) == "snapshot":
                break
            if head and head.group(1) == "error":
                self.refused = True
                raise RuntimeError(text[:200])
        await ws.send(json.dumps({"type": "control", "action": "speed", "value": self.args.speed}))
        await ws.send(json.dumps({"type": "control", "action": "run"}))

    async def _view(self, ws, window: Window) -> None:
        last_ack = None
        while time.time() < window.end:
            try:
                text = await asyncio.wait_for(ws.recv(), max(0.1, window.end - time.time()))
            except TimeoutError:
                break
            head = HEAD.match(text)
            if not head:
                continue
            kind, seq = head.group(1), head.group(2)
            if kind == "frame" and window.inside():
                self.frames += 1
                if '"limited":"' in text[-400:]:
                    self.limited += 1
            if seq is not None and kind in ("frame", "snapshot"):
                seq = int(seq)
                if last_ack is None or seq - last_ack >= ACK_EVERY or kind == "snapshot":
                    last_ack = seq
                    await ws.send(f'{{"type":"ack","seq":{seq}}}')

    async def _control(self, ws, window: Window) -> None:
        """Read the controller's socket; every ``pause_every`` s pause, time it, run again."""
        last_ack = None
        offset = (self.index * 0.37) % self.args.pause_every
        next_pause = window.start + offset
        pause_sent: float | None = None
        while time.time() < window.end:
            timeout = max(0.05, min(window.end, next_pause) - time.time())
            try:
                text = await asyncio.wait_for(ws.recv(), timeout)
            except TimeoutError:
                text = None
            now = time.time()
            if text is not None:
                head = HEAD.match(text)
                if head and head.group(2) is not None and head.group(1) in ("frame", "snapshot"):
                    seq = int(head.group(2))
                    if last_ack is None or seq - last_ack >= ACK_EVERY or head.group(1) == "snapshot":
                        last_ack = seq
                        await ws.send(f'{{"type":"ack","seq":{seq}}}')
                if pause_sent is not None and head and head.group(1) == "frame" and '"running":false' in text:
                    self.pause_ms.append((time.perf_counter() - pause_sent) * 1000)
                    pause_sent = None
                    await ws.send('{"type":"control","action":"run"}')
            if pause_sent is None and now >= next_pause and window.inside(now):
                pause_sent = time.perf_counter()
                next_pause = now + self.args.pause_every
                await ws.send('{"type":"control","action":"pause"}')
            elif pause_sent is not None and time.perf_counter() - pause_sent > 10:
                self.pause_ms.append(10_000.0)  # never came: counted as 10 s
                pause_sent = None
                await ws.send('{"type":"control","action":"run"}')


async def poll_get(port: int, window: Window, out: list[float], failures: list[str]) -> None:
    while time.time() < window.end:
        started = time.perf_counter()
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 30)
            writer.write(f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n".encode())
            await writer.drain()
            body = await asyncio.wait_for(reader.read(), 30)
            writer.close()
            ok = body.startswith(b"HTTP/1.1 200")
        except Exception as exc:
            ok, body = False, repr(exc).encode()
        took = (time.perf_counter() - started) * 1000
        if window.inside():
            out.append(took)
            if not ok:
                failures.append(body[:80].decode("latin-1"))
        await asyncio.sleep(max(0.0, 0.2 - took / 1000))


class Attacker:
    """Every attack of issue 19 at once, from 127.0.0.2, for the whole window (bounded)."""

    SOURCE = "127.0.0.2"
    MAX_FLOOD = 200_000

    def __init__(self, base: str, origin: str, root: Path) -> None:
        self.base, self.origin, self.root = base, origin, root
        self.counts = {"heavy_cycles": 0, "rooms_100x": 0, "rooms_refused": 0, "flood_sent": 0,
                       "flood_closed_4008": 0, "resyncs": 0}

    async def run(self, window: Window) -> None:
        await asyncio.gather(
            self._heavy(window),
            self._many_rooms(window),
            self._flood(window),
            self._resync(window, 0),
            self._resync(window, 1),
            return_exceptions=True,
        )

    async def _heavy(self, window: Window) -> None:
        ws = await connect(f"{self.base}/ws/rooms/attack-heavy-0001/?key=attack-key", self.SOURCE, self.origin)
        reader = asyncio.create_task(_drain(ws))
        try:
            while time.time() < window.end:
                await ws.send(json.dumps({"type": "load", "document": heavy()}))
                for _ in range(10):
                    await ws.send('{"type":"control","action":"reset"}')
                for _ in range(20):
                    await ws.send('{"type":"control","action":"step"}')
                self.counts["heavy_cycles"] += 1
                await asyncio.sleep(2.0)
        finally:
            reader.cancel()
            await ws.close()

    async def _many_rooms(self, window: Window) -> None:
        reference = load_example(self.root, "reference")
        sockets = []
        try:
            for i in range(50):
                try:
                    url = f"{self.base}/ws/rooms/attack-room-{i:04d}/?key=attack-key"
                    ws = await connect(url, self.SOURCE, self.origin)
                except Exception:
                    self.counts["rooms_refused"] += 1
                    continue
                sockets.append(ws)
                await ws.send(json.dumps({"type": "load", "document": reference}))
                await ws.send('{"type":"control","action":"speed","value":100}')
                await ws.send('{"type":"control","action":"run"}')
                self.counts["rooms_100x"] += 1
            readers = [asyncio.create_task(_drain(ws, refused=self.counts)) for ws in sockets]
            await asyncio.sleep(max(0.0, window.end - time.time()))
            for r in readers:
                r.cancel()
        finally:
            for ws in sockets:
                await ws.close()

    async def _flood(self, window: Window) -> None:
        while time.time() < window.end and self.counts["flood_sent"] < self.MAX_FLOOD:
            try:
                ws = await connect(f"{self.base}/ws/rooms/attack-flood-0001/", self.SOURCE, self.origin)
            except Exception:
                await asyncio.sleep(0.5)
                continue
            reader = asyncio.create_task(_drain(ws))
            try:
                while time.time() < window.end and self.counts["flood_sent"] < self.MAX_FLOOD:
                    await ws.send("x")
                    self.counts["flood_sent"] += 1
                    if self.counts["flood_sent"] % 50 == 0:
                        await asyncio.sleep(0.01)  # ~5,000 a second: the rest of the attack runs too
            except Exception:
                if ws.close_code == 4008:
                    self.counts["flood_closed_4008"] += 1
            finally:
                reader.cancel()
                await ws.close()
            await asyncio.sleep(0.2)

    async def _resync(self, window: Window, n: int) -> None:
        ws = await connect(f"{self.base}/ws/rooms/attack-heavy-0001/", self.SOURCE, self.origin)
        try:
            while time.time() < window.end:  # never reads: the server must bound what it holds
                await ws.send('{"type":"resync"}')
                self.counts["resyncs"] += 1
                await asyncio.sleep(0.05)
        except Exception:
            pass
        finally:
            ws.transport.abort()


async def _drain(ws, refused: dict | None = None) -> None:
    try:
        async for text in ws:
            if refused is not None and '"code":"room_full"' in text[:200]:
                refused["rooms_refused"] += 1
    except Exception:
        pass


async def drive(args, port: int, window_start: float) -> dict:
    base = f"ws://127.0.0.1:{port}"
    origin = f"http://127.0.0.1:{port}"
    starter, reference = load_example(ROOT, "starter"), load_example(ROOT, "reference")
    rooms = [Room(i, "starter", starter, args, base, origin) for i in range(args.starter)]
    rooms += [Room(args.starter + i, "reference", reference, args, base, origin) for i in range(args.reference)]
    window = Window(window_start, window_start + args.seconds)
    tasks = [asyncio.create_task(r.run(window)) for r in rooms]
    gets: list[float] = []
    get_failures: list[str] = []
    tasks.append(asyncio.create_task(poll_get(port, window, gets, get_failures)))
    attack = None
    if args.attack:
        # Its own process: a client flooding from this one's loop would slow our own clients.
        await asyncio.sleep(max(0.0, window.start - 2 - time.time()))  # rooms first, then the attack
        attack = await asyncio.create_subprocess_exec(
            str(ROOT / ".venv" / "bin" / "python"), __file__, "_attack", str(port), str(window.start),
            str(window.end), stdout=asyncio.subprocess.PIPE,
        )
    await asyncio.gather(*tasks, return_exceptions=True)
    attack_counts = None
    if attack is not None:
        out, _ = await attack.communicate()
        lines = out.decode().strip().splitlines()
        attack_counts = json.loads(lines[-1]) if lines else {"error": "the attack process said nothing"}
    per_room = [r.frames / args.seconds for r in rooms]
    pauses = [p for r in rooms for p in r.pause_ms]
    return {
        "rooms": len(rooms),
        "rooms_failed": [f"{r.id}: {r.errors[:1]}" for r in rooms if r.errors or r.refused][:5],
        "fps_min": round(min(per_room), 2) if per_room else None,
        "fps_median": round(pct(per_room, 0.5) or 0, 2),
        "fps_min_starter": round(min(per_room[: args.starter]), 2) if args.starter else None,
        "fps_min_reference": round(min(per_room[args.starter :]), 2) if args.reference else None,
        "rooms_below_9fps": sum(1 for f in per_room if f < 9),
        "limited_frames_share": round(sum(r.limited for r in rooms) / max(1, sum(r.frames for r in rooms)), 3),
        "get_count": len(gets),
        "get_p50_ms": round(pct(gets, 0.5) or 0, 1),
        "get_p99_ms": round(pct(gets, 0.99) or 0, 1),
        "get_failures": get_failures[:3],
        "pause_count": len(pauses),
        "pause_p50_ms": round(pct(pauses, 0.5) or 0, 1),
        "pause_p99_ms": round(pct(pauses, 0.99) or 0, 1),
        "attack": attack_counts,
    }


# ---------------------------------------------------------------------------------------------
# the run
# ---------------------------------------------------------------------------------------------


def attack_main(port: int, start: float, end: float) -> None:
    attacker = Attacker(f"ws://127.0.0.1:{port}", f"http://127.0.0.1:{port}", ROOT)
    asyncio.run(attacker.run(Window(start, end)))
    print(json.dumps(attacker.counts))


def main() -> None:
    if len(sys.argv) == 5 and sys.argv[1] == "_attack":
        attack_main(int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]))
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mode", choices=("embedded", "scaled"), default="embedded")
    parser.add_argument("--starter", type=int, default=40)
    parser.add_argument("--reference", type=int, default=5)
    parser.add_argument("--speed", type=float, default=1.0)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--settle", type=float, default=8.0)
    parser.add_argument("--pause-every", type=float, default=5.0)
    parser.add_argument("--attack", action="store_true")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--root", type=Path, default=ROOT, help="the tree whose server runs (another commit's)")
    parser.add_argument("--sim-process", choices=("0", "1"), default=None, help="FANOUT_SIM_PROCESS for Daphne")
    args = parser.parse_args()
    if not (0 < args.seconds <= 900 and 0 <= args.starter + args.reference <= 60):
        raise SystemExit("bounds: 0-900 s, 0-60 rooms")
    root = args.root.resolve()
    workdir = Path(tempfile.mkdtemp(prefix="fanout_classroom_"))
    prefix = f"fanoutclass{os.getpid()}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FANOUT_", "REDIS_URL", "DATABASE_URL"))}
    env.update(
        DJANGO_SETTINGS_MODULE="playground.settings",
        PYTHONPATH=str(root),
        FANOUT_DEBUG="0",
        FANOUT_SECRET_KEY="classroom-bench-" + os.urandom(16).hex(),
        FANOUT_SQLITE_PATH=str(workdir / "db.sqlite3"),
        FANOUT_ALLOWED_HOSTS="127.0.0.1,localhost",
    )
    if args.sim_process is not None:
        env["FANOUT_SIM_PROCESS"] = args.sim_process
    procs: dict[str, subprocess.Popen] = {}
    python = str(ROOT / ".venv" / "bin" / "python")
    result: dict = {"mode": args.mode, "seconds": args.seconds, "attack": args.attack, "root": str(root)}
    try:
        subprocess.run([python, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=root, env=env, check=True)
        if args.mode == "scaled":
            env.update(REDIS_URL=args.redis_url, FANOUT_RUNNER="celery", FANOUT_REDIS_PREFIX=prefix,
                       FANOUT_CELERY_QUEUE=f"{prefix}-rooms", FANOUT_WORKER_MAX_ROOMS="30")
            for w in range(args.workers):
                procs[f"worker{w}"] = subprocess.Popen(
                    [python, "-m", "celery", "-A", "playground", "worker", "--pool", "threads", "--concurrency", "30",
                     "-Q", env["FANOUT_CELERY_QUEUE"], "-n", f"class{w}-{prefix}@%h", "--loglevel", "WARNING",
                     "--without-gossip", "--without-mingle"],
                    cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=open(workdir / f"worker{w}.log", "w"),
                )
        if args.mode == "scaled":
            import redis

            client = redis.Redis.from_url(args.redis_url)
            deadline = time.monotonic() + 90
            while len(list(client.scan_iter(match=f"{prefix}:worker:*", count=100))) < args.workers:
                if time.monotonic() > deadline:
                    raise SystemExit(f"the Celery workers did not register in time; see {workdir}")
                time.sleep(0.3)
            client.close()
        port = free_port()
        procs["daphne"] = subprocess.Popen(
            [python, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "-v", "0", "playground.asgi:application"],
            cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=open(workdir / "daphne.log", "w"),
        )
        if not wait_port(port, 60):
            raise SystemExit(f"daphne did not start; see {workdir}")
        daphne = procs["daphne"].pid
        window_start = time.time() + args.settle
        memory: list[tuple[float, float, float]] = []
        cpu0: dict[str, float] = {}

        async def sample() -> None:
            while time.time() < window_start + args.seconds:
                await asyncio.sleep(min(5.0, max(0.0, window_start - time.time())) or 5.0)
                kids = children(daphne)
                if not cpu0 and time.time() >= window_start:
                    cpu0["daphne"] = cpu_seconds(daphne) or 0.0
                    cpu0["sim"] = sum(cpu_seconds(k) or 0.0 for k in kids)
                    cpu0["workers"] = sum(cpu_seconds(p.pid) or 0.0 for n, p in procs.items() if n.startswith("worker"))
                    cpu0["t"] = time.monotonic()
                memory.append((round(time.time() - window_start, 1), rss_mib(daphne) or 0.0,
                               sum(rss_mib(k) or 0.0 for k in kids)))

        async def both() -> dict:
            sampler = asyncio.create_task(sample())
            figures = await drive(args, port, window_start)
            await sampler
            return figures

        result.update(asyncio.run(both()))
        if cpu0:
            wall = time.monotonic() - cpu0["t"]
            kids = children(daphne)
            result["daphne_cpu_share"] = round(((cpu_seconds(daphne) or 0) - cpu0["daphne"]) / wall, 2)
            result["sim_process_cpu_share"] = round((sum(cpu_seconds(k) or 0 for k in kids) - cpu0["sim"]) / wall, 2)
            workers = sum(cpu_seconds(p.pid) or 0.0 for n, p in procs.items() if n.startswith("worker"))
            result["workers_cpu_share"] = round((workers - cpu0["workers"]) / wall, 2)
        inside = [m for m in memory if m[0] >= 0]
        if inside:
            first, last = inside[0], inside[-1]
            result["daphne_rss_mib"] = {"first": first[1], "last": last[1], "max": max(m[1] for m in inside)}
            result["sim_rss_mib"] = {"first": first[2], "last": last[2], "max": max(m[2] for m in inside)}
            result["daphne_rss_growth"] = round(last[1] / first[1] - 1, 3) if first[1] else None
        result["load_average"] = os.getloadavg()
    finally:
        result["daphne_stop_s"] = stop(procs.pop("daphne", None))
        for name, proc in procs.items():
            result[f"{name}_stop_s"] = stop(proc, wait=10)
        result["logs"] = str(workdir)
        if args.mode == "scaled":
            try:
                import redis

                client = redis.Redis.from_url(args.redis_url)
                stale = list(client.scan_iter(match=f"{prefix}:*", count=500))
                for i in range(0, len(stale), 500):
                    client.delete(*stale[i : i + 500])
                client.close()
            except Exception as exc:
                result["redis_cleanup"] = repr(exc)
    for key in ("fps_min", "fps_min_starter", "fps_min_reference", "rooms_below_9fps", "get_p99_ms", "pause_p99_ms",
                "daphne_cpu_share", "sim_process_cpu_share", "workers_cpu_share", "daphne_rss_mib",
                "daphne_rss_growth", "attack"):
        if key in result:
            print(f"{key:>22}: {result[key]}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
