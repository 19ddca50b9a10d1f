"""The schema_registry node: declared params, preloaded schemas validated with the field and the
line named, commands during a run, history on its metrics, snapshot and restore."""

import json

import pytest

from playground import engine

ORDER = {"type": "record", "name": "Order", "namespace": "shop", "fields": [{"name": "id", "type": "long"}]}


def doc(schemas: object = "", **params) -> dict:
    text = schemas if isinstance(schemas, str) else json.dumps(schemas)
    return {"fanout": 1, "name": "schemas", "nodes": [
        {"id": "sr", "type": "schema_registry", "params": {"schemas": text, **params}}], "edges": []}


def sim_with(schemas: object = "", **params) -> engine.Simulation:
    return engine.Simulation(engine.parse_document(doc(schemas, **params)), 1)


def test_node_type_declares_params_with_help_and_commands():
    nt = engine.get_node_type("schema_registry").to_dict()
    assert {p["name"] for p in nt["params"]} == {"compatibility", "subject_strategy", "schemas"}
    assert all(p["help"] for p in nt["params"])
    assert nt["commands"] == ["register_schema", "set_compatibility", "test_compatibility"]
    assert [a["name"] for a in nt["command_info"]["register_schema"]["args"]] == [
        "subject", "topic", "schema_type", "schema"]


def test_preloaded_subjects_are_registered_in_order():
    sim = sim_with([{"subject": "orders-value", "versions": [{"schemaType": "AVRO", "schema": ORDER}]},
                    {"topic": "refunds", "versions": [{"schemaType": "AVRO", "schema": ORDER}]}])
    state = sim.metrics()["nodes"]["sr"]
    assert [(s["subject"], [v["id"] for v in s["versions"]]) for s in state["subjects"]] == [
        ("orders-value", [1]), ("refunds-value", [1])]
    assert [h["ok"] for h in state["history"]] == [True, True]


def test_preloaded_schema_that_does_not_parse_names_entry_and_line():
    bad = '[{"subject": "s", "versions": [{"schemaType": "JSON", "schema": "{\\n \\"type\\": 5\\n}"}]}]'
    with pytest.raises(engine.DocumentError) as err:
        engine.parse_document(doc(bad))
    (error,) = err.value.errors
    assert error.path == "nodes[0].params.schemas"
    assert "schemas[0].versions[0].schema: line 2" in error.message


def test_preloaded_incompatible_version_is_a_document_error():
    v2 = {**ORDER, "fields": [*ORDER["fields"], {"name": "note", "type": "string"}]}
    with pytest.raises(engine.DocumentError) as err:
        engine.parse_document(doc([{"subject": "s", "versions": [{"schema": ORDER}, {"schema": v2}]}]))
    assert "schemas[0].versions[1]" in str(err.value) and "'note'" in str(err.value)


def test_register_command_refused_is_kept_in_history_with_reasons():
    sim = sim_with([{"subject": "orders-value", "versions": [{"schema": ORDER}]}])
    v2 = {**ORDER, "fields": [*ORDER["fields"], {"name": "note", "type": "string"}]}
    sim.apply({"op": "register_schema", "node": "sr", "subject": "orders-value", "schema": json.dumps(v2)})
    events = [e for e in sim.drain_events() if e["k"] == "schema_refused"]
    assert events and events[0]["reasons"][0]["rule"] == "READER_FIELD_MISSING_DEFAULT_VALUE"
    state = sim.metrics()["nodes"]["sr"]
    assert state["refused"] == 1 and state["history"][-1]["ok"] is False


def test_set_compatibility_then_register_passes():
    sim = sim_with([{"subject": "orders-value", "versions": [{"schema": ORDER}]}])
    v2 = {**ORDER, "fields": [*ORDER["fields"], {"name": "note", "type": "string"}]}
    sim.apply({"op": "set_compatibility", "node": "sr", "subject": "orders-value", "level": "NONE"})
    sim.apply({"op": "register_schema", "node": "sr", "topic": "orders", "schema": json.dumps(v2)})
    state = sim.metrics()["nodes"]["sr"]
    assert state["subjects"][0]["versions"][-1] == {"version": 2, "id": 2, "schemaType": "AVRO"}


def test_register_command_with_bad_schema_names_field_and_line():
    sim = sim_with()
    with pytest.raises(engine.CommandError) as err:
        sim.apply({"op": "register_schema", "node": "sr", "subject": "s", "schema_type": "PROTOBUF",
                   "schema": 'syntax = "proto3";\nmessage A { in32 a = 1; }'})
    assert "schema: line 2" in str(err.value)


def test_bad_level_in_command_is_refused_naming_it():
    sim = sim_with()
    with pytest.raises(engine.CommandError) as err:
        sim.apply({"op": "set_compatibility", "node": "sr", "level": "SIDEWAYS"})
    assert "level" in str(err.value)


def test_snapshot_restores_the_registry():
    sim = sim_with([{"subject": "orders-value", "versions": [{"schema": ORDER}]}])
    sim.apply({"op": "register_schema", "node": "sr", "subject": "other", "schema": json.dumps(ORDER)})
    restored = engine.Simulation.restore(sim.snapshot())
    assert restored.metrics()["nodes"]["sr"] == sim.metrics()["nodes"]["sr"]
    restored.apply({"op": "register_schema", "node": "sr", "subject": "third", "schema": json.dumps(ORDER)})
    assert restored.metrics()["nodes"]["sr"]["schemas"] == 1


def test_test_compatibility_answers_without_registering():
    """POST /compatibility/subjects/{subject}/versions: the answer, and no new version."""
    sim = sim_with([{"subject": "orders-value", "versions": [{"schema": ORDER}]}])
    v2 = {**ORDER, "fields": [*ORDER["fields"], {"name": "note", "type": "string"}]}
    sim.apply({"op": "test_compatibility", "node": "sr", "subject": "orders-value", "schema": json.dumps(v2)})
    state = sim.metrics()["nodes"]["sr"]
    assert state["history"][-1]["op"] == "test" and state["history"][-1]["ok"] is False
    assert len(state["subjects"][0]["versions"]) == 1


def test_testing_against_an_unknown_subject_names_it():
    """Error 40401: Subject 'x' not found."""
    sim = sim_with()
    with pytest.raises(engine.CommandError) as err:
        sim.apply({"op": "test_compatibility", "node": "sr", "subject": "ghost-value", "schema": json.dumps(ORDER)})
    assert "subject: Subject 'ghost-value' not found." in str(err.value)
