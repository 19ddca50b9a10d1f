import json

import pytest

from playground import engine, examples
from tests.engine.factories import kafka_doc


def errors_of(doc):
    with pytest.raises(engine.DocumentError) as excinfo:
        engine.parse_document(doc)
    return {e.path: e.message for e in excinfo.value.errors}


def test_shipped_examples_are_valid_documents():
    for name in examples.names():
        doc = engine.parse_document(examples.load(name))
        assert doc.nodes


def test_missing_parameters_take_their_declared_defaults():
    doc = engine.parse_document({"nodes": [{"id": "t", "type": "kafka_topic"}], "edges": []})
    params = doc.node("t").params
    assert params["partitions"] == 6
    assert params["cleanup_policy"] == "delete" and params["retention_ms"] == 7 * 86_400_000


def test_unknown_node_type_is_named():
    doc = kafka_doc()
    doc["nodes"][1]["type"] = "kafka_topik"
    errors = errors_of(doc)
    assert "unknown node type 'kafka_topik'" in errors["nodes[1].type"]


def test_dangling_edge_names_the_missing_node():
    doc = kafka_doc()
    doc["edges"][0]["target"] = "nowhere"
    assert errors_of(doc) == {"edges[0].target": "no node has the id 'nowhere'"}


def test_parameter_out_of_bounds_names_the_field_and_the_bound():
    doc = kafka_doc(partitions=1000)
    assert errors_of(doc) == {"nodes[1].params.partitions": "must be at most 256"}


def test_parameter_of_wrong_type_is_refused():
    doc = kafka_doc()
    doc["nodes"][0]["params"]["rate"] = "fast"
    assert errors_of(doc) == {"nodes[0].params.rate": "must be a number"}


def test_unknown_parameter_is_refused_not_ignored():
    doc = kafka_doc()
    doc["nodes"][1]["params"]["partitons"] = 3
    assert "is not a parameter of Kafka Topic" in errors_of(doc)["nodes[1].params.partitons"]


def test_oversized_document_is_refused_with_the_cap():
    doc = kafka_doc()
    doc["description"] = "x" * 3000
    doc["nodes"] += [{"id": f"t{i}", "type": "kafka_topic", "label": "y" * 60} for i in range(50)]
    text = json.dumps(doc) + " " * engine.MAX_DOCUMENT_BYTES
    errors = errors_of(text)
    assert "a document may be at most 262,144 bytes" in errors[""]


def test_malformed_json_says_where():
    errors = errors_of('{"nodes": [}')
    assert errors[""].startswith("is not valid JSON:") and "line 1, column 12" in errors[""]


def test_edge_between_types_that_cannot_connect_is_refused():
    doc = kafka_doc()
    doc["edges"].append({"source": "producer", "target": "group"})
    assert errors_of(doc)["edges[3]"] == (
        "producer's output 'records (kafka)' cannot feed group's input 'records (kafka)': "
        "one is written to by a client, the other is read by consumers")


def test_producer_may_write_to_one_topic_only():
    doc = kafka_doc()
    doc["nodes"].append({"id": "topic2", "type": "kafka_topic"})
    doc["edges"].append({"source": "producer", "target": "topic2"})
    assert "at most 1 outgoing connection" in errors_of(doc)["edges[3]"]


def test_duplicate_node_ids_are_refused():
    doc = kafka_doc()
    doc["nodes"][1]["id"] = "producer"
    assert "is used by another node" in errors_of(doc)["nodes[1].id"]


def test_total_rate_is_capped():
    doc = kafka_doc()
    doc["nodes"] += [{"id": f"p{i}", "type": "producer", "params": {"rate": 200000}} for i in range(6)]
    assert "at most 1,000,000 are allowed" in errors_of(doc)["nodes"]


def test_node_count_is_capped():
    doc = {"nodes": [{"id": f"t{i}", "type": "dlq"} for i in range(engine.LIMITS.max_nodes + 1)]}
    assert "at most 60 are allowed" in errors_of(doc)["nodes"]


def test_incomplete_graph_is_a_valid_document():
    doc = engine.parse_document({"nodes": [{"id": "p", "type": "producer"}]})
    assert [n.id for n in doc.nodes] == ["p"]


def test_round_trip_through_to_dict_is_stable():
    doc = engine.parse_document(examples.load("reference"))
    assert engine.parse_document(doc.to_dict()) == doc


def test_form_strings_are_coerced_by_the_declared_kind():
    params, errors = engine.get_node_type("consumer_group").coerce_params({"consumers": "3", "poison_rate": "0.5"})
    assert errors == [] and params["consumers"] == 3 and params["poison_rate"] == 0.5
    _, errors = engine.get_node_type("consumer_group").coerce_params({"consumers": "3.5"})
    assert [str(e) for e in errors] == ["consumers: must be a whole number"]
