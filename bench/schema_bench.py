"""Schema registry benchmark: registering and checking a 50-field schema under FULL_TRANSITIVE.

For each format (Avro, Protobuf, JSON Schema) a subject gets 10 versions of a 50-field schema,
each compatible both ways with the others; then a new, 11th schema (text never seen before, so
it is parsed: protoc runs for Protobuf) is registered on a copy of that registry, which checks
it both ways against all 10 versions. Prints one JSON line per format with the median, best
and worst wall time of the runs and the median CPU time, in milliseconds, and the machine's load
(a shared machine's wall times include waiting for a core); the target (issue 14) is a median
under 5 ms.

    .venv/bin/python bench/schema_bench.py            # 31 runs per format
    .venv/bin/python bench/schema_bench.py --runs 101
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from playground.engine.schemas.registry_model import SchemaRegistry  # noqa: E402

FIELDS = 50
VERSIONS = 10


def avro_schema(version: int) -> str:
    """Version n: 50 fields, plus a documented optional field for each earlier version (a union
    with null and a default: FULL both ways)."""
    fields = [{"name": f"f{i}", "type": ["long", "string", "double", "boolean"][i % 4]} for i in range(FIELDS)]
    fields += [{"name": f"extra{v}", "type": ["null", "string"], "default": None} for v in range(version)]
    return json.dumps({"type": "record", "name": "Order", "namespace": "bench", "doc": f"v{version}",
                       "fields": fields})


def proto_schema(version: int) -> str:
    kinds = ["int64", "string", "double", "bool"]
    lines = [f"  {kinds[i % 4]} f{i} = {i + 1};" for i in range(FIELDS)]
    lines += [f"  optional string extra{v} = {FIELDS + v + 1};" for v in range(version)]
    return f'syntax = "proto3";\npackage bench;\n// v{version}\nmessage Order {{\n' + "\n".join(lines) + "\n}\n"


def json_schema(version: int) -> str:
    kinds = ["integer", "string", "number", "boolean"]
    props = {f"f{i}": {"type": kinds[i % 4]} for i in range(FIELDS)}
    return json.dumps({"type": "object", "title": "Order", "description": f"v{version}", "properties": props,
                       "required": [f"f{i}" for i in range(0, FIELDS, 5)]})


FORMATS = {"AVRO": avro_schema, "PROTOBUF": proto_schema, "JSON": json_schema}


def bench(schema_type: str, runs: int) -> dict[str, object]:
    make = FORMATS[schema_type]
    base = SchemaRegistry("FULL_TRANSITIVE")
    for v in range(VERSIONS):
        base.register("orders-value", schema_type, make(v))
    times, cpu = [], []
    for run in range(runs):
        registry = copy.deepcopy(base)
        text = make(VERSIONS) + (" " * (run + 1) if schema_type != "PROTOBUF" else f"// run {run}\n")
        start, start_cpu = time.perf_counter(), time.process_time()
        schema_id, version, new = registry.register("orders-value", schema_type, text)
        times.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
        assert new and version == VERSIONS + 1, (schema_id, version)
    return {"format": schema_type, "fields": FIELDS, "versions": VERSIONS, "level": "FULL_TRANSITIVE",
            "runs": runs, "median_ms": round(statistics.median(times), 3), "min_ms": round(min(times), 3),
            "max_ms": round(max(times), 3), "under_5ms": statistics.median(times) < 5.0,
            # CPU time of this process: what the registration cost, less the waits for a core
            "cpu_median_ms": round(statistics.median(cpu), 3),
            # the machine is shared: the load says how much of the wall time was someone else's
            "load_avg_1m": round(os.getloadavg()[0], 2), "cpus": os.cpu_count()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=31)
    args = parser.parse_args()
    for schema_type in FORMATS:
        print(json.dumps(bench(schema_type, args.runs)))


if __name__ == "__main__":
    main()
