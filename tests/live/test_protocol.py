"""The wire format alone: parsing client messages, building and bounding server messages."""

from __future__ import annotations

import json

import pytest

from playground import engine
from playground.live import protocol
from playground.live.protocol import Ack, Command, Control, Load, ProtocolError, Resync


def parse_error(text: str | bytes | None) -> ProtocolError:
    with pytest.raises(ProtocolError) as info:
        protocol.parse_client_message(text)
    return info.value


def test_each_message_type_parses_into_its_record():
    assert protocol.parse_client_message('{"type":"resync"}') == Resync()
    assert protocol.parse_client_message('{"type":"ack","seq":120}') == Ack(120)
    assert protocol.parse_client_message('{"type":"control","action":"run"}') == Control("run")
    assert protocol.parse_client_message(
        '{"type":"control","action":"speed","value":2}'
    ) == Control("speed", 2.0)
    assert protocol.parse_client_message(
        '{"type":"command","command":{"op":"add_consumer","node":"g"}}'
    ) == Command({"op": "add_consumer", "node": "g"})
    assert protocol.parse_client_message(
        '{"type":"load","document":{"nodes":[]},"seed":7}'
    ) == Load({"nodes": []}, 7)


@pytest.mark.parametrize(
    ("text", "code", "says"),
    [
        ("{", "bad_message", "not valid JSON"),
        ("null", "bad_message", "JSON object"),
        ('{"action":"run"}', "bad_message", '"type"'),
        ('{"type":7}', "bad_message", '"type"'),
        ('{"type":"teleport"}', "unknown_type", "teleport"),
        ('{"type":"control"}', "bad_message", '"action"'),
        ('{"type":"control","action":"speed"}', "bad_message", '"value"'),
        ('{"type":"control","action":"speed","value":"fast"}', "bad_message", '"value"'),
        ('{"type":"control","action":"speed","value":true}', "bad_message", '"value"'),
        ('{"type":"control","action":"speed","value":0.05}', "bad_message", "0.1 to 100"),
        ('{"type":"control","action":"speed","value":100.5}', "bad_message", "0.1 to 100"),
        ('{"type":"control","action":"speed","value":NaN}', "bad_message", "NaN"),
        ('{"type":"command","command":[]}', "bad_message", '"command"'),
        ('{"type":"command","command":{"node":"g"}}', "bad_message", '"command.op"'),
        ('{"type":"load"}', "bad_message", '"document"'),
        ('{"type":"load","document":{},"seed":-1}', "bad_message", '"seed"'),
        ('{"type":"load","document":{},"seed":1.5}', "bad_message", '"seed"'),
        ('{"type":"ack"}', "bad_message", '"seq"'),
        ('{"type":"ack","seq":-1}', "bad_message", '"seq"'),
        ('{"type":"ack","seq":"7"}', "bad_message", '"seq"'),
    ],
)
def test_refused_messages_name_the_problem(text: str, code: str, says: str):
    error = parse_error(text)
    assert error.code == code and says in error.message


def test_binary_and_oversized_messages_are_refused():
    assert parse_error(b"{}").code == "bad_message"
    big = json.dumps({"type": "resync", "pad": "x" * protocol.MAX_MESSAGE_BYTES})
    assert "over the limit" in parse_error(big).message


def test_every_document_the_engine_accepts_fits_in_a_load_message():
    assert protocol.MAX_MESSAGE_BYTES > engine.MAX_DOCUMENT_BYTES


def test_deeply_nested_message_is_refused_not_crashed():
    assert parse_error("[" * 100_000 + "]" * 100_000).code == "bad_message"


def test_error_frames_are_compact_versioned_json():
    text = protocol.error("invalid_document", "bad", [{"path": "nodes", "message": "x"}])
    assert " " not in text.replace("bad", "")
    assert json.loads(text) == {
        "v": 1,
        "type": "error",
        "code": "invalid_document",
        "message": "bad",
        "errors": [{"path": "nodes", "message": "x"}],
    }


def test_with_controller_completes_a_snapshot_without_parsing_it():
    body = protocol.snapshot_body(
        room="room-1234", seq=3, t=0.5, document={}, state={}, metrics={}, recent={}
    )
    assert json.loads(protocol.with_controller(body, True))["controller"] is True
    assert json.loads(protocol.with_controller(body, False))["controller"] is False


def flow(kind: str, n: int) -> list[dict]:
    return [{"k": kind, "t": i / 1000, "src": "a", "dst": "b", "n": i} for i in range(n)]


def test_small_ticks_keep_every_event():
    events = flow("produce", 50) + [{"k": "rebalance_start", "t": 0.1}]
    kept, totals = protocol.sample_events(events)
    assert kept == events and totals == {"produce": 50, "rebalance_start": 1}


def test_flow_events_are_sampled_evenly_and_fairly_with_totals():
    events = flow("produce", 5000) + flow("fetch", 3000) + flow("commit", 10)
    kept, totals = protocol.sample_events(events)
    assert totals == {"produce": 5000, "fetch": 3000, "commit": 10}
    by_kind = {k: [e for e in kept if e["k"] == k] for k in totals}
    assert len(kept) == protocol.MAX_FLOW_EVENTS
    assert len(by_kind["commit"]) == 10  # a rare kind keeps all of its events
    share = (protocol.MAX_FLOW_EVENTS - 10) // 2
    assert len(by_kind["produce"]) == len(by_kind["fetch"]) == share
    offsets = [e["n"] for e in by_kind["produce"]]  # flow() numbers its events in n
    assert offsets[0] == 0 and offsets[-1] > 4900  # spread over the whole tick
    assert protocol.sample_events(events) == (kept, totals)  # deterministic


def test_sampling_keeps_the_original_order():
    events = [
        e for pair in zip(flow("produce", 400), flow("fetch", 400), strict=True) for e in pair
    ]
    kept, _ = protocol.sample_events(events)
    assert kept == [e for e in events if e in kept]


def test_other_kinds_are_capped_and_counted():
    events = [{"k": "dead_letter", "t": 0.0, "o": i} for i in range(1000)]
    kept, totals = protocol.sample_events(events)
    assert len(kept) == protocol.MAX_OTHER_EVENTS and totals == {"dead_letter": 1000}
    assert [e["o"] for e in kept] == list(range(protocol.MAX_OTHER_EVENTS))


def test_frames_carry_the_server_time_in_state_for_latency(monkeypatch):
    monkeypatch.setattr(protocol, "wall_time", lambda: 1700000000.12345)
    frame = json.loads(protocol.frame(seq=1, t=0.1, events=[], metrics={}, state={"tick": 1}, sampled={}))
    assert frame["state"] == {"tick": 1, "ts": 1700000000.123}
    assert frame["type"] == "frame" and frame["seq"] == 1


def test_notice_is_versioned_and_typed():
    assert json.loads(protocol.notice("resumed", "moved")) == {
        "v": 1,
        "type": "notice",
        "code": "resumed",
        "message": "moved",
    }


def test_flow_events_that_move_nowhere_are_counted_not_sent_and_moving_ones_are_slimmed():
    events = [
        {"k": "produce", "t": 0.01, "src": "p", "dst": "t", "p": 3, "o": 10, "n": 5, "key": "key-1"},
        {"k": "commit", "t": 0.02, "g": "g", "c": "consumer-1", "topic": "t", "p": 3, "o": 15},
        {"k": "rebalance_start", "t": 0.03, "g": "g", "generation": 2, "reason": "x"},
    ]
    kept, totals = protocol.sample_events(events)
    assert totals == {"produce": 1, "commit": 1, "rebalance_start": 1}
    assert kept == [
        {"k": "produce", "t": 0.01, "src": "p", "dst": "t", "n": 5, "p": 3, "key": "key-1"},
        {"k": "rebalance_start", "t": 0.03, "g": "g", "generation": 2, "reason": "x"},
    ]
