"""Invariants of check(), for random Avro records: a schema can always read itself (Avro spec,
Schema Resolution: identical schemas resolve), FULL refuses exactly what BACKWARD or FORWARD
refuses, and the answer does not depend on anything but the schemas (same input, same reasons)."""

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from playground.engine.schemas.compat import check, parse

TYPES = ["int", "long", "float", "double", "string", "bytes", "boolean"]
field = st.tuples(st.sampled_from(["a", "b", "c", "d", "e"]), st.sampled_from(TYPES), st.booleans())


def record(fields):
    seen, out = set(), []
    for name, kind, default in fields:
        if name in seen:
            continue
        seen.add(name)
        f = {"name": name, "type": ["null", kind] if default else kind}
        if default:
            f["default"] = None
        out.append(f)
    return parse("AVRO", json.dumps({"type": "record", "name": "R", "fields": out}))


schemas = st.lists(field, max_size=5).map(record)


@settings(max_examples=60, deadline=None)
@given(schemas)
def test_every_schema_is_compatible_with_itself_at_every_level(schema):
    for level in ("BACKWARD", "FORWARD", "FULL", "FULL_TRANSITIVE"):
        assert check(level, schema, [schema]) == []


@settings(max_examples=60, deadline=None)
@given(schemas, schemas)
def test_full_refuses_exactly_what_backward_or_forward_refuses(new, old):
    backward, forward = check("BACKWARD", new, [old]), check("FORWARD", new, [old])
    assert check("FULL", new, [old]) == backward + forward
    assert check("FULL", new, [old]) == check("FULL", new, [old])


JSON_TYPES = ["integer", "number", "string", "boolean"]
json_props = st.dictionaries(st.sampled_from(["a", "b", "c", "d"]), st.sampled_from(JSON_TYPES), max_size=4)
json_schemas = st.tuples(json_props, st.sampled_from([None, False, True])).map(
    lambda pair: parse("JSON", json.dumps({"type": "object", "properties": {k: {"type": t} for k, t in pair[0].items()},
                                           **({} if pair[1] is None else {"additionalProperties": pair[1]})})))


@settings(max_examples=60, deadline=None)
@given(json_schemas, json_schemas)
def test_json_schema_is_compatible_with_itself_and_full_is_backward_plus_forward(new, old):
    assert check("FULL_TRANSITIVE", new, [new]) == []
    assert check("FULL", new, [old]) == check("BACKWARD", new, [old]) + check("FORWARD", new, [old])


def test_record_with_many_fields_reports_in_field_order():
    """Paths sort numerically (/fields/2 before /fields/10), the order the checker walks fields."""
    fields = [{"name": f"f{i}", "type": "string"} for i in range(12)]
    writer = parse("AVRO", json.dumps({"type": "record", "name": "R", "fields": fields}))
    reader = parse("AVRO", json.dumps({"type": "record", "name": "R",
                                       "fields": [{"name": f["name"], "type": "int"} for f in fields]}))
    paths = [r.path for r in check("BACKWARD", reader, [writer])]
    assert paths == [f"/fields/{i}/type" for i in range(12)]
