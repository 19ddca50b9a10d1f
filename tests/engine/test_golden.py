"""Golden outputs: every ready topology computes what it computed when the golden file was written.

``tests/engine/golden/fingerprints.json`` holds, for every run of bench/fingerprint.py (each ready
topology, two seeds, animated and headless, with scripted broker faults, consumer commands and the
reference group's variants), the hash of its metrics and events every half second and its final
totals. A change in what the engine computes fails here and names the runs; when the change is
meant, ``make golden`` writes the file again and the diff shows, in review, which runs changed and
how their totals moved.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]


def _fingerprint_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("fanout_fingerprint", ROOT / "bench" / "fingerprint.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_ready_topology_computes_its_golden_output() -> None:
    fingerprint = _fingerprint_module()
    saved = json.loads(fingerprint.GOLDEN.read_text(encoding="utf-8"))
    result = fingerprint.fingerprints(fingerprint.GOLDEN_SECONDS, None)
    assert len(result) > 200
    changed = fingerprint.differences(saved, result)
    assert changed == [], (
        "the engine computes something else than the golden outputs say; if that is meant, run "
        "`make golden` and say in the commit why each run changed:\n" + "\n".join(changed))


def test_a_changed_run_is_named_with_the_totals_that_moved() -> None:
    fingerprint = _fingerprint_module()
    before = {"a": {"hash": "1", "totals": {"sent": 5, "lag": 0}}, "gone": {"hash": "2", "totals": {}}}
    after = {"a": {"hash": "3", "totals": {"sent": 6, "lag": 0}}, "new": {"hash": "4", "totals": {}}}
    assert fingerprint.differences(before, after) == ["differs: a (sent 5 -> 6)", "gone: gone", "new: new"]
    assert fingerprint.differences(before, {**after, "a": before["a"], "gone": before["gone"]}) == ["new: new"]
