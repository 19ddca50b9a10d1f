"""The registry model and check(): Confluent's CompatibilityChecker levels (validateLatest,
validateAll newest first), global ids shared across subjects, versions per subject, subject name
strategies (io.confluent.kafka.serializers.subject)."""

import json

import pytest

from playground.engine.schemas.compat import check, compatible, parse
from playground.engine.schemas.model import LEVELS, SchemaError
from playground.engine.schemas.registry_model import Refused, SchemaRegistry, subject_name


def avro(*extra: dict) -> str:
    return json.dumps({"type": "record", "name": "Order", "namespace": "shop",
                       "fields": [{"name": "id", "type": "long"}, *extra]})


NOTE_NO_DEFAULT = {"name": "note", "type": "string"}
NOTE_DEFAULT = {"name": "note", "type": "string", "default": ""}
V1, V2 = parse("AVRO", avro()), parse("AVRO", avro(NOTE_DEFAULT))
V_NO_DEFAULT = parse("AVRO", avro(NOTE_NO_DEFAULT))


def test_backward_reads_old_data_with_the_new_schema():
    """CompatibilityChecker.BACKWARD_CHECKER: canReadStrategy, new schema as reader."""
    assert check("BACKWARD", V2, [V1]) == []
    reasons = check("BACKWARD", V_NO_DEFAULT, [V1])
    assert [(r.rule, r.version) for r in reasons] == [("READER_FIELD_MISSING_DEFAULT_VALUE", 1)]
    assert "in the new schema" in reasons[0].message and "in the old schema" in reasons[0].message


def test_forward_reads_new_data_with_the_old_schema():
    """FORWARD_CHECKER: canBeReadStrategy, the previous schema as reader: removing a field without
    default is refused, adding one is fine."""
    assert check("FORWARD", V_NO_DEFAULT, [V1]) == []
    reasons = check("FORWARD", V1, [V_NO_DEFAULT])
    assert [r.rule for r in reasons] == ["READER_FIELD_MISSING_DEFAULT_VALUE"]
    assert "in the old schema" in reasons[0].message.split("has no default")[0]


def test_full_checks_both_directions():
    """FULL_CHECKER: mutualReadStrategy."""
    assert check("FULL", V2, [V1]) == []
    assert check("FULL", V_NO_DEFAULT, [V1]) != []
    assert check("FULL", V1, [V_NO_DEFAULT]) != []


def test_transitive_checks_every_version_and_non_transitive_only_the_latest():
    """validateLatest against validateAll: v1 has note without default, v2 drops it, v3 brings a
    note of another type back: fine against v2 only, refused against v1."""
    v1 = parse("AVRO", avro({"name": "note", "type": "int"}))
    v2 = V1
    v3 = parse("AVRO", avro({"name": "note", "type": "string", "default": ""}))
    assert check("BACKWARD", v3, [v1, v2]) == []
    reasons = check("BACKWARD_TRANSITIVE", v3, [v1, v2])
    assert [(r.rule, r.version) for r in reasons] == [("TYPE_MISMATCH", 1)]


def test_none_checks_nothing():
    assert check("NONE", V_NO_DEFAULT, [V1]) == []


def test_unknown_level_is_named():
    with pytest.raises(SchemaError) as err:
        check("SIDEWAYS", V1, [V1])
    assert err.value.field == "compatibility"


def test_different_schema_type_is_refused():
    """SchemaValidatorBuilder: "Incompatible because of different schema type"."""
    j = parse("JSON", '{"type": "object"}')
    assert [r.rule for r in compatible(j, V1)] == ["DIFFERENT_SCHEMA_TYPE"]


def test_same_schema_under_two_subjects_keeps_one_id():
    """Schema Registry API: the same schema registered under another subject returns the same id;
    each subject numbers its versions from 1."""
    registry = SchemaRegistry()
    assert registry.register("orders-value", "AVRO", avro()) == (1, 1, True)
    assert registry.register("refunds-value", "AVRO", avro()) == (1, 1, True)
    assert registry.register("orders-value", "AVRO", avro(NOTE_DEFAULT)) == (2, 2, True)
    assert registry.register("refunds-value", "AVRO", avro(NOTE_DEFAULT)) == (2, 2, True)


def test_registering_a_schema_the_subject_has_returns_its_version_without_a_new_one():
    registry = SchemaRegistry()
    registry.register("s", "AVRO", avro())
    registry.register("s", "AVRO", avro(NOTE_DEFAULT))
    assert registry.register("s", "AVRO", avro()) == (1, 1, False)
    assert len(registry.subject("s").versions) == 2


def test_incompatible_registration_is_refused_and_stores_nothing():
    """POST /subjects/{subject}/versions: 409 with the reasons; no version, no id."""
    registry = SchemaRegistry()
    registry.register("s", "AVRO", avro())
    with pytest.raises(Refused) as err:
        registry.register("s", "AVRO", avro(NOTE_NO_DEFAULT))
    assert err.value.level == "BACKWARD"
    assert [r.rule for r in err.value.reasons] == ["READER_FIELD_MISSING_DEFAULT_VALUE"]
    assert "incompatible with an earlier schema" in str(err.value)
    assert len(registry.schemas) == 1 and len(registry.subject("s").versions) == 1


def test_subject_level_overrides_the_global_level():
    """PUT /config/{subject} takes precedence over PUT /config."""
    registry = SchemaRegistry("FULL")
    registry.register("s", "AVRO", avro(NOTE_NO_DEFAULT))
    registry.set_level("NONE", "s")
    assert registry.register("s", "AVRO", avro({"name": "note", "type": "int"}))[2] is True
    assert registry.level_of("other") == "FULL"


def test_unknown_subject_is_the_registrys_40401_message():
    with pytest.raises(SchemaError) as err:
        SchemaRegistry().latest("ghost-value")
    assert (err.value.field, err.value.message) == ("subject", "Subject 'ghost-value' not found.")


def test_unknown_schema_type_is_named():
    with pytest.raises(SchemaError) as err:
        SchemaRegistry().register("s", "XML", "<a/>")
    assert err.value.field == "schemaType"


@pytest.mark.parametrize(("strategy", "expected"), [
    ("TopicNameStrategy", "orders-value"),
    ("RecordNameStrategy", "shop.Order"),
    ("TopicRecordNameStrategy", "orders-shop.Order"),
])
def test_subject_name_strategies(strategy, expected):
    """TopicNameStrategy, RecordNameStrategy and TopicRecordNameStrategy's subjectName."""
    assert subject_name(strategy, "orders", parse("AVRO", avro()).record_name) == expected


def test_record_names_of_protobuf_and_json_schemas():
    assert parse("PROTOBUF", 'syntax = "proto3";\npackage shop;\nmessage Order { int64 id = 1; }').record_name == \
        "shop.Order"
    assert parse("JSON", '{"title": "Order", "type": "object"}').record_name == "Order"


def test_every_level_is_accepted():
    for level in LEVELS:
        assert isinstance(check(level, V2, [V1]), list)
