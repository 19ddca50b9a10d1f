"""The compiled engine (playground/accel.py: the hot modules built with mypyc) computes exactly what
the interpreted one does, and each refuses the other's snapshots cleanly.

The compiled build is optional on a developer's machine (no C compiler: everything runs
interpreted). CI sets FANOUT_REQUIRE_COMPILED=1, and then a missing or stale build fails here
instead of passing unnoticed.
"""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

from playground import accel, engine, examples
from playground.engine import simulation

ROOT = Path(__file__).resolve().parents[2]

FINGERPRINT = ROOT / "bench" / "fingerprint.py"
PROBE = """
import json, runpy, sys
from playground import accel
import playground.engine
print(json.dumps(accel.status()["compiled"]))
sys.argv = ["fingerprint", "--seconds", "3"]
runpy.run_path(%r, run_name="__main__")
"""


def _fingerprints(build: str) -> tuple[bool, dict[str, str]]:
    """bench/fingerprint.py's runs (every example: plain, broker faults, consumer commands, group
    variants; two seeds, animated and not) for 3 simulated seconds, under ``build``."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "FANOUT_ENGINE": build}
    probe = PROBE % str(FINGERPRINT)
    result = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=600, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    first, _, rest = result.stdout.partition("\n")
    return json.loads(first), json.loads(rest)


def _compiled_or_skip() -> None:
    if accel.status()["compiled"]:
        return
    why = accel.status()["why"]
    if os.environ.get("FANOUT_REQUIRE_COMPILED"):
        pytest.fail(f"FANOUT_REQUIRE_COMPILED is set but the engine runs interpreted: {why}")
    pytest.skip(f"the engine runs interpreted here: {why}")


def test_the_compiled_engine_computes_what_the_interpreted_one_does() -> None:
    """Same metrics and events every half second in every fingerprint run (bench/fingerprint.py)."""
    _compiled_or_skip()
    (compiled, ours), (interpreted, theirs) = _fingerprints("compiled"), _fingerprints("interpreted")
    assert compiled is True and interpreted is False
    assert len(ours) > 200
    assert [run for run in ours if ours[run] != theirs.get(run)] == []


def test_a_stale_build_is_not_used(tmp_path: Path) -> None:
    """After an edit of any engine source the build no longer matches: the engine runs interpreted
    (the edit is what runs), until the next ``make setup``. A build for another Python neither."""
    module = tmp_path / "kernel.so"
    module.write_bytes(b"")
    fresh = {"sources": accel.sources_digest(), "platform": accel._platform(),
             "modules": {"playground.engine.kernel": "kernel.so"}}
    files, why = accel.check(fresh, tmp_path)
    assert files == {"playground.engine.kernel": module} and why == ""
    files, why = accel.check({**fresh, "sources": "0" * 64}, tmp_path)
    assert files is None and "sources changed" in why
    files, why = accel.check({**fresh, "platform": "cpython-27 .so"}, tmp_path)
    assert files is None and "built for cpython-27" in why
    files, why = accel.check({**fresh, "modules": {"playground.engine.kernel": "gone.so"}}, tmp_path)
    assert files is None and "incomplete" in why


def test_a_snapshot_of_the_other_build_is_refused_with_a_clear_error() -> None:
    sim = engine.Simulation(engine.parse_document(examples.load("reference")), 3)
    sim.advance(0.5)
    blob = sim.snapshot()
    engine.Simulation.restore(blob).advance(0.1)  # its own build restores
    other = "interpreted" if simulation.ENGINE_BUILD == "compiled" else "compiled"
    forged = pickle.dumps((simulation.SNAPSHOT_FORMAT, other)) + pickle.dumps(sim)
    with pytest.raises(ValueError, match="not a snapshot of this engine version"):
        engine.Simulation.restore(forged)
    with pytest.raises(ValueError, match="not a snapshot of this engine version"):
        engine.Simulation.restore(b"garbage")
