"""JSON Schemas validated by jsonschema's metaschema check and compared with Confluent's
json-schema-provider rules (io.confluent.kafka.schemaregistry.json.diff, COMPATIBLE_CHANGES_STRICT)."""

import json

import pytest

from playground.engine.schemas.json_format import compatible, parse
from playground.engine.schemas.model import SchemaError


def obj(props: dict, required=(), additional=None) -> object:
    schema = {"type": "object", "properties": props}
    if required:
        schema["required"] = list(required)
    if additional is not None:
        schema["additionalProperties"] = additional
    return parse(json.dumps(schema))


def rules(reader, writer):
    return [(r.rule, r.path) for r in compatible(reader, writer, ("new", "old"))]


ID = {"id": {"type": "integer"}}


def test_property_added_to_an_open_writer_is_refused():
    """ObjectSchemaDiff.compareProperties: the open writer may have written anything under that
    name (OPTIONAL_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL, not in COMPATIBLE_CHANGES_STRICT)."""
    assert rules(obj({**ID, "note": {"type": "string"}}), obj(ID)) == [
        ("OPTIONAL_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL", "#/properties/note")]


def test_optional_property_added_to_a_closed_writer_is_compatible_and_required_is_not():
    """OPTIONAL_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL is compatible;
    REQUIRED_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL is not (unless it has a default)."""
    closed = obj(ID, additional=False)
    assert rules(obj({**ID, "note": {"type": "string"}}, additional=False), closed) == []
    assert rules(obj({**ID, "note": {"type": "string"}}, ["note"], additional=False), closed) == [
        ("REQUIRED_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL", "#/properties/note")]
    with_default = {"note": {"type": "string", "default": ""}}
    assert rules(obj({**ID, **with_default}, ["note"], additional=False), closed) == []


def test_property_removed_from_open_reader_is_compatible_from_closed_is_not():
    """PROPERTY_REMOVED_FROM_OPEN_CONTENT_MODEL is compatible, PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL not."""
    both = {**ID, "note": {"type": "string"}}
    assert rules(obj(ID), obj(both)) == []
    assert rules(obj(ID, additional=False), obj(both, additional=False)) == [
        ("PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL", "#/properties/note")]


def test_number_narrowed_to_integer_is_refused_widening_is_not():
    """NumberSchemaDiff: requiresInteger added is TYPE_NARROWED, removed TYPE_EXTENDED."""
    assert rules(obj({"a": {"type": "integer"}}), obj({"a": {"type": "number"}})) == [
        ("TYPE_NARROWED", "#/properties/a")]
    assert rules(obj({"a": {"type": "number"}}), obj({"a": {"type": "integer"}})) == []


def test_type_changed_and_union_extended():
    """SchemaDiff.compareTypes: another type is TYPE_CHANGED; a union holding the old type is
    SUM_TYPE_EXTENDED (compatible)."""
    assert rules(obj({"a": {"type": "string"}}), obj({"a": {"type": "integer"}})) == [
        ("TYPE_CHANGED", "#/properties/a")]
    assert rules(obj({"a": {"type": ["string", "null"]}}), obj({"a": {"type": "string"}})) == []


def test_making_a_property_required_without_default_is_refused():
    """ObjectSchemaDiff.compareRequired: REQUIRED_ATTRIBUTE_ADDED."""
    assert rules(obj(ID, ["id"]), obj(ID)) == [("REQUIRED_ATTRIBUTE_ADDED", "#/required/id")]
    assert rules(obj(ID), obj(ID, ["id"])) == []


def test_closing_the_content_model_is_refused():
    """compareAdditionalProperties: ADDITIONAL_PROPERTIES_REMOVED."""
    assert rules(obj(ID, additional=False), obj(ID)) == [
        ("ADDITIONAL_PROPERTIES_REMOVED", "#/additionalProperties")]


def test_a_schema_failing_the_metaschema_names_the_line():
    """jsonschema's check_schema: "type" must be a known type name."""
    with pytest.raises(SchemaError) as err:
        parse('{"type": "object",\n "properties": {\n  "a": {"type": "strin"}}}')
    assert err.value.line == 3
    assert "#/properties/a/type" in err.value.message


def test_invalid_json_names_line_and_column():
    with pytest.raises(SchemaError) as err:
        parse('{"type": "object",\n "properties": }')
    assert (err.value.line, err.value.column) == (2, 16)
