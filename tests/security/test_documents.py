"""Hostile documents at every entry point: refused before parsing goes further, field named.

The entry points: POST /t/, save, /import/ (upload and paste), the websocket ``load`` and
``manage.py simulate``. The attacks (issue 19): 10,000 levels of nesting, an integer of 5,000
digits, a lone surrogate ("\\ud800") in a string, a document over the size limit. Each gets a
400 (an error frame on the websocket, exit status 2 from the CLI) that names the field, and
never a 500: with DEBUG off, a 500 would be Django's plain error page, so the tests also check
for the tracebacks that the issue saw.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from playground import engine
from playground.engine import guard
from tests.topologies.factories import create, document, post_json

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.django_db

NESTED = '{"fanout": 1, "name": "deep", "nodes": ' + "[" * 10_000 + "]" * 10_000 + "}"
BIG_INT = json.dumps(document()).replace('"rate": 20', '"rate": ' + "9" * 5000)
SURROGATE = json.dumps(document()).replace('"name": "Orders"', '"name": "Or\\ud800ders"')
SURROGATE_KEY = json.dumps(document()).replace('"keys": 50', '"k\\udfffeys": 50')
TOO_BIG = json.dumps(document(description="x" * (engine.MAX_DOCUMENT_BYTES + 10)))
HUGE_FLOAT = json.dumps(document()).replace('"rate": 20', '"rate": 1e999')

# (text, path named in the first error, words of its message)
ATTACKS = {
    "nested": (NESTED, "", "nested too deeply"),
    "big_int": (BIG_INT, "nodes[0].params.rate", "5,000 digits"),
    "surrogate": (SURROGATE, "name", "lone surrogate (\\ud800)"),
    "surrogate_key": (SURROGATE_KEY, "nodes[0].params.k\\udfffeys", "lone surrogate (\\udfff)"),
    "too_big": (TOO_BIG, "", "a document may be at most"),
    "huge_float": (HUGE_FLOAT, "nodes[0].params.rate", "finite"),
}


def assert_refused(errors: list[dict[str, str]], path: str, words: str) -> None:
    assert any(e["path"] == path and words in e["message"] for e in errors), errors


@pytest.mark.parametrize("attack", ATTACKS)
def test_post_t_refuses_each_attack_with_a_400_naming_the_field(client: Client, attack: str) -> None:
    text, path, words = ATTACKS[attack]
    response = post_json(client, "/t/", text)
    assert response.status_code == 400
    assert_refused(response.json()["errors"], path, words)


@pytest.mark.parametrize("attack", ATTACKS)
def test_save_refuses_each_attack_and_keeps_the_stored_document(client: Client, attack: str) -> None:
    slug = create(client)
    text, path, words = ATTACKS[attack]
    response = post_json(client, f"/t/{slug}/save", text)
    assert response.status_code == 400
    assert_refused(response.json()["errors"], path, words)
    assert client.get(f"/t/{slug}/export.json").json()["name"] == "Orders"


@pytest.mark.parametrize("attack", ATTACKS)
def test_import_paste_and_upload_refuse_each_attack_naming_the_field(client: Client, attack: str) -> None:
    text, path, words = ATTACKS[attack]
    shown_path = path or "(document)"
    pasted = client.post("/import/", {"text": text})
    upload = io.BytesIO(text.encode("utf-8", "surrogatepass"))
    upload.name = "attack.json"
    uploaded = client.post("/import/", {"file": upload})
    for response in (pasted, uploaded):
        assert response.status_code == 400, response.status_code
        html = response.content.decode()
        assert "Traceback" not in html
        errors = response.context["form"].document_errors
        assert any(e.path == path and words in e.message for e in errors), (shown_path, errors)


@pytest.mark.parametrize("attack", ATTACKS)
def test_simulate_exits_2_naming_the_field(tmp_path: Path, attack: str) -> None:
    text, path, words = ATTACKS[attack]
    file = tmp_path / "attack.json"
    file.write_bytes(text.encode("utf-8", "surrogatepass"))
    with pytest.raises(CommandError) as caught:
        call_command("simulate", str(file), "--seconds", "1", stdout=io.StringIO())
    assert caught.value.returncode == 2
    assert words in str(caught.value)
    if path:
        assert path in str(caught.value)


def test_simulate_from_the_shell_exits_2_on_a_lone_surrogate_without_a_traceback(tmp_path: Path) -> None:
    file = tmp_path / "attack.json"
    file.write_text(SURROGATE)
    result = subprocess.run([sys.executable, "manage.py", "simulate", str(file), "--seconds", "1"],
                            cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 2
    assert "name: contains a lone surrogate" in result.stderr and "Traceback" not in result.stderr


def test_the_guard_walk_has_no_recursion_and_stops_at_its_report_limit() -> None:
    deep: Any = []
    for _ in range(50_000):  # deeper than Python could recurse: the walk must not
        deep = [deep]
    assert guard.check(deep)[0].message.startswith("is nested too deeply")
    many = {f"k{i}": "\ud800" for i in range(500)}
    assert len(guard.check(many)) == guard.MAX_REPORTED


def test_integers_the_editor_cannot_hold_exactly_are_refused() -> None:
    doc = document()
    doc["nodes"][0]["params"]["rate"] = 2**53
    with pytest.raises(engine.DocumentError) as caught:
        engine.parse_document(doc)
    assert caught.value.errors[0].path == "nodes[0].params.rate"
    doc["nodes"][0]["params"]["rate"] = 20
    assert engine.parse_document(doc).name == "Orders"
