import json
import subprocess
import sys
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from tests.topologies.factories import document

ROOT = Path(__file__).resolve().parents[2]
WALL_FIELDS = ("wall_seconds", "messages_per_wall_second")
REQUIRED = ("produced", "acknowledged", "in_flight", "waiting", "dead_lettered", "dropped",
            "duplicates", "simulated_seconds", "wall_seconds")


def simulate(*args: str) -> str:
    out = StringIO()
    call_command("simulate", *args, stdout=out)
    return out.getvalue()


def simulate_json(*args: str) -> dict[str, Any]:
    return json.loads(simulate(*args, "--json"))


def without_wall_time(summary: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in summary.items() if k not in WALL_FIELDS}


def test_json_output_holds_the_metrics_summary() -> None:
    summary = simulate_json("starter", "--seconds", "3", "--seed", "5")
    for key in REQUIRED + ("sent", "retried", "lag", "messages_per_wall_second"):
        assert key in summary, key
    assert summary["simulated_seconds"] == 3.0
    assert summary["produced"] > 0
    assert isinstance(summary["dropped"], dict)
    accounted = (summary["acknowledged"] + summary["in_flight"] + summary["waiting"]
                 + summary["dead_lettered"] + sum(summary["dropped"].values()))
    assert summary["produced"] == accounted


def test_the_reference_topology_runs_by_name() -> None:
    summary = simulate_json("reference", "--seconds", "0.5", "--seed", "1")
    assert summary["name"].startswith("Reference")
    assert 9_000 < summary["produced"] < 11_000  # 20,000 msg/s for half a second


def test_same_seed_gives_the_same_output() -> None:
    first = simulate_json("starter", "--seconds", "4", "--seed", "11")
    second = simulate_json("starter", "--seconds", "4", "--seed", "11")
    assert without_wall_time(first) == without_wall_time(second)
    other = simulate_json("starter", "--seconds", "4", "--seed", "12")
    assert without_wall_time(other) != without_wall_time(first)


def test_table_output_is_the_same_for_the_same_seed_apart_from_wall_time() -> None:
    def stable(text: str) -> list[str]:
        return [line for line in text.splitlines() if "wall" not in line]

    first = simulate("starter", "--seconds", "2", "--seed", "3")
    assert stable(first) == stable(simulate("starter", "--seconds", "2", "--seed", "3"))
    for label in ("produced", "acknowledged", "in flight", "waiting", "dead-lettered", "dropped",
                  "duplicates", "retried", "lag", "simulated seconds", "wall seconds",
                  "simulated msg per wall s"):
        assert any(line.strip().startswith(label) for line in first.splitlines()), label


def test_a_file_on_disk_is_simulated(tmp_path: Path) -> None:
    path = tmp_path / "orders.json"
    path.write_text(json.dumps(document()))
    summary = simulate_json(str(path), "--seconds", "1", "--seed", "1")
    assert summary["name"] == "Orders"
    assert summary["simulated_seconds"] == 1.0


def test_a_fraction_of_a_tick_is_simulated_too() -> None:
    assert simulate_json("starter", "--seconds", "0.25")["simulated_seconds"] == 0.25


def test_a_bad_file_is_refused_naming_the_field(tmp_path: Path) -> None:
    bad = document()
    bad["nodes"][1]["params"]["partitions"] = 1000
    bad["edges"][1]["target"] = "payments"
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bad))
    with pytest.raises(CommandError) as caught:
        simulate(str(path))
    assert caught.value.returncode == 2
    message = str(caught.value)
    assert "nodes[1].params.partitions: must be at most 256" in message
    assert "edges[1].target: no node has the id 'payments'" in message


def test_malformed_json_is_refused_saying_where(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('{"fanout": 1,\n "nodes": [}')
    with pytest.raises(CommandError) as caught:
        simulate(str(path))
    assert caught.value.returncode == 2
    assert "line 2, column 12" in str(caught.value)


def test_an_unknown_name_lists_the_ready_topologies() -> None:
    from playground import examples

    with pytest.raises(CommandError) as caught:
        simulate("no-such-topology")
    assert "ready topologies: " + ", ".join(examples.names()) in str(caught.value)
    assert "reference" in examples.names() and "starter" in examples.names()


def test_seconds_must_be_positive() -> None:
    with pytest.raises(CommandError, match="--seconds"):
        simulate("starter", "--seconds", "0")


def test_a_bad_file_exits_with_status_2_from_the_shell(tmp_path: Path) -> None:
    bad = document()
    bad["nodes"][0]["type"] = "mainframe"
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bad))
    result = subprocess.run(
        [sys.executable, "manage.py", "simulate", str(path), "--seconds", "1"],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
    )
    assert result.returncode == 2
    assert "nodes[0].type: unknown node type 'mainframe'" in result.stderr
    assert result.stdout == ""
