"""Avro schemas, parsed and compared by Apache Avro's own Python package (``avro``).

Parsing is avro.schema.parse's; compatibility is avro.compatibility's
ReaderWriterCompatibilityChecker, the Python port of the Java library's
org.apache.avro.SchemaCompatibility.checkReaderWriterCompatibility, which Confluent's registry
calls from AvroSchema.isBackwardCompatible (client module, io.confluent.kafka.schemaregistry.avro).
Its incompatibility types are the Avro spec's schema-resolution rules ("Schema Resolution" in the
Avro specification): a reader field missing from the writer needs a default
(READER_FIELD_MISSING_DEFAULT_VALUE), types must match or promote (int -> long, float, double;
long -> float, double; float -> double; string <-> bytes: TYPE_MISMATCH), named types must keep
their name or list the old one in ``aliases`` (NAME_MISMATCH), an enum reader must hold every
writer symbol unless it has a default (MISSING_ENUM_SYMBOLS), a union reader every writer branch
(MISSING_UNION_BRANCH), fixed sizes must agree (FIXED_SIZE_MISMATCH).

The messages are those of Confluent's avro/Difference.error(), with the reader's and the
writer's roles ("new", "old") filled in as SchemaValidatorBuilder.formatErrorMessages does.
"""

from __future__ import annotations

import json
import re
from typing import Any

import avro.compatibility as avro_compat
import avro.errors
import avro.schema

from playground.engine.schemas.model import Incompatibility, Parsed, SchemaError

# The Python port merges the messages and locations of several incompatibilities into two sets,
# losing which message belongs to which location (Java keeps a list of Incompatibility objects,
# and Confluent reports each). Wrapping the one function that makes an incompatibility so that its
# message carries its type and location keeps them together; the checker itself is unchanged.
_SEP = "\x1f"
_original_incompatible = avro_compat.incompatible


def _incompatible_keeping_pairs(kind: Any, message: str, location: list[str]) -> Any:
    result = _original_incompatible(kind, message, location)
    (where,) = result.locations
    result.messages = {f"{kind.name}{_SEP}{where}{_SEP}{message}"}
    return result


avro_compat.incompatible = _incompatible_keeping_pairs  # type: ignore[assignment]

#: Confluent's avro/Difference.error(): the first %s is the reader's role, the second the writer's
_DESCRIPTIONS = {
    "FIXED_SIZE_MISMATCH": "The size of FIXED type field at path '{path}' in the {reader} schema does not match "
                           "with the {writer} schema",
    "TYPE_MISMATCH": "The type (path '{path}') of a field in the {reader} schema does not match with the "
        "{writer} schema",
    "NAME_MISMATCH": "The name of the schema has changed (path '{path}')",
    "MISSING_ENUM_SYMBOLS": "The {reader} schema is missing enum symbols '{info}' at path '{path}' in the "
        "{writer} schema",
    "MISSING_UNION_BRANCH": "The {reader} schema is missing a type inside a union field at path '{path}' in the "
                            "{writer} schema",
    "READER_FIELD_MISSING_DEFAULT_VALUE": "The field '{info}' at path '{path}' in the {reader} schema has no default "
                                          "value and is missing in the {writer} schema",
}


def parse(text: str) -> Parsed:
    """Parse Avro schema text (JSON). A JSON error names its line and column; an Avro error (an
    unknown type, a record without fields...) the line of the name it is about, when it can be
    found in the text."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise SchemaError("schema", f"not valid JSON: {err.msg}", err.lineno, err.colno) from None
    try:
        schema = avro.schema.make_avsc_object(data, avro.schema.Names())
    except (avro.errors.AvroException, TypeError, ValueError) as err:
        message = str(err)
        line, column = _locate(text, message)
        raise SchemaError("schema", f"not a valid Avro schema: {message}", line, column) from None
    _index_fields(schema, set())
    canonical = json.dumps(schema.to_json(), separators=(",", ":"))
    name = getattr(schema, "fullname", None)
    return Parsed("AVRO", canonical, schema, name)


class _IndexedRecord(avro.schema.RecordSchema):
    """A RecordSchema whose ``fields_dict`` is built once. The library's property builds a new dict
    at every call, and the compatibility checker calls it once per reader field: 50 fields against
    10 versions both ways made that quadratic walk most of a registration's time. Same data, same
    answers; only the lookup table is kept."""

    @property
    def fields_dict(self) -> dict[str, Any]:
        table: dict[str, Any] | None = self.__dict__.get("_fanout_fields")
        if table is None:
            table = {f.name: f for f in self.fields}
            self.__dict__["_fanout_fields"] = table
        return table


def _index_fields(schema: Any, seen: set[int]) -> None:
    """Give every record in a parsed schema the indexed lookup (in place, once per record)."""
    if id(schema) in seen:
        return
    seen.add(id(schema))
    if type(schema) is avro.schema.RecordSchema:
        schema.__class__ = _IndexedRecord
    for child in _children(schema):
        _index_fields(child, seen)


def _children(schema: Any) -> list[Any]:
    if isinstance(schema, avro.schema.RecordSchema):
        return [f.type for f in schema.fields]
    if isinstance(schema, avro.schema.UnionSchema):
        return list(schema.schemas)
    if isinstance(schema, avro.schema.ArraySchema):
        return [schema.items]
    if isinstance(schema, avro.schema.MapSchema):
        return [schema.values]
    return []


def _locate(text: str, message: str) -> tuple[int | None, int | None]:
    """Where the name an Avro error is about (``Undefined type: recrd``) first appears."""
    match = re.search(r"(?:type|from|name)[:\s]+\"?([A-Za-z_][\w.]*)\"?", message)
    if match is None:
        return None, None
    at = text.find(f'"{match.group(1)}"')
    if at < 0:
        return None, None
    line = text.count("\n", 0, at) + 1
    return line, at - (text.rfind("\n", 0, at) + 1) + 1


def _traversal_order(encoded: str) -> tuple[tuple[int, int | str], ...]:
    """Order by path, numbers as numbers (/fields/2 before /fields/10): the order the checker walks
    the fields in, which its set of messages does not keep."""
    path = encoded.split(_SEP, 2)[1]
    return tuple((0, int(p)) if p.isdigit() else (1, p) for p in path.split("/"))  # type: ignore[misc]


def compatible(reader: Parsed, writer: Parsed, roles: tuple[str, str] = ("reader", "writer")) -> list[Incompatibility]:
    """What stops ``reader`` from reading data written with ``writer`` (empty: it can), decided by
    avro.compatibility.ReaderWriterCompatibilityChecker (Java: SchemaCompatibility)."""
    result = avro_compat.ReaderWriterCompatibilityChecker().get_compatibility(reader.obj, writer.obj)
    if result.compatibility is avro_compat.SchemaCompatibilityType.compatible:
        return []
    found = []
    for encoded in sorted(result.messages, key=_traversal_order):
        kind, path, info = encoded.split(_SEP, 2)
        rule = kind.upper()
        text = _DESCRIPTIONS[rule].format(path=path, info=info, reader=roles[0], writer=roles[1])
        found.append(Incompatibility(rule, path, text))
    return found
