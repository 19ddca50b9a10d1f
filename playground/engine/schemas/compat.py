"""The two pure functions the registry decides with: ``compatible`` and ``check``.

``compatible(reader, writer)`` asks the format's real checker whether ``reader`` can read what
``writer`` wrote (Avro: the avro package's SchemaCompatibility port; Protobuf and JSON Schema:
Confluent's diff rules). ``check(level, new, previous)`` applies a compatibility level as
Confluent's CompatibilityChecker does (see model.py): BACKWARD checks new as the reader of the
latest version, FORWARD the latest as the reader of new, FULL both; the transitive levels check
every version newest first and stop at the first one that refuses (SchemaValidatorBuilder
.validateAll); NONE checks nothing. A schema of another type than a previous version is refused
with Confluent's "Incompatible because of different schema type".
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

from playground.engine.schemas import avro_format, json_format, protobuf_format
from playground.engine.schemas.model import LEVELS, SCHEMA_TYPES, Incompatibility, Parsed, SchemaError

_FORMATS = {"AVRO": avro_format, "PROTOBUF": protobuf_format, "JSON": json_format}


def parse(schema_type: str, text: str) -> Parsed:
    """Parse schema text of a type (AVRO, PROTOBUF, JSON); SchemaError naming the field and line."""
    if schema_type not in _FORMATS:
        raise SchemaError("schemaType", f"unknown schema type {schema_type!r}: one of {', '.join(SCHEMA_TYPES)}")
    if not isinstance(text, str):
        raise SchemaError("schema", "must be text")
    return _parse(schema_type, text)


@lru_cache(maxsize=4096)
def _parse(schema_type: str, text: str) -> Parsed:
    # Memoised: a registry keeps texts (they pickle into snapshots as they are) and parses them
    # again when it checks; the parse is a pure function of the text.
    return _FORMATS[schema_type].parse(text)  # type: ignore[no-any-return]


def compatible(reader: Parsed, writer: Parsed, roles: tuple[str, str] = ("reader", "writer")) -> list[Incompatibility]:
    """Why ``reader`` cannot read data written with ``writer``; empty when it can."""
    if reader.schema_type != writer.schema_type:
        return [Incompatibility("DIFFERENT_SCHEMA_TYPE", "", "Incompatible because of different schema type")]
    return _FORMATS[reader.schema_type].compatible(reader, writer, roles)  # type: ignore[no-any-return]


def check(level: str, new: Parsed, previous: Sequence[Parsed],
          versions: Sequence[int] | None = None) -> list[Incompatibility]:
    """Why ``new`` may not follow ``previous`` (oldest first) under ``level``; empty when it may.
    ``versions`` numbers the previous schemas for the messages (default 1, 2, ...)."""
    if level not in LEVELS:
        raise SchemaError("compatibility", f"unknown level {level!r}: one of {', '.join(LEVELS)}")
    if level == "NONE" or not previous:
        return []
    numbers = list(versions) if versions is not None else list(range(1, len(previous) + 1))
    pairs = list(zip(numbers, previous, strict=True))[::-1]
    if not level.endswith("_TRANSITIVE"):
        pairs = pairs[:1]
    base = level.removesuffix("_TRANSITIVE")
    for number, old in pairs:
        found: list[Incompatibility] = []
        if base in ("BACKWARD", "FULL"):
            found += compatible(new, old, ("new", "old"))
        if base in ("FORWARD", "FULL"):
            found += compatible(old, new, ("old", "new"))
        if found:
            return [Incompatibility(i.rule, i.path, i.message, number) for i in found]
    return []
