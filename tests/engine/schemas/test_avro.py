"""Avro compatibility, decided by the avro package (avro.compatibility, the port of Java's
SchemaCompatibility that Confluent's AvroSchema.isBackwardCompatible calls), reported with the
messages of Confluent's avro/Difference."""

import json

import pytest

from playground.engine.schemas.avro_format import compatible, parse
from playground.engine.schemas.model import SchemaError


def record(*fields: dict) -> str:
    return json.dumps({"type": "record", "name": "Order", "namespace": "shop", "fields": list(fields)})


ID = {"name": "id", "type": "int"}


def test_reader_field_without_default_missing_in_writer_is_refused_naming_the_field():
    """Avro spec, Schema Resolution: a reader field absent from the writer's schema takes its
    default; without one it is an error (READER_FIELD_MISSING_DEFAULT_VALUE)."""
    reasons = compatible(parse(record(ID, {"name": "note", "type": "string"})), parse(record(ID)), ("new", "old"))
    assert [(r.rule, r.path) for r in reasons] == [("READER_FIELD_MISSING_DEFAULT_VALUE", "/fields/1")]
    assert reasons[0].message == ("The field 'note' at path '/fields/1' in the new schema has no default value "
                                  "and is missing in the old schema")


def test_added_field_with_default_is_compatible():
    """Schema Resolution: the reader's default fills a field the writer did not write."""
    assert compatible(parse(record(ID, {"name": "note", "type": "string", "default": ""})), parse(record(ID))) == []


def test_int_promotes_to_long_but_long_does_not_narrow_to_int():
    """Schema Resolution: int is promotable to long, float, double; long is not readable as int."""
    as_long = parse(record({"name": "id", "type": "long"}))
    as_int = parse(record(ID))
    assert compatible(as_long, as_int) == []
    reasons = compatible(as_int, as_long)
    assert [(r.rule, r.path) for r in reasons] == [("TYPE_MISMATCH", "/fields/0/type")]


def test_renamed_field_is_followed_through_its_alias():
    """Schema Resolution: a reader field's aliases match a writer field of that name."""
    renamed = parse(record({"name": "order_id", "type": "int", "aliases": ["id"]}))
    assert compatible(renamed, parse(record(ID))) == []
    assert compatible(parse(record({"name": "order_id", "type": "int"})), parse(record(ID)))


def test_enum_reader_missing_a_writer_symbol_is_refused_unless_it_has_a_default():
    """Schema Resolution: a writer symbol the reader lacks is an error unless the reader's enum has
    a default (MISSING_ENUM_SYMBOLS)."""
    def enum(symbols, default=None):
        e = {"type": "enum", "name": "State", "symbols": symbols}
        if default:
            e["default"] = default
        return parse(record({"name": "state", "type": e}))

    reasons = compatible(enum(["NEW"]), enum(["NEW", "PAID"]))
    assert [r.rule for r in reasons] == ["MISSING_ENUM_SYMBOLS"]
    assert compatible(enum(["NEW"], "NEW"), enum(["NEW", "PAID"])) == []
    assert compatible(enum(["NEW", "PAID"]), enum(["NEW"])) == []


def test_every_incompatibility_keeps_its_own_path():
    """Confluent reports each Incompatibility with its own location and message."""
    writer = parse(record(ID, {"name": "amount", "type": "double"}))
    reader = parse(record({"name": "id", "type": "string"}, {"name": "amount", "type": "int"},
                          {"name": "x", "type": "int"}))
    got = {(r.rule, r.path) for r in compatible(reader, writer)}
    assert got == {("TYPE_MISMATCH", "/fields/0/type"), ("TYPE_MISMATCH", "/fields/1/type"),
                   ("READER_FIELD_MISSING_DEFAULT_VALUE", "/fields/2")}


def test_renamed_record_is_a_name_mismatch():
    """Schema Resolution: named types match by full name or a reader alias (NAME_MISMATCH)."""
    other = parse(json.dumps({"type": "record", "name": "Invoice", "namespace": "shop", "fields": [ID]}))
    assert [r.rule for r in compatible(other, parse(record(ID)))] == ["NAME_MISMATCH"]


def test_json_error_names_line_and_column():
    with pytest.raises(SchemaError) as err:
        parse('{"type": "record",\n  "name": "A",,\n}')
    assert (err.value.field, err.value.line, err.value.column) == ("schema", 2, 15)


def test_unknown_type_names_its_line():
    with pytest.raises(SchemaError) as err:
        parse('{"type": "record", "name": "A",\n "fields": [{"name": "a",\n   "type": "strng"}]}')
    assert err.value.line == 3
    assert "strng" in str(err.value)


def test_the_same_mismatch_in_two_fields_is_reported_at_both():
    """Java's SchemaCompatibility memoises pairs of schema objects; each field's type is its own
    object, so two fields with the same change are two incompatibilities, each at its path."""
    writer = parse(record({"name": "a", "type": "string"}, {"name": "b", "type": "string"}))
    reader = parse(record({"name": "a", "type": "int"}, {"name": "b", "type": "int"}))
    assert [r.path for r in compatible(reader, writer)] == ["/fields/0/type", "/fields/1/type"]
