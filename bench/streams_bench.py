"""Streams benchmark: window assignment + aggregation, headless, and the state it keeps.

Prints one JSON line per measurement:

- ``throughput``: records per wall second through WindowedAggregator.process_many (Kafka Streams
  tumbling 10 s windows, sum per key over 1,000 keys, grace 1 s, emit on window close), median of 3
  runs of 1M records; also the record-by-record path for the other presets (informational).
- ``rss``: the process's resident memory after 1M and after 10M records, with the open windows at
  that point: state is bounded by the live windows, not by the run's length.

    .venv/bin/python bench/streams_bench.py            # 1M x 3 and the RSS check up to 10M
    .venv/bin/python bench/streams_bench.py --quick    # 200k x 3, RSS up to 1M

Records are generated in chunks (event time advancing 1 ms a record, with up to 2 s of
out-of-orderness from a fixed-seed generator), so the input itself takes no memory.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from playground.engine.streams.aggregator import Spec, WindowedAggregator  # noqa: E402

CHUNK = 50_000
KEYS = [f"key-{i}" for i in range(1000)]


def chunks(total: int, seed: int = 7):
    rnd = random.Random(seed)
    done = 0
    while done < total:
        n = min(CHUNK, total - done)
        keys = [KEYS[rnd.randrange(1000)] for _ in range(n)]
        ts = [done + i - rnd.randrange(2000) for i in range(n)]
        values = [float(rnd.randrange(10_000)) for _ in range(n)]
        yield keys, ts, values
        done += n


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    import os

    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


MAIN = Spec(framework="kafka_streams", kind="tumbling", aggregate="sum", size_ms=10_000, grace_ms=1_000, emit="close")
OTHERS = {
    "kafka_streams hopping 10s/5s": Spec(kind="hopping", aggregate="sum", size_ms=10_000, advance_ms=5_000,
                                         grace_ms=1_000, emit="close"),
    "kafka_streams session gap 500ms": Spec(kind="session", aggregate="sum", gap_ms=500, grace_ms=1_000, emit="close"),
    "flink tumbling 10s": Spec(framework="flink", aggregate="sum", size_ms=10_000, out_of_orderness_ms=2_000,
                               emit="close"),
}


def run_fast(spec: Spec, total: int) -> tuple[float, float]:
    """Records per wall second and per CPU second of this process (the machine may be shared)."""
    data = list(chunks(total))
    agg = WindowedAggregator(spec)
    start, cpu = time.perf_counter(), time.process_time()
    for keys, ts, values in data:
        agg.process_many(keys, ts, values)
        agg.out.clear()
    return total / (time.perf_counter() - start), total / (time.process_time() - cpu)


def run_slow(spec: Spec, total: int) -> float:
    data = list(chunks(total))
    agg = WindowedAggregator(spec)
    start = time.perf_counter()
    for keys, ts, values in data:
        process = agg.process
        for i in range(len(keys)):
            process(keys[i], ts[i], values[i])
        if not agg.kafka:
            agg.periodic_emit()
        agg.out.clear()
    return total / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    n = 200_000 if args.quick else 1_000_000
    both = [run_fast(MAIN, n) for _ in range(3)]
    runs = [wall for wall, _ in both]
    print(json.dumps({"bench": "throughput", "path": "kafka_streams tumbling 10s sum, process_many", "records": n,
                      "runs": [round(r) for r in runs], "median_records_per_s": round(statistics.median(runs)),
                      "median_records_per_cpu_s": round(statistics.median(cpu for _, cpu in both)),
                      "target": 500_000, "ok": statistics.median(runs) >= 500_000}))
    for name, spec in OTHERS.items():
        print(json.dumps({"bench": "throughput", "path": f"{name}, record by record", "records": n // 5,
                          "records_per_s": round(run_slow(spec, n // 5))}))
    agg = WindowedAggregator(MAIN)
    base = rss_mb()
    checkpoints = (n, n * 10)
    done = 0
    for keys, ts, values in chunks(checkpoints[-1], seed=11):
        agg.process_many(keys, ts, values)
        agg.out.clear()
        done += len(keys)
        if done in checkpoints:
            print(json.dumps({"bench": "rss", "records": done, "rss_mb": round(rss_mb(), 1),
                              "rss_before_mb": round(base, 1), "open_windows": agg.open_windows(),
                              "emitted": agg.emitted, "late_dropped": agg.late_dropped}))


if __name__ == "__main__":
    main()
