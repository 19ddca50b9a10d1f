"""Frames carry only what changed (issue 19): a browser merging them holds exactly the metrics
a complete frame would have carried, at every frame, and a snapshot starts a new chain."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from playground import engine
from playground.live import protocol
from playground.live.runner import EmbeddedRunner
from tests.live.helpers import complete_frames, merge_metrics, reference, starter
from tests.live.test_runner import Collector


async def _frames(document: dict[str, Any], delta: bool, steps: int) -> list[dict[str, Any]]:
    out = Collector()
    runner = EmbeddedRunner("delta-test", publish=out, tick_seconds=0.1)
    runner.delta_frames = delta
    await runner.load(engine.parse_document(document), seed=7)
    for _ in range(steps):
        await runner.control("step")
    await runner.control("reset")
    for _ in range(3):
        await runner.control("step")
    return [json.loads(m["text"]) for m in out.messages]


async def test_merged_deltas_equal_complete_frames_through_a_run_and_a_reset():
    for document in (starter(), reference()):
        complete = [m for m in await _frames(document, delta=False, steps=25) if m["type"] == "frame"]
        merged = complete_frames(await _frames(document, delta=True, steps=25))
        assert len(complete) == len(merged) == 28
        for full, got in zip(complete, merged, strict=True):
            assert got["metrics"] == full["metrics"], f"seq {full['seq']}"
        assert sum(f.get("delta", False) for f in merged) >= 25  # complete after load and reset only


async def test_delta_frames_are_smaller():
    complete = [m for m in await _frames(reference(), delta=False, steps=15) if m["type"] == "frame"]
    deltas = [m for m in await _frames(reference(), delta=True, steps=15) if m["type"] == "frame"]
    size = lambda frames: sum(len(json.dumps(f["metrics"])) for f in frames[1:15])  # noqa: E731
    assert size(deltas) < size(complete) * 0.8


scalar = st.one_of(st.integers(-5, 5), st.text(max_size=2), st.none())
small = st.dictionaries(st.sampled_from("xyz"), scalar, max_size=3)
leaf = st.one_of(
    scalar,
    st.lists(st.integers(0, 3), max_size=3),
    st.lists(small, min_size=1, max_size=3),  # like a topic's partitions
    small,
)
node = st.dictionaries(st.sampled_from("abcd"), leaf, max_size=4)
metrics = st.fixed_dictionaries(
    {"t": st.floats(0, 10), "nodes": st.dictionaries(st.sampled_from(["n1", "n2", "n3"]), node, max_size=3)},
    optional={"produced": st.integers(0, 9), "lag": st.integers(0, 9)},
)


@settings(max_examples=300, deadline=None)
@given(before=metrics, after=metrics)
def test_a_delta_merged_into_the_previous_metrics_gives_the_new_ones(before, after):
    delta = protocol.metrics_delta(before, after)
    if delta is None:  # a top-level field disappeared: only a complete frame will do
        assert any(k not in after for k in before)
        return
    assert merge_metrics(before, {"metrics": delta, "delta": True}) == after
    assert json.loads(protocol.dumps(delta)) == delta  # it survives the wire


NODE_MERGE = """
import { frameMetrics } from "./static/src/live/delta.js";
import { readFileSync } from "node:fs";
const messages = JSON.parse(readFileSync(0, "utf8"));
let held = null;
const out = [];
for (const m of messages) {
  if (m.type === "snapshot") held = m.metrics;
  else if (m.type === "frame") { held = frameMetrics(held, m); out.push(held); }
}
process.stdout.write(JSON.stringify(out));
"""


async def test_the_browser_merge_gives_the_complete_metrics_of_every_frame():
    """static/src/live/delta.js, run by node on a real run's frames (reference: partitions move)."""
    import shutil
    import subprocess
    from pathlib import Path

    node = shutil.which("node")
    assert node, "node is needed to build the front end, and for this test"
    root = Path(__file__).resolve().parents[2]
    complete = [m for m in await _frames(reference(), delta=False, steps=12) if m["type"] == "frame"]
    deltas = await _frames(reference(), delta=True, steps=12)
    done = subprocess.run(
        [node, "--input-type=module", "-e", NODE_MERGE],
        input=json.dumps(deltas), capture_output=True, text=True, cwd=root, timeout=60, check=True,
    )
    merged = json.loads(done.stdout)
    assert merged == [f["metrics"] for f in complete]
