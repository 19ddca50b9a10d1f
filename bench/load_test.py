"""Load test of live rooms: M rooms x N viewers over Daphne processes, beside stock Channels.

Loopback only, bounded in count and time; every process it starts is stopped by PID at the end.

    .venv/bin/python bench/load_test.py --mode scaled --rooms 1 --viewers 500 --seconds 10
    .venv/bin/python bench/load_test.py --mode embedded --rooms 1 --viewers 200 --no-stock

What runs:
  - ``--daphnes`` Daphne processes serving playground.asgi (two by default).
    embedded: each room lives in one Daphne (room i in Daphne i mod D), its viewers connect there;
    scaled:   Celery workers (``--workers``) run the rooms; every room's viewers are spread over
              all the Daphnes (each Daphne subscribes once per room to Redis).
  - one controller process: per room, a connection holding the room's key that loads the
    topology (``--topology``, a ready example name), sets ``--speed`` and runs it; it reports
    the mean frame size.
  - ``--client-procs`` processes of websocket clients (websockets, no compression). Each client
    acks every ``--ack-every`` frames as the browser does, reads ``seq`` and the server stamp
    ``state.ts`` from each frame's text (``--parse`` JSON-parses every frame, as a browser
    would), and counts over the window: frames, gaps in seq, snapshots, bytes, latency from
    the tick's frame being built to the client receiving it.
    ``--stalled K``: K of the clients stop reading for the whole window, then read again: they
    must not slow the others, Daphne must not buffer for them without bound, and they must come
    back by a snapshot.
  - then, unless ``--no-stock``, ../shared/bench/channels_fanout.py e2e with the same number of
    clients, frames/s and frame size (stock Channels: one Daphne, one consumer per viewer in a
    group; ``--stock-layer``), for the Daphne CPU per viewer in the same run.

Prints one JSON line. The window starts ``--settle`` s after every client connected (the stock bench waits 2 s).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STOCK_BENCH = Path("..") / "shared" / "bench" / "channels_fanout.py"  # relative to ROOT
KEY = "loadtest-presenter-key"
HEAD = re.compile(r'\{"v":\d+,"type":"(\w+)"(?:,"seq":(\d+))?')


# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return True
        except OSError:
            time.sleep(0.1)
    return False


def cpu_ticks(pid: int) -> int | None:
    """utime + stime of the process and its reaped children."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])
    except (OSError, IndexError, ValueError):
        return None


def children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def rss_mib(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return None


def stop(proc: subprocess.Popen | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=8)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    i = min(len(values) - 1, max(0, int(round(q * (len(values) - 1)))))
    return values[i]


def wait_workers(url: str, prefix: str, count: int, procs: dict[str, subprocess.Popen]) -> None:
    """Until ``count`` Celery workers have registered their room slots in Redis."""
    import redis

    client = redis.Redis.from_url(url)
    try:
        deadline = time.monotonic() + 60
        while len(list(client.scan_iter(match=f"{prefix}:worker:*", count=100))) < count:
            if time.monotonic() > deadline or any(p.poll() is not None for p in procs.values()):
                raise SystemExit("the Celery workers did not register in time")
            time.sleep(0.2)
    finally:
        client.close()


def room_id(i: int) -> str:
    return f"loadtest-room-{i:03d}"


# ---------------------------------------------------------------------------------------------
# the run
# ---------------------------------------------------------------------------------------------


def cmd_run(args: argparse.Namespace) -> None:
    if not 1 <= args.viewers <= 2000 or not 1 <= args.rooms <= 20 or not 0 < args.seconds <= 120:
        raise SystemExit("bounds: 1-20 rooms, 1-2000 viewers a room, 0-120 s")
    if args.mode == "embedded" and args.rooms < args.daphnes:
        args.daphnes = args.rooms  # a Daphne without a room would measure nothing
    workdir = Path(tempfile.mkdtemp(prefix="fanout_load_"))
    env = dict(os.environ)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "playground.settings",
            "PYTHONPATH": str(ROOT),
            "FANOUT_DEBUG": "0",
            "FANOUT_SECRET_KEY": secrets.token_urlsafe(50),
            "FANOUT_SQLITE_PATH": str(workdir / "db.sqlite3"),
        }
    )
    prefix = f"fanoutload{os.getpid()}"
    if args.mode == "scaled":
        env.update(
            {
                "REDIS_URL": args.redis_url,
                "FANOUT_RUNNER": "celery",
                "FANOUT_REDIS_PREFIX": prefix,
                "FANOUT_CELERY_QUEUE": f"{prefix}-rooms",
            }
        )
    procs: dict[str, subprocess.Popen] = {}
    result: dict = {}
    try:
        # Both modes: control keys are issued and checked in the database.
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True
        )
        if args.mode == "scaled":
            for w in range(args.workers):
                procs[f"worker{w}"] = subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "celery",
                        "-A",
                        "playground",
                        "worker",
                        "--pool",
                        "solo",
                        "--concurrency",
                        "1",
                        "-Q",
                        env["FANOUT_CELERY_QUEUE"],
                        "-n",
                        f"load{w}-{prefix}@%h",
                        "--loglevel",
                        "WARNING",
                        "--without-gossip",
                        "--without-mingle",
                    ],
                    cwd=ROOT,
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=open(workdir / f"worker{w}.log", "w"),
                )
        if args.mode == "scaled":
            wait_workers(args.redis_url, prefix, args.workers, procs)
        ports = []
        for d in range(args.daphnes):
            port = free_port()
            ports.append(port)
            procs[f"daphne{d}"] = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "daphne",
                    "-b",
                    "127.0.0.1",
                    "-p",
                    str(port),
                    "-v",
                    "0",
                    "playground.asgi:application",
                ],
                cwd=ROOT,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=open(workdir / f"daphne{d}.log", "w"),
            )
        for port in ports:
            if not wait_port(port, 30):
                raise SystemExit(f"daphne did not start; see {workdir}")

        # Where each room's presenter and viewers connect.
        def daphne_of(room: int, viewer: int) -> int:
            if args.mode == "embedded":
                return room % args.daphnes
            return viewer % args.daphnes

        rooms = [room_id(i) for i in range(args.rooms)]
        subprocess.run([sys.executable, "manage.py", "room_key", "--replace", "--key", KEY, *rooms],
                       cwd=ROOT, env=env, check=True, capture_output=True)
        controller = subprocess.Popen(
            [
                sys.executable,
                __file__,
                "_controller",
                "--topology",
                args.topology,
                "--speed",
                str(args.speed),
                "--cap",
                str(args.seconds + 120),
                "--seed",
                "1",
                "--urls",
                ",".join(
                    f"ws://127.0.0.1:{ports[daphne_of(i, 0)]}/ws/rooms/{r}/?key={KEY}" for i, r in enumerate(rooms)
                ),
            ],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=open(workdir / "controller.log", "w"),
            text=True,
        )
        procs["controller"] = controller
        line = controller.stdout.readline()
        if not line.startswith("running"):
            raise SystemExit(f"controller failed: {line!r}; see {workdir}")
        frame_bytes = int(line.split()[1])

        urls = [
            f"ws://127.0.0.1:{ports[daphne_of(i, v)]}/ws/rooms/{r}/"
            for i, r in enumerate(rooms)
            for v in range(args.viewers)
        ]
        n_procs = args.client_procs or (1 if len(urls) <= 100 else 2)
        shares = [urls[i::n_procs] for i in range(n_procs)]
        stalled = [args.stalled // n_procs + (1 if i < args.stalled % n_procs else 0) for i in range(n_procs)]
        clients = []
        for i, share in enumerate(shares):
            path = workdir / f"urls{i}.txt"
            path.write_text("\n".join(share))
            clients.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        __file__,
                        "_clients",
                        "--urls-file",
                        str(path),
                        "--ack-every",
                        str(args.ack_every),
                        "--stalled",
                        str(stalled[i]),
                    ]
                    + (["--parse"] if args.parse else []),
                    cwd=ROOT,
                    env=env,
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=open(workdir / f"clients{i}.log", "w"),
                    text=True,
                )
            )
            procs[f"clients{i}"] = clients[-1]
        connected = 0
        for c in clients:
            line = c.stdout.readline()
            if not line.startswith("ready"):
                raise SystemExit(f"client process failed: {line!r}; see {workdir}")
            connected += int(line.split()[1])

        t_start = time.time() + args.settle
        t_end = t_start + args.seconds
        for c in clients:
            c.stdin.write(f"{t_start} {t_end}\n")
            c.stdin.flush()
        watched = {name: p.pid for name, p in procs.items()}
        time.sleep(max(0.0, t_start - time.time()))
        w0 = time.monotonic()
        c0 = {k: cpu_ticks(p) for k, p in watched.items()}
        rss_peak: dict[str, float] = {}
        while time.time() < t_end:
            time.sleep(min(0.5, max(0.0, t_end - time.time())))
            for k, p in watched.items():
                r = rss_mib(p)
                if r is not None:
                    rss_peak[k] = max(rss_peak.get(k, 0.0), r)
        c1 = {k: cpu_ticks(p) for k, p in watched.items()}
        w1 = time.monotonic()
        hz = os.sysconf("SC_CLK_TCK")
        cpu_pct = {
            k: (round(100.0 * (c1[k] - c0[k]) / hz / (w1 - w0), 1) if c0[k] is not None and c1[k] is not None else None)
            for k in watched
        }
        outs = []
        for c in clients:
            out, _ = c.communicate(timeout=60)
            outs.append(json.loads(out.strip().splitlines()[-1]))
        controller.stdin.close()
        lat = sorted(x for o in outs for x in o["latencies_ms"])
        lat2 = sorted(x for o in outs for x in o["latencies_ms_2nd_half"])
        frames = sum(o["frames"] for o in outs)
        viewers = args.rooms * args.viewers
        normal = viewers - args.stalled
        daphne_cpu = sum(v for k, v in cpu_pct.items() if k.startswith("daphne") and v is not None)
        frames_expected = int(normal * args.fps * args.seconds)
        result = {
            "bench": "fanout_load",
            "python": platform.python_version(),
            "mode": args.mode,
            "topology": args.topology,
            "speed": args.speed,
            "rooms": args.rooms,
            "viewers_per_room": args.viewers,
            "viewers": viewers,
            "connected": connected,
            "daphnes": args.daphnes,
            "workers": args.workers if args.mode == "scaled" else 0,
            "client_procs": n_procs,
            "fps": args.fps,
            "frame_bytes_mean": frame_bytes,
            "seconds": args.seconds,
            "frames_delivered": frames,
            "frames_expected_approx": frames_expected,
            "delivered_per_s": round(frames / args.seconds, 1),
            "gaps": sum(o["gaps"] for o in outs),
            "snapshots_in_window": sum(o["snapshots"] for o in outs),
            "latency_ms_p50": pct(lat, 0.50),
            "latency_ms_p99": pct(lat, 0.99),
            "latency_ms_p90": pct(lat, 0.90),
            "latency_ms_p95": pct(lat, 0.95),
            "latency_ms_max": lat[-1] if lat else None,
            "latency_ms_p50_2nd_half": pct(lat2, 0.50),
            "latency_ms_p99_2nd_half": pct(lat2, 0.99),
            # Frames later than 150 ms, by second of the window: a burst or a steady share?
            "late_frames_by_second": {
                str(k): v for k, v in sorted(Counter(x for o in outs for x in o["late_by_second"]).items())
            },
            "bytes_per_viewer_per_s": round(sum(o["bytes"] for o in outs) / max(1, normal) / args.seconds),
            "stalled": {
                "clients": args.stalled,
                "frames_read_after_stall_before_snapshot": sum(o["stalled_frames"] for o in outs),
                "recovered_by_snapshot": sum(o["stalled_recovered"] for o in outs),
            }
            if args.stalled
            else None,
            "cpu_pct": cpu_pct,
            "rss_mib_peak": rss_peak,
            "daphne_cpu_pct_total": round(daphne_cpu, 1),
            "daphne_cpu_pct_per_viewer": round(daphne_cpu / viewers, 4),
            "daphne_cpu_us_per_delivery": round(daphne_cpu / 100 * args.seconds * 1e6 / frames, 1) if frames else None,
        }
    finally:
        for name, p in procs.items():
            if name.startswith("clients") or name == "controller":
                stop(p)
        for p in procs.values():
            stop(p)
        if args.mode == "scaled":
            try:
                import redis

                r = redis.Redis.from_url(args.redis_url)
                for key in r.scan_iter(match=f"{prefix}*", count=1000):
                    r.delete(key)
                r.close()
            except Exception:
                pass
        if args.keep:
            result["workdir"] = str(workdir)
        else:
            shutil.rmtree(workdir, ignore_errors=True)

    if not args.no_stock:
        result["stock"] = run_stock(args, result["frame_bytes_mean"])
        stock = result["stock"]
        if stock.get("cpu_pct", {}).get("daphne") is not None and stock.get("clients"):
            stock_per_viewer = stock["cpu_pct"]["daphne"] / stock["clients"]
            stock_us = (
                stock["cpu_pct"]["daphne"] / 100 * stock["seconds"] * 1e6 / stock["frames_delivered"]
                if stock.get("frames_delivered")
                else None
            )
            result["comparison"] = {
                "stock_clients": stock["clients"],
                "stock_delivery_ratio": stock.get("delivery_ratio"),
                "stock_daphne_cpu_pct_per_viewer": round(stock_per_viewer, 4),
                "stock_daphne_cpu_us_per_delivery": round(stock_us, 1) if stock_us else None,
                "cpu_per_viewer_ratio": round(result["daphne_cpu_pct_per_viewer"] / stock_per_viewer, 3)
                if stock_per_viewer
                else None,
                "cpu_per_delivery_ratio": round(result["daphne_cpu_us_per_delivery"] / stock_us, 3)
                if stock_us and result["daphne_cpu_us_per_delivery"]
                else None,
            }
    print(json.dumps(result))


def run_stock(args: argparse.Namespace, frame_bytes: int) -> dict:
    layer = args.stock_layer or ("inmemory" if args.mode == "embedded" else "pubsub")
    cmd = [
        sys.executable,
        str(STOCK_BENCH),
        "e2e",
        "--layer",
        layer,
        "--clients",
        str(args.stock_clients or args.rooms * args.viewers),
        "--fps",
        str(args.fps),
        "--frame-bytes",
        str(frame_bytes),
        "--seconds",
        str(args.seconds),
    ]
    try:
        out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=args.seconds + 240)
    except subprocess.TimeoutExpired:
        return {"error": "stock bench timed out", "command": " ".join(cmd)}
    lines = [x for x in out.stdout.strip().splitlines() if x.startswith("{")]
    if out.returncode != 0 or not lines:
        return {"error": (out.stderr or out.stdout)[-2000:], "command": " ".join(cmd)}
    stock = json.loads(lines[-1])
    stock["command"] = " ".join(cmd)
    return stock


# ---------------------------------------------------------------------------------------------
# the controller: loads and runs every room, reports the mean frame size
# ---------------------------------------------------------------------------------------------


def cmd_controller(args: argparse.Namespace) -> None:
    from websockets.asyncio.client import connect

    sys.path.insert(0, str(ROOT))
    from playground import examples

    document = examples.load(args.topology)
    sizes: list[int] = []

    async def run_room(url: str, ready: asyncio.Event, stop_at: float) -> None:
        origin = "http://" + url.split("/")[2]
        async with connect(
            url, origin=origin, compression=None, max_size=2**23, ping_interval=None, open_timeout=60, max_queue=None
        ) as ws:
            first = json.loads(await ws.recv())
            assert first.get("controller") is True, first
            await ws.send(json.dumps({"type": "load", "document": document, "seed": args.seed}))
            while json.loads(await ws.recv())["type"] != "snapshot":
                pass
            await ws.send(json.dumps({"type": "control", "action": "speed", "value": args.speed}))
            await ws.send(json.dumps({"type": "control", "action": "run"}))
            frames = 0
            while time.time() < stop_at:
                try:
                    text = await asyncio.wait_for(ws.recv(), max(0.1, stop_at - time.time()))
                except TimeoutError:
                    break
                head = HEAD.match(text)
                if head and head.group(1) == "frame":
                    frames += 1
                    if frames > 5 and len(sizes) < 200:  # past the start-up frames
                        sizes.append(len(text.encode()))
                    if frames % 10 == 0:
                        await ws.send(json.dumps({"type": "ack", "seq": int(head.group(2))}))
                    if len(sizes) >= 20 * len(args.urls.split(",")) and not ready.is_set():
                        ready.set()

    async def main() -> None:
        ready = asyncio.Event()
        stop_at = time.time() + args.cap
        tasks = [asyncio.create_task(run_room(u, ready, stop_at)) for u in args.urls.split(",")]
        done, _ = await asyncio.wait(
            [asyncio.create_task(ready.wait()), *tasks], return_when=asyncio.FIRST_COMPLETED, timeout=60
        )
        if not ready.is_set():
            for t in done:
                if t.exception():
                    print(f"failed {t.exception()!r}", flush=True)
                    return
            print("failed no frames", flush=True)
            return
        print(f"running {sum(sizes) // len(sizes)}", flush=True)
        # Keep the rooms watched until the orchestrator closes our stdin (or the cap).
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    asyncio.run(main())


# ---------------------------------------------------------------------------------------------
# the clients
# ---------------------------------------------------------------------------------------------


def cmd_clients(args: argparse.Namespace) -> None:
    from websockets.asyncio.client import connect

    urls = Path(args.urls_file).read_text().split()
    window: dict[str, float] = {}
    records: list[dict] = []

    async def client(i: int, url: str, ready: list[int], go: asyncio.Event, stalled: bool) -> None:
        origin = "http://" + url.split("/")[2]
        # max_queue 16 (the library's default): past it the client stops reading its socket,
        # so a stalled client stalls TCP the way a slow browser does.
        async with connect(
            url, origin=origin, compression=None, max_size=2**23, ping_interval=None, open_timeout=60, max_queue=16
        ) as ws:
            rec = {
                "frames": 0,
                "gaps": 0,
                "snapshots": 0,
                "bytes": 0,
                "lat": [],
                "stalled_frames": 0,
                "recovered": 0,
                "stalled": stalled,
                "late": [],
                "lat2": [],
            }
            last_seq: int | None = None
            last_ack = -1

            async def ack(seq: int) -> None:
                nonlocal last_ack
                last_ack = seq
                await ws.send(f'{{"type":"ack","seq":{seq}}}')

            first = await ws.recv()
            head = HEAD.match(first)
            if head and head.group(2) is not None:
                last_seq = int(head.group(2))
                await ack(last_seq)
            ready.append(i)
            stalling = stalled
            while True:
                if go.is_set():
                    t_start, t_end = window["start"], window["end"]
                    if time.time() > t_end + 15:
                        break
                    if stalling and time.time() >= t_start:
                        # Read nothing during the window, then read again and expect a snapshot.
                        await asyncio.sleep(max(0.0, t_end - time.time()))
                        stalling = False
                        rec["stalled_frames"] = -1  # from here on: frames read before the snapshot
                        continue
                try:
                    text = await asyncio.wait_for(ws.recv(), 1.0)
                except TimeoutError:
                    continue
                now = time.time()
                head = HEAD.match(text)
                if not head or head.group(2) is None:
                    continue
                kind, seq = head.group(1), int(head.group(2))
                if args.parse:
                    frame = json.loads(text)
                if kind == "snapshot":
                    if stalled and rec["stalled_frames"] != 0:
                        rec["recovered"] = 1
                        rec["stalled_frames"] += 1
                        break
                    if go.is_set() and window["start"] <= now < window["end"]:
                        rec["snapshots"] += 1
                    last_seq = seq
                    await ack(seq)
                    continue
                if kind != "frame":
                    continue
                if stalled:
                    if rec["stalled_frames"] != 0:
                        rec["stalled_frames"] += 1
                elif go.is_set():
                    if args.parse:
                        ts = frame["state"]["ts"]
                    else:
                        j = text.rfind('"ts":')
                        ts = float(text[j + 5 : text.index("}", j)])
                    if ts >= window["end"]:
                        break
                    if ts >= window["start"]:
                        rec["frames"] += 1
                        rec["bytes"] += len(text)
                        if last_seq is not None and seq != last_seq + 1:
                            rec["gaps"] += seq - last_seq - 1 if seq > last_seq else 1
                        rec["lat"].append(round((now - ts) * 1000.0, 2))
                        if ts >= (window["start"] + window["end"]) / 2:
                            rec["lat2"].append(rec["lat"][-1])
                        if now - ts > 0.15:
                            rec["late"].append(int(ts - window["start"]))
                last_seq = seq
                if seq - last_ack >= args.ack_every:
                    await ack(seq)
            records.append(rec)

    async def main() -> None:
        ready: list[int] = []
        go = asyncio.Event()
        tasks = []
        for i, url in enumerate(urls):
            tasks.append(asyncio.create_task(client(i, url, ready, go, i < args.stalled)))
            if i % 25 == 24:
                await asyncio.sleep(0.05)  # do not stampede the accept queue
        deadline = time.monotonic() + 60
        while len(ready) < len(urls) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        print(f"ready {len(ready)}", flush=True)
        line = await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
        window["start"], window["end"] = (float(x) for x in line.split())
        go.set()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        errors = [repr(r) for r in results if isinstance(r, BaseException)]
        if errors:
            print(f"{len(errors)} client errors, first: {errors[0]}", file=sys.stderr)

    asyncio.run(main())
    normal = [r for r in records if not r["stalled"]]
    print(
        json.dumps(
            {
                "connected": len(records),
                "frames": sum(r["frames"] for r in normal),
                "gaps": sum(r["gaps"] for r in normal),
                "snapshots": sum(r["snapshots"] for r in normal),
                "bytes": sum(r["bytes"] for r in normal),
                "latencies_ms": [x for r in normal for x in r["lat"]],
                "late_by_second": [x for r in normal for x in r["late"]],
                "latencies_ms_2nd_half": [x for r in normal for x in r["lat2"]],
                "stalled_frames": sum(max(0, r["stalled_frames"]) for r in records if r["stalled"]),
                "stalled_recovered": sum(r["recovered"] for r in records),
            }
        )
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd")

    run = ap  # the default command: the run itself
    run.add_argument("--mode", choices=("embedded", "scaled"), default="scaled")
    run.add_argument("--rooms", type=int, default=1)
    run.add_argument("--viewers", type=int, default=500, help="viewers per room")
    run.add_argument("--daphnes", type=int, default=2)
    run.add_argument("--workers", type=int, default=2, help="Celery workers (scaled mode)")
    run.add_argument("--topology", default="reference", help="a ready example: reference, starter")
    run.add_argument("--speed", type=float, default=1.0)
    run.add_argument("--fps", type=float, default=10.0, help="the server's tick rate (FANOUT_TICK_SECONDS)")
    run.add_argument("--seconds", type=float, default=10.0)
    run.add_argument("--settle", type=float, default=5.0, help="seconds after the last client connected")
    run.add_argument("--client-procs", type=int, default=0)
    run.add_argument("--ack-every", type=int, default=10)
    run.add_argument("--stalled", type=int, default=0, help="clients that stop reading during the window")
    run.add_argument("--parse", action="store_true", help="JSON-parse every frame in the clients")
    run.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    run.add_argument("--no-stock", action="store_true", help="skip the stock Channels comparison")
    run.add_argument("--stock-layer", choices=("inmemory", "pubsub", "redis"), default=None)
    run.add_argument(
        "--stock-clients",
        type=int,
        default=0,
        help="clients of the stock run (default: as many as viewers here); CPU is compared per delivered frame",
    )
    run.add_argument("--keep", action="store_true", help="keep the logs")

    p = sub.add_parser("_controller")
    p.add_argument("--urls", required=True)
    p.add_argument("--topology", required=True)
    p.add_argument("--speed", type=float, required=True)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--cap", type=float, required=True)
    p.set_defaults(fn=cmd_controller)

    p = sub.add_parser("_clients")
    p.add_argument("--urls-file", required=True)
    p.add_argument("--ack-every", type=int, default=10)
    p.add_argument("--stalled", type=int, default=0)
    p.add_argument("--parse", action="store_true")
    p.set_defaults(fn=cmd_clients)

    args = ap.parse_args()
    if args.cmd is None:
        cmd_run(args)
    else:
        args.fn(args)


if __name__ == "__main__":
    main()
