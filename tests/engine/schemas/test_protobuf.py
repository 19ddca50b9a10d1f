"""Protobuf schemas parsed by protoc (grpcio-tools) and compared with Confluent's protobuf diff
rules (protobuf-provider, io.confluent.kafka.schemaregistry.protobuf.diff.SchemaDiff and its
COMPATIBLE_CHANGES)."""

import pytest

from playground.engine.schemas.model import SchemaError
from playground.engine.schemas.protobuf_format import compatible, parse


def proto(body: str, syntax: str = "proto3", package: str = "shop") -> object:
    return parse(f'syntax = "{syntax}";\npackage {package};\n{body}\n')


def rules(reader, writer):
    return [(r.rule, r.path) for r in compatible(reader, writer, ("new", "old"))]


def test_adding_and_removing_optional_fields_is_compatible():
    """COMPATIBLE_CHANGES holds FIELD_ADDED and FIELD_REMOVED (unknown fields are skipped)."""
    v1 = proto("message Order { int64 id = 1; string note = 2; }")
    v2 = proto("message Order { int64 id = 1; double amount = 3; }")
    assert rules(v2, v1) == [] and rules(v1, v2) == []


def test_reusing_a_field_number_with_another_scalar_kind_is_refused():
    """FieldSchemaDiff.compareScalarTypes: int64 and string are different wire groups
    (FIELD_SCALAR_KIND_CHANGED)."""
    v1 = proto("message Order { int64 id = 1; }")
    v2 = proto("message Order { string id = 1; }")
    assert rules(v2, v1) == [("FIELD_SCALAR_KIND_CHANGED", "#/Order/1")]


def test_int32_to_int64_is_the_same_wire_group():
    """Protobuf guide, Updating A Message Type: int32, uint32, int64, uint64 and bool are compatible."""
    assert rules(proto("message Order { int64 id = 1; }"), proto("message Order { int32 id = 1; }")) == []


def test_scalar_reused_as_message_is_a_kind_change():
    """FieldSchemaDiff.compareLabelsAndTypes: SCALAR versus MESSAGE (FIELD_KIND_CHANGED)."""
    v1 = proto("message Order { int64 item = 1; }")
    v2 = proto("message Item { int64 sku = 1; }\nmessage Order { Item item = 1; }")
    assert rules(v2, v1) == [("FIELD_KIND_CHANGED", "#/Order/1")]


def test_removing_a_required_proto2_field_is_refused():
    """MessageSchemaDiff: a removed field labelled required is REQUIRED_FIELD_REMOVED."""
    v1 = proto("message Order { required int64 id = 1; optional string note = 2; }", "proto2")
    v2 = proto("message Order { optional string note = 2; }", "proto2")
    assert rules(v2, v1) == [("REQUIRED_FIELD_REMOVED", "#/Order/1")]
    assert compatible(v2, v1, ("new", "old"))[0].message == (
        "The new schema is missing a required field at path: '#/Order/1' in the old schema")


def test_removing_a_message_is_refused():
    """SchemaDiff.compareTypeElements: MESSAGE_REMOVED is not a compatible change."""
    v1 = proto("message Order { int64 id = 1; }\nmessage Refund { int64 id = 1; }")
    v2 = proto("message Order { int64 id = 1; }")
    assert rules(v2, v1) == [("MESSAGE_REMOVED", "#/Refund")]
    assert rules(v1, v2) == []  # MESSAGE_ADDED is compatible


def test_changing_the_package_is_refused():
    """SchemaDiff.compare: PACKAGE_CHANGED."""
    assert rules(proto("message A { int32 a = 1; }", package="b"), proto("message A { int32 a = 1; }")) == [
        ("PACKAGE_CHANGED", "#/")]


def test_repeated_numeric_label_change_is_refused_but_string_is_not():
    """compareScalarTypes: a label change on a numeric field is FIELD_NUMERIC_LABEL_CHANGED (packed
    encoding); on string or bytes it is FIELD_STRING_OR_BYTES_LABEL_CHANGED, compatible. Only when
    both fields carry a label: a proto3 field without one is not compared (Wire's label is null)."""
    assert rules(proto("message A { repeated int32 a = 1; }"), proto("message A { optional int32 a = 1; }")) == [
        ("FIELD_NUMERIC_LABEL_CHANGED", "#/A/1")]
    assert rules(proto("message A { repeated string a = 1; }"), proto("message A { optional string a = 1; }")) == []
    assert rules(proto("message A { repeated int32 a = 1; }"), proto("message A { int32 a = 1; }")) == []


def test_removing_one_member_of_a_oneof_is_refused_but_deleting_the_whole_oneof_is_not():
    """MessageSchemaDiff: ONEOF_FIELD_REMOVED unless no member of the oneof survives."""
    v1 = proto("message P { oneof method { string card = 1; string iban = 2; } }")
    assert rules(proto("message P { oneof method { string card = 1; } }"), v1) == [
        ("ONEOF_FIELD_REMOVED", "#/P/method/2")]
    assert rules(proto("message P { int64 id = 3; }"), v1) == []


def test_moving_two_fields_into_a_oneof_is_refused():
    """MessageSchemaDiff: MULTIPLE_FIELDS_MOVED_TO_ONEOF."""
    v1 = proto("message P { string card = 1; string iban = 2; }")
    v2 = proto("message P { oneof method { string card = 1; string iban = 2; } }")
    assert rules(v2, v1) == [("MULTIPLE_FIELDS_MOVED_TO_ONEOF", "#/P/method")]


def test_map_value_type_change_is_checked():
    """FieldSchemaDiff.compareMapTypes: key and value compared as fields."""
    v1 = proto("message A { map<string, int64> m = 1; }")
    v2 = proto("message A { map<string, string> m = 1; }")
    assert rules(v2, v1) == [("FIELD_SCALAR_KIND_CHANGED", "#/A/1")]


def test_protoc_error_names_the_line():
    with pytest.raises(SchemaError) as err:
        parse('syntax = "proto3";\nmessage A {\n  strng a = 1;\n}\n')
    assert (err.value.field, err.value.line, err.value.column) == ("schema", 3, 3)
    assert "strng" in err.value.message
