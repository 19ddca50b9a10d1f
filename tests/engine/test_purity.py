"""The engine is a pure library: importing and running it pulls in no framework or I/O layer."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = ("django", "channels", "asyncio", "celery", "redis", "daphne")

PROBE = """
import json, sys
from playground import engine
from playground.examples import load
sim = engine.Simulation(engine.parse_document(load("starter")), 1)
sim.advance(1.0)
sim.apply({"op": "add_consumer", "node": "billing"})
sim.advance(1.0)
engine.Simulation.restore(sim.snapshot()).advance(0.5)
engine.json_schema()
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in %r)))
"""


def test_engine_imports_and_runs_without_django_channels_asyncio_celery_or_redis() -> None:
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)}  # no DJANGO_SETTINGS_MODULE
    result = subprocess.run(
        [sys.executable, "-c", PROBE % (FORBIDDEN,)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == []
