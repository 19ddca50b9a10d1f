"""Engine benchmark: the headless engine on the reference topology, beside the SimPy baseline.

Prints one JSON line per run: simulated messages per wall second, events, peak memory.

    .venv/bin/python bench/engine_bench.py                 # 1M messages, our engine
    .venv/bin/python bench/engine_bench.py --messages 10000000
    .venv/bin/python bench/engine_bench.py --simpy         # also run ../shared/bench/simpy_kafka_model.py

The reference topology is playground/examples/reference.json (the topology of the SimPy model:
20,000 msg/s over 1,000 keys, 12 partitions, 4 consumers at 150 us, 1% poison, 3 retries, DLQ).
Each engine run happens in a fresh subprocess so that its peak RSS is its own. The engine runs
compiled when ``make setup`` could build it (playground/accel.py); the output says which ran.
``FANOUT_ENGINE=interpreted`` runs the plain Python engine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SIMPY_MODEL = ROOT.parent / "shared" / "bench" / "simpy_kafka_model.py"


def run_engine(messages: int, seed: int) -> dict:
    sys.path.insert(0, str(ROOT))
    from playground import accel, engine, examples

    document = engine.parse_document(examples.load("reference"))
    rate = document.node("producer").params["rate"]
    seconds = messages / rate
    sim = engine.Simulation(document, seed, record_flow=False)
    start = time.perf_counter()
    step = 1.0
    while sim.now < seconds - 1e-9:
        sim.advance(min(step, seconds - sim.now))
        sim.drain_events()  # as every reader does; undrained events would be the run's memory
    wall = time.perf_counter() - start
    m = sim.metrics()
    return {
        "bench": "fanout_engine",
        "messages": m["sent"],
        "simulated_seconds": round(sim.now, 3),
        "wall_s": round(wall, 3),
        "msgs_per_wall_s": round(m["sent"] / wall),
        "dead_lettered": m["dead_lettered"],
        "acknowledged": m["acknowledged"],
        "conserved": m["produced"] == m["acknowledged"] + m["in_flight"] + m["waiting"]
        + m["dead_lettered"] + m["dropped_total"],
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "python": platform.python_version(),
        # compiled: the mypyc build of the hot modules (playground/accel.py), or why it did not run
        "engine": "compiled" if accel.status()["compiled"] else f"interpreted ({accel.status()['why']})",
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--messages", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--simpy", action="store_true", help="run the SimPy baseline with the same count")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(run_engine(args.messages, args.seed)))
        return
    out = subprocess.run([sys.executable, __file__, "--child", "--messages", str(args.messages),
                          "--seed", str(args.seed)], check=True, capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    ours = json.loads(out.stdout)
    print(json.dumps(ours))
    if args.simpy:
        if not SIMPY_MODEL.exists():
            sys.exit(f"the SimPy model is not at {SIMPY_MODEL}")
        base = subprocess.run([sys.executable, str(SIMPY_MODEL), "--messages", str(args.messages)],
                              check=True, capture_output=True, text=True)
        simpy = json.loads(base.stdout.strip().splitlines()[-1])
        print(json.dumps(simpy))
        print(json.dumps({"bench": "ratio", "fanout_over_simpy": round(ours["msgs_per_wall_s"]
                                                                      / simpy["msgs_per_wall_s"], 2)}))


if __name__ == "__main__":
    main()
