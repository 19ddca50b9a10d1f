"""Fingerprints of engine runs, to check that a speed-up of the consumer side changes no output.

Runs every example (playground/examples/*.json) for seeds 1 and 42, with record_flow on and
off, for 10 simulated seconds in 0.5 s steps, and hashes sim.metrics() and the drained events
per run. Examples with a consumer group are also run with a script of consumer commands (slow,
kill, add, restart, remove, redrive) and the reference topology with variants of the group's
parameters (commit strategies, assignors, static membership, transient failures, ordering and
duplicate checks), so that the rarer paths of the poll loop are covered too.

    .venv/bin/python bench/fingerprint_read.py --save /tmp/base.json   # before a change
    .venv/bin/python bench/fingerprint_read.py --check /tmp/base.json  # after: lists what differs
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
from playground.engine.component import CommandError  # noqa: E402

SECONDS = 10.0
STEP = 0.5
SEEDS = (1, 42)

# (simulated time, command) applied to every consumer group of an example, in the "commands" runs
SCRIPT = (
    (1.5, {"op": "slow_consumer", "member": "consumer-1", "factor": 40}),
    (2.5, {"op": "kill_consumer", "member": "consumer-2"}),
    (3.5, {"op": "add_consumer"}),
    (4.5, {"op": "restart_consumer", "member": "consumer-1", "after_ms": 800}),
    (6.0, {"op": "remove_consumer", "member": "consumer-3"}),
    (7.0, {"op": "slow_consumer", "member": "consumer-4", "factor": 2000}),
    (8.5, {"op": "redrive"}),
)

# parameter variants of the reference topology's group
VARIANTS = {
    "after_processing": {"commit": "after_processing"},
    "before_processing": {"commit": "before_processing"},
    "cooperative": {"assignor": "cooperative-sticky"},
    "roundrobin_static": {"assignor": "roundrobin", "static_membership": True},
    "transient": {"failure_rate": 0.05, "backoff_multiplier": 2.0, "max_attempts": 3},
    "checks": {"check_order": True, "count_duplicates": True, "max_poll_records": 37},
    "poll_timeout": {"max_poll_interval_ms": 1000, "processing_ms": 2.5},
    "read_committed": {"isolation_level": "read_committed", "poison_rate": 0.05},
}


def digest(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=repr).encode()).hexdigest()[:16]


def run(doc: dict[str, Any], seed: int, record_flow: bool, script: bool) -> dict[str, str]:
    sim = engine.Simulation(engine.parse_document(doc), seed, record_flow=record_flow)
    groups = [n["id"] for n in doc["nodes"] if n["type"] == "consumer_group"]
    dlqs = [n["id"] for n in doc["nodes"] if n["type"] == "dlq"]
    pending = list(SCRIPT) if script else []
    events = hashlib.sha256()
    errors: list[str] = []
    steps = int(round(SECONDS / STEP))
    for _ in range(steps):
        sim.advance(STEP)
        while pending and pending[0][0] <= sim.now + 1e-9:
            _, command = pending.pop(0)
            targets = dlqs if command["op"] == "redrive" else groups
            for target in targets:
                try:
                    sim.apply(dict(command, node=target))
                except CommandError as e:
                    errors.append(str(e))
        events.update(json.dumps(sim.drain_events(), sort_keys=True, default=repr).encode())
    return {"metrics": digest(sim.metrics()), "events": events.hexdigest()[:16], "errors": digest(errors)}


def fingerprints(only: str | None = None) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    cases: list[tuple[str, dict[str, Any], bool]] = []
    for name in examples.names():
        doc = examples.load(name)
        cases.append((name, doc, False))
        if any(n["type"] == "consumer_group" for n in doc["nodes"]):
            cases.append((f"{name}+commands", doc, True))
    for variant, params in VARIANTS.items():
        doc = examples.load("reference")
        for node in doc["nodes"]:
            if node["type"] == "consumer_group":
                node["params"].update(params)
        cases.append((f"reference[{variant}]", doc, variant in ("cooperative", "roundrobin_static")))
    for label, doc, script in cases:
        if only and only not in label:
            continue
        for seed in SEEDS:
            for flow in (True, False):
                key = f"{label} seed={seed} flow={flow}"
                out[key] = run(doc, seed, flow, script)
                print(key, out[key], flush=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--save", help="write the fingerprints to this JSON file")
    ap.add_argument("--check", help="compare with the fingerprints in this JSON file")
    ap.add_argument("--only", help="run the cases whose label contains this")
    args = ap.parse_args()
    prints = fingerprints(args.only)
    if args.save:
        Path(args.save).write_text(json.dumps(prints, indent=1, sort_keys=True))
    if args.check:
        base = json.loads(Path(args.check).read_text())
        differ = [k for k, v in prints.items() if base.get(k) != v]
        for k in differ:
            print("DIFFERS:", k, base.get(k), prints[k])
        print(f"{len(prints) - len(differ)} of {len(prints)} runs identical")
        sys.exit(1 if differ else 0)


if __name__ == "__main__":
    main()
