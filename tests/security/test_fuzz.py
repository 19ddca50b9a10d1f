"""Fuzz (issue 19, point 7): hypothesis-generated documents and websocket messages.

Whatever arrives, the server answers with a result or a refusal naming the field: never a 500,
never a crashed consumer, never a silent room (after any sequence of messages the room still
answers a resync with a snapshot, and that snapshot encodes).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from playground import engine
from playground.live import rooms
from tests.live.helpers import Viewer, starter
from tests.topologies.factories import document, post_json

# JSON-ish values including what hostile clients send: lone surrogates, huge integers, floats
# out of range, deep nesting.
texts = st.text(alphabet=st.characters(codec=None, categories=None), max_size=20)
scalars = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(10**30), max_value=10**30),
                    st.floats(allow_nan=False), texts)
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                       st.dictionaries(texts, inner, max_size=4)),
                      max_leaves=30)


def mutated_document() -> st.SearchStrategy[dict[str, Any]]:
    """A valid document with one place replaced by an arbitrary value."""
    def spoil(draw: Any) -> dict[str, Any]:
        doc = document()
        where = draw(st.sampled_from(["name", "description", "node_param", "node_label", "node_id",
                                      "edge_source", "extra_key", "params", "nodes"]))
        value = draw(values)
        if where == "node_param":
            doc["nodes"][draw(st.integers(0, 3))].setdefault("params", {})[draw(texts)] = value
        elif where == "node_label":
            doc["nodes"][0]["label"] = value
        elif where == "node_id":
            doc["nodes"][1]["id"] = value
        elif where == "edge_source":
            doc["edges"][0]["source"] = value
        elif where == "extra_key":
            doc[draw(texts)] = value
        elif where == "params":
            doc["nodes"][0]["params"] = value
        else:
            doc[where] = value
        return doc
    return st.composite(lambda draw: spoil(draw))()


def as_text(value: Any) -> str:
    # ensure_ascii escapes lone surrogates as \udXXX, exactly what a hostile client would send.
    return json.dumps(value, ensure_ascii=True)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(doc=st.one_of(mutated_document(), values))
def test_parse_document_accepts_or_names_the_field_and_what_it_accepts_encodes(doc: Any) -> None:
    try:
        parsed = engine.parse_document(as_text(doc))
    except engine.DocumentError as exc:
        assert exc.errors and all(isinstance(e.path, str) and e.message for e in exc.errors)
        return
    # What is accepted can be stored and sent as UTF-8 JSON (snapshots would fail otherwise).
    json.dumps(parsed.to_dict(), ensure_ascii=False).encode("utf-8")


@pytest.mark.django_db
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(doc=st.one_of(mutated_document(), values))
def test_post_t_never_answers_500(doc: Any) -> None:
    client = Client(raise_request_exception=False)
    response = post_json(client, "/t/", as_text(doc))
    assert response.status_code in (201, 400), response.status_code
    if response.status_code == 400:
        assert response.json()["errors"]


# -- websocket messages -------------------------------------------------------------------------

messages = st.one_of(
    st.builds(lambda d: {"type": "load", "document": d}, st.one_of(mutated_document(), values)),
    st.builds(lambda a, v: {"type": "control", "action": a, "value": v},
              st.sampled_from(["run", "pause", "step", "reset", "speed", "fly"]), values),
    st.builds(lambda c: {"type": "command", "command": c}, values),
    st.builds(lambda s: {"type": "ack", "seq": s}, values),
    st.builds(lambda t: {"type": t}, texts),
    values,
)


async def fuzz_room(sent: list[Any]) -> None:
    await rooms.reset_registry()
    alice = Viewer("room-fuzz-1", "fuzz-key-123456")
    try:
        assert (await alice.connect())["controller"] is True
        await alice.send({"type": "load", "document": starter()})
        await alice.receive_type("snapshot")
        for message in sent:
            await alice.send(as_text(message))
            await asyncio.sleep(0)
        # Drain what came back (bounded: a fuzzed "run" streams frames for good): every reply
        # is a protocol message, none is a crash.
        for _ in range(200):
            if await alice.nothing(timeout=0.05):
                break
            reply = await alice.receive()
            assert reply["type"] in ("snapshot", "frame", "error", "hello", "notice"), reply
        await alice.send({"type": "resync"})
        snapshot = await alice.receive_type("snapshot", timeout=10)
        json.dumps(snapshot, ensure_ascii=False).encode("utf-8")
    finally:
        await alice.disconnect()
        await rooms.reset_registry()


@pytest.mark.django_db(transaction=True)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(sent=st.lists(messages, min_size=1, max_size=6))
def test_any_websocket_messages_leave_the_room_answering(sent: list[Any], settings_tick: None) -> None:
    asyncio.run(fuzz_room(sent))


@pytest.fixture
def settings_tick(settings: Any) -> None:
    settings.FANOUT_TICK_SECONDS = 0.02
