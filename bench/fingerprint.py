"""Fingerprint of every example's run: a hash of its metrics and drained events, per example.

Runs each playground/examples/*.json for seeds 1 and 42, with record_flow on and off, for
``--seconds`` simulated seconds in 0.5 s steps, and hashes every step's ``sim.metrics()`` and
``sim.drain_events()``. Examples with a Kafka cluster also run a scripted series of broker faults
(``FAULTS``: kill, restart, slow, isolate, reconnect), so the fault paths are covered. A change
meant to be a pure speed-up must leave every hash as it was:

    .venv/bin/python bench/fingerprint.py --save /tmp/base.json     # before
    .venv/bin/python bench/fingerprint.py --compare /tmp/base.json  # after: lists what differs
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from playground import engine, examples  # noqa: E402

SEEDS = (1, 42)
STEP = 0.5
#: (simulated second, command) applied to each kafka_cluster node of an example, in "faults" runs
FAULTS = (
    (1.0, {"op": "kill_broker", "broker": 1}),  # fenced a second later: elections, ISR shrink
    (3.0, {"op": "restart_broker", "broker": 1}),  # rejoins, catches up, ISR expand
    (3.5, {"op": "slow_broker", "broker": 2, "factor": 1000}),  # falls out of the ISR
    (5.5, {"op": "restart_broker", "broker": 2}),
    (6.0, {"op": "isolate_broker", "broker": 3}),
    (7.5, {"op": "reconnect_broker", "broker": 3}),
    (8.0, {"op": "kill_broker", "broker": 2}),
    (8.2, {"op": "kill_broker", "broker": 3}),  # the ISR below min.insync.replicas, maybe unclean
    (9.5, {"op": "restart_broker", "broker": 2}),
    (9.7, {"op": "restart_broker", "broker": 3}),
)
#: cluster parameters of "faults" runs, so that sessions lapse and replicas leave the ISR within the run
FAULT_PARAMS = {"broker_session_timeout_ms": 1000, "replica_lag_time_max_ms": 1500}


def _plain(value: Any) -> Any:
    """JSON-able form of metrics and events (numpy scalars and arrays, tuples, sets)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted(_plain(v) for v in value)
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, float):
        return repr(value)  # every bit of a float counts
    return value


def run_hash(name: str, seed: int, flow: bool, seconds: float, faults: bool) -> str:
    document = examples.load(name)
    clusters = [node["id"] for node in document["nodes"] if node["type"] == "kafka_cluster"] if faults else []
    for node in document["nodes"]:
        if node["id"] in clusters:
            node["params"].update(FAULT_PARAMS)
    sim = engine.Simulation(engine.parse_document(document), seed, record_flow=flow)
    script = [(at, {**command, "node": cluster}) for at, command in FAULTS for cluster in clusters]
    digest = hashlib.sha256()
    for step in range(1, round(seconds / STEP) + 1):
        until = step * STEP
        while script and script[0][0] < until:
            at, command = script.pop(0)
            sim.advance(at - sim.now)
            sim.apply(command)
        sim.advance(until - sim.now)
        digest.update(json.dumps(_plain(sim.metrics()), sort_keys=True).encode())
        digest.update(json.dumps(_plain(sim.drain_events()), sort_keys=True).encode())
    return digest.hexdigest()[:16]


def fingerprint(name: str, seconds: float) -> dict[str, str]:
    """{"seed, flow[, faults]": hash} of one example."""
    has_cluster = any(node["type"] == "kafka_cluster" for node in examples.load(name)["nodes"])
    out = {}
    for seed in SEEDS:
        for flow in (True, False):
            for faults in (False, True) if has_cluster else (False,):
                label = f"seed {seed}, flow {'on' if flow else 'off'}" + (", faults" if faults else "")
                out[label] = run_hash(name, seed, flow, seconds, faults)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--only", nargs="*", help="example names (default: all)")
    ap.add_argument("--save", help="write the fingerprints to this JSON file")
    ap.add_argument("--compare", help="compare with fingerprints saved earlier; exit 1 if any differ")
    args = ap.parse_args()
    result = {name: fingerprint(name, args.seconds) for name in (args.only or examples.names())}
    if args.save:
        Path(args.save).write_text(json.dumps(result, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    if args.compare:
        saved = json.loads(Path(args.compare).read_text(encoding="utf-8"))
        differ = [f"{name}: {run}" for name, runs in result.items() for run, h in runs.items()
                  if saved.get(name, {}).get(run) != h]
        for line in differ:
            print("differs:", line)
        print(f"{len(differ)} of {sum(len(r) for r in result.values())} runs differ")
        sys.exit(1 if differ else 0)
    if not args.save:
        print(json.dumps(result, indent=1, sort_keys=True))


if __name__ == "__main__":
    main()
