"""What every schema format shares: a parsed schema, an incompatibility, an error that names the
line, and the compatibility levels with the check that applies them.

The levels and what each checks follow Confluent Schema Registry's CompatibilityChecker and
SchemaValidatorBuilder (client module, io.confluent.kafka.schemaregistry): BACKWARD means "the
new schema can read data written with the previous one" (canReadStrategy: new is the reader),
FORWARD "data written with the new schema can be read with the previous one" (canBeReadStrategy:
the previous schema is the reader), FULL both (mutualReadStrategy); the non-transitive levels
check the latest version only (validateLatest), the transitive ones every version, newest first,
stopping at the first version that refuses (validateAll). NONE checks nothing (NO_OP_CHECKER).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

LEVELS = ("BACKWARD", "BACKWARD_TRANSITIVE", "FORWARD", "FORWARD_TRANSITIVE", "FULL", "FULL_TRANSITIVE", "NONE")
DEFAULT_LEVEL = "BACKWARD"
SCHEMA_TYPES = ("AVRO", "PROTOBUF", "JSON")


class SchemaError(ValueError):
    """A schema that cannot be used: ``field`` names what was given (``schema``, ``schemaType``,
    ``subject``), ``line`` and ``column`` (1-based) where in the schema text it went wrong."""

    def __init__(self, field: str, message: str, line: int | None = None, column: int | None = None) -> None:
        self.field = field
        self.message = message
        self.line = line
        self.column = column
        where = ""
        if line is not None:
            where = f"line {line}" + (f", column {column}" if column is not None else "") + ": "
        super().__init__(f"{field}: {where}{message}")


@dataclass(frozen=True)
class Incompatibility:
    """One reason a reader cannot read a writer's data, as the registry reports it.

    ``rule`` is the real checker's name for it (Avro's SchemaIncompatibilityType such as
    ``READER_FIELD_MISSING_DEFAULT_VALUE``, Confluent's Protobuf or JSON Schema Difference.Type
    such as ``FIELD_SCALAR_KIND_CHANGED``); ``path`` where in the schema; ``message`` the
    registry's description with the roles filled in ("new"/"old"); ``version`` the version it
    was checked against (None when the pair was checked directly).
    """

    rule: str
    path: str
    message: str
    version: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "path": self.path, "message": self.message, "version": self.version}


@dataclass(frozen=True)
class Parsed:
    """A schema parsed by its format's library: the type, the canonical text (what identity of
    schemas is decided on) and the library's object (Avro Schema, FileDescriptorProto, dict)."""

    schema_type: str
    canonical: str
    obj: Any
    #: the name RecordNameStrategy uses: the Avro record's full name, the first Protobuf message's
    #: full name, the JSON Schema's title
    record_name: str | None = None
