"""Fingerprint of every example's run: a hash of its metrics and drained events, per run.

Runs each playground/examples/*.json for seeds 1 and 42, with record_flow on and off, for
``--seconds`` simulated seconds in 0.5 s steps, and hashes every step's ``sim.metrics()``,
``sim.drain_events()`` and the commands refused. Besides the plain runs, so that the rarer paths
are covered too:

- examples with a Kafka cluster run a scripted series of broker faults (``FAULTS``: kill,
  restart, slow, isolate, reconnect), with short session and lag timeouts;
- examples with a consumer group run a script of consumer commands (``CONSUMER_SCRIPT``: slow,
  kill, add, restart, remove, redrive);
- the reference topology runs with variants of its group's parameters (``VARIANTS``: commit
  strategies, assignors, static membership, transient failures, order and duplicate checks).

A change meant to be a pure speed-up must leave every hash as it was:

    .venv/bin/python bench/fingerprint.py --save /tmp/base.json     # before
    .venv/bin/python bench/fingerprint.py --compare /tmp/base.json  # after: lists what differs

The golden outputs (``tests/engine/golden/fingerprints.json``) are these runs committed, each with
the run's final totals beside its hash, so that a change in what the engine computes shows up in
review as the runs it changed and how their totals moved. ``tests/engine/test_golden.py`` compares
them; after a change made on purpose, ``make golden`` (``--golden``) writes them again.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from playground import engine, examples  # noqa: E402

SEEDS = (1, 42)
GOLDEN = ROOT / "tests" / "engine" / "golden" / "fingerprints.json"
#: simulated seconds of the golden runs (the fault and command scripts end at 9.7 s)
GOLDEN_SECONDS = 10.0
#: the run's final totals kept beside its hash in the golden file (sim.metrics() keys)
TOTALS = ("sent", "produced", "acknowledged", "in_flight", "waiting", "dead_lettered", "dropped_total",
          "duplicates", "retried", "processed", "lag")
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
#: (simulated second, command) applied to every consumer group (a redrive: every DLQ), in "commands" runs
CONSUMER_SCRIPT = (
    (1.5, {"op": "slow_consumer", "member": "consumer-1", "factor": 40}),
    (2.5, {"op": "kill_consumer", "member": "consumer-2"}),
    (3.5, {"op": "add_consumer"}),
    (4.5, {"op": "restart_consumer", "member": "consumer-1", "after_ms": 800}),
    (6.0, {"op": "remove_consumer", "member": "consumer-3"}),
    (7.0, {"op": "slow_consumer", "member": "consumer-4", "factor": 2000}),
    (8.5, {"op": "redrive"}),
)
#: parameter variants of the reference topology's group, and whether they also run the consumer script
VARIANTS = {
    "after_processing": ({"commit": "after_processing"}, False),
    "before_processing": ({"commit": "before_processing"}, False),
    "cooperative": ({"assignor": "cooperative-sticky"}, True),
    "roundrobin_static": ({"assignor": "roundrobin", "static_membership": True}, True),
    "transient": ({"failure_rate": 0.05, "backoff_multiplier": 2.0, "max_attempts": 3}, False),
    "checks": ({"check_order": True, "count_duplicates": True, "max_poll_records": 37}, False),
    "poll_timeout": ({"max_poll_interval_ms": 1000, "processing_ms": 2.5}, False),
    "read_committed": ({"isolation_level": "read_committed", "poison_rate": 0.05}, False),
}

Script = list[tuple[float, dict[str, Any]]]


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


def _ids(document: dict[str, Any], node_type: str) -> list[str]:
    return [node["id"] for node in document["nodes"] if node["type"] == node_type]


def _on(script: tuple[tuple[float, dict[str, Any]], ...], nodes: list[str]) -> Script:
    return [(at, {**command, "node": node}) for at, command in script for node in nodes]


def _consumer_script(document: dict[str, Any]) -> Script:
    groups, dlqs = _ids(document, "consumer_group"), _ids(document, "dlq")
    return [(at, {**command, "node": node}) for at, command in CONSUMER_SCRIPT
            for node in (dlqs if command["op"] == "redrive" else groups)]


def cases() -> Iterator[tuple[str, dict[str, Any], Script]]:
    """(label, document, script) of every run kind, before seeds and record_flow."""
    for name in examples.names():
        document = examples.load(name)
        yield name, document, []
        clusters = _ids(document, "kafka_cluster")
        if clusters:
            faulty = examples.load(name)
            for node in faulty["nodes"]:
                if node["id"] in clusters:
                    node["params"].update(FAULT_PARAMS)
            yield f"{name}+faults", faulty, _on(FAULTS, clusters)
        if _ids(document, "consumer_group"):
            yield f"{name}+commands", document, _consumer_script(document)
    for variant, (params, scripted) in VARIANTS.items():
        document = examples.load("reference")
        for node in document["nodes"]:
            if node["type"] == "consumer_group":
                node["params"].update(params)
        yield f"reference[{variant}]", document, _consumer_script(document) if scripted else []


def run_hash(document: dict[str, Any], seed: int, flow: bool, seconds: float, script: Script) -> dict[str, Any]:
    """{"hash", "totals"}: the hash of every step's metrics and events, and the final totals. Each
    command is applied at its own simulated time; a refused one is part of the hash."""
    sim = engine.Simulation(engine.parse_document(document), seed, record_flow=flow)
    pending = sorted(script, key=lambda entry: entry[0])
    digest = hashlib.sha256()
    metrics: dict[str, Any] = {}
    for step in range(1, round(seconds / STEP) + 1):
        until = step * STEP
        while pending and pending[0][0] < until:
            at, command = pending.pop(0)
            sim.advance(at - sim.now)
            try:
                sim.apply(command)
            except engine.CommandError as error:
                digest.update(str(error).encode())
        sim.advance(until - sim.now)
        metrics = _plain(sim.metrics())
        digest.update(json.dumps(metrics, sort_keys=True).encode())
        digest.update(json.dumps(_plain(sim.drain_events()), sort_keys=True).encode())
    totals = {name: metrics[name] for name in TOTALS if name in metrics}
    return {"hash": digest.hexdigest()[:16], "totals": totals}


def fingerprints(seconds: float, only: str | None) -> dict[str, dict[str, Any]]:
    """{"label seed=S flow=on|off": {"hash", "totals"}} of every run."""
    out = {}
    for label, document, script in cases():
        if only and only not in label:
            continue
        for seed in SEEDS:
            for flow in (True, False):
                out[f"{label} seed={seed} flow={'on' if flow else 'off'}"] = run_hash(
                    document, seed, flow, seconds, script)
    return out


def hashes(saved: dict[str, Any]) -> dict[str, str]:
    """run -> hash of a saved file, in this format or the older one (run -> hash)."""
    return {run: entry["hash"] if isinstance(entry, dict) else entry for run, entry in saved.items()}


def differences(saved: dict[str, Any], result: dict[str, dict[str, Any]]) -> list[str]:
    """One line per run that differs, is new or is gone, with the totals that moved."""
    old = {run: entry for run, entry in saved.items()}
    lines = []
    for run in sorted(set(old) | set(result)):
        before, after = old.get(run), result.get(run)
        if after is None:
            lines.append(f"gone: {run}")
        elif before is None:
            lines.append(f"new: {run}")
        elif hashes({run: before})[run] != after["hash"]:
            moved = ""
            if isinstance(before, dict):
                moved = ", ".join(f"{k} {before['totals'].get(k)} -> {v}" for k, v in after["totals"].items()
                                  if before["totals"].get(k) != v)
            lines.append(f"differs: {run}" + (f" ({moved})" if moved else ""))
    return lines


def write(path: Path, result: dict[str, dict[str, Any]]) -> None:
    """One run a line, so that a diff names each changed run."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [f"{json.dumps(run)}: {json.dumps(result[run], sort_keys=True)}" for run in sorted(result)]
    path.write_text("{\n" + ",\n".join(lines) + "\n}\n", encoding="utf-8")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=GOLDEN_SECONDS)
    ap.add_argument("--only", help="the runs whose label contains this (default: all)")
    ap.add_argument("--save", help="write the fingerprints to this JSON file")
    ap.add_argument("--compare", help="compare with fingerprints saved earlier; exit 1 if any differ")
    ap.add_argument("--golden", action="store_true",
                    help=f"write the golden outputs ({GOLDEN.relative_to(ROOT)}) after listing what changed")
    args = ap.parse_args()
    if args.golden and (args.only or args.seconds != GOLDEN_SECONDS):
        ap.error("--golden runs every run for the golden length; drop --only and --seconds")
    result = fingerprints(args.seconds, args.only)
    if args.save:
        write(Path(args.save), result)
    if args.golden:
        saved = json.loads(GOLDEN.read_text(encoding="utf-8")) if GOLDEN.exists() else {}
        for line in differences(saved, result):
            print(line)
        write(GOLDEN, result)
        print(f"wrote {len(result)} runs to {GOLDEN.relative_to(ROOT)}")
    if args.compare:
        saved = json.loads(Path(args.compare).read_text(encoding="utf-8"))
        if args.only:
            saved = {run: entry for run, entry in saved.items() if run in result}
        lines = differences(saved, result)
        for line in lines:
            print(line)
        print(f"{len(lines)} of {len(result)} runs differ")
        sys.exit(1 if lines else 0)
    if not (args.save or args.golden):
        print(json.dumps(result, indent=1, sort_keys=True))


if __name__ == "__main__":
    main()
