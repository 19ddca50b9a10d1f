"""``manage.py simulate FILE --seconds N --seed S [--json]``: run the engine without a browser.

FILE is a document on disk or the name of a ready topology (``reference``, ``starter``: see
playground/examples/). The same file and seed give the same output, apart from the wall-time
fields: the engine never reads the clock; only this command does, to report its speed.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from playground import engine, examples

TICK = 0.1  # simulated seconds per advance, as in a live room
MAX_SECONDS = 86_400.0
INVALID_DOCUMENT = 2


class Command(BaseCommand):
    help = "Run a topology headless for N simulated seconds and print its metrics."

    def add_arguments(self, parser: CommandParser) -> None:
        ready = ", ".join(examples.names())
        parser.add_argument("file", metavar="FILE",
                            help=f"a topology .json file, or a ready one: {ready}")
        parser.add_argument("--seconds", type=float, default=10.0,
                            help="simulated seconds to run (default 10)")
        parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
        parser.add_argument("--json", action="store_true", help="print one JSON object")

    def handle(self, *args: Any, **options: Any) -> None:
        seconds = options["seconds"]
        if not 0 < seconds <= MAX_SECONDS:
            raise CommandError(f"--seconds must be more than 0 and at most {MAX_SECONDS:,.0f}")
        source, raw = read_source(options["file"])
        try:
            document = engine.parse_document(raw)
        except engine.DocumentError as exc:
            lines = "\n".join(f"  {e}" if e.path else f"  (document) {e.message}"
                              for e in exc.errors)
            raise CommandError(f"{source} is not a valid topology:\n{lines}",
                               returncode=INVALID_DOCUMENT) from None
        summary = run(document, seed=options["seed"], seconds=seconds)
        if options["json"]:
            self.stdout.write(json.dumps(summary, indent=2))
        else:
            self.stdout.write(format_table(summary))


def read_source(name: str) -> tuple[str, bytes]:
    path = Path(name)
    if path.is_file():
        size = path.stat().st_size
        if size > engine.MAX_DOCUMENT_BYTES:
            raise CommandError(f"{name} is {size:,} bytes; a document may be at most "
                               f"{engine.MAX_DOCUMENT_BYTES:,} bytes", returncode=INVALID_DOCUMENT)
        return name, path.read_bytes()
    if name in examples.names():
        return f"example {name!r}", examples.path(name).read_bytes()
    raise CommandError(f"no file or ready topology named {name!r}; "
                       f"ready topologies: {', '.join(examples.names())}")


def run(document: engine.Document, *, seed: int, seconds: float) -> dict[str, Any]:
    sim = engine.Simulation(document, seed, record_flow=False)
    # A whole number of ticks, then the remainder: the same sequence of advances every time.
    ticks = int(seconds / TICK + 1e-9)
    rest = seconds - ticks * TICK
    started = time.perf_counter()
    for _ in range(ticks):
        sim.advance(TICK)
        sim.drain_events()  # not printed; drained so a long run does not hold them all
    if rest > 1e-9:
        sim.advance(rest)
        sim.drain_events()
    wall = time.perf_counter() - started
    m = sim.metrics()
    return {
        "name": document.name,
        "seed": seed,
        "sent": m["sent"],
        "produced": m["produced"],
        "acknowledged": m["acknowledged"],
        "in_flight": m["in_flight"],
        "waiting": m["waiting"],
        "dead_lettered": m["dead_lettered"],
        "dropped": dict(sorted(m["dropped"].items())),
        "dropped_total": m["dropped_total"],
        "duplicates": m["duplicates"],
        "retried": m["retried"],
        "lag": m["lag"],
        "simulated_seconds": round(sim.now, 6),
        "wall_seconds": round(wall, 3),
        "messages_per_wall_second": round(m["produced"] / wall) if wall > 0 else None,
    }


def format_table(s: dict[str, Any]) -> str:
    rows: list[tuple[str, str]] = [
        ("produced", f"{s['produced']:,}"),
        ("acknowledged", f"{s['acknowledged']:,}"),
        ("in flight", f"{s['in_flight']:,}"),
        ("waiting", f"{s['waiting']:,}"),
        ("dead-lettered", f"{s['dead_lettered']:,}"),
        ("dropped", f"{s['dropped_total']:,}"),
    ]
    rows += [(f"  {reason}", f"{n:,}") for reason, n in s["dropped"].items()]
    rows += [
        ("duplicates", f"{s['duplicates']:,}"),
        ("retried", f"{s['retried']:,}"),
        ("lag", f"{s['lag']:,}"),
        ("simulated seconds", f"{s['simulated_seconds']:g}"),
        ("wall seconds", f"{s['wall_seconds']:.3f}"),
        ("simulated msg per wall s", "n/a" if s["messages_per_wall_second"] is None
         else f"{s['messages_per_wall_second']:,}"),
    ]
    width = max(len(label) for label, _ in rows)
    lines = [f"{s['name']} (seed {s['seed']})", ""]
    lines += [f"  {label:<{width}}  {value:>14}" for label, value in rows]
    return "\n".join(lines)
