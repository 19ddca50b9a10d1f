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
