"""The registry itself: subjects, versions, global ids and compatibility levels.

It behaves as Confluent Schema Registry's REST API documents ("Schema Registry API Reference",
POST /subjects/{subject}/versions, PUT /config and /config/{subject}) and as
KafkaSchemaRegistry.register implements it:

- a schema is identified by its type and canonical text; the same schema registered under two
  subjects keeps one global id (ids count from 1), each subject numbering its own versions from 1;
- registering a schema a subject already has returns its existing id and version, checked by
  nothing and adding no version;
- otherwise the new schema is checked against the subject's earlier versions at the subject's
  level (else the global one; BACKWARD by default) and refused with every reason (HTTP 409,
  "Schema being registered is incompatible with an earlier schema for subject ...") or stored as
  the next version;
- reading an unknown subject, or testing a schema against it (POST /compatibility/subjects/
  {subject}/versions), is error 40401 "Subject 'x' not found.".

Subject names come from the serializer's subject name strategy (io.confluent.kafka.serializers
.subject: TopicNameStrategy ``<topic>-value`` / ``<topic>-key``, RecordNameStrategy the record's
fully qualified name, TopicRecordNameStrategy ``<topic>-<record name>``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from playground.engine.schemas.compat import check, parse
from playground.engine.schemas.model import DEFAULT_LEVEL, LEVELS, Incompatibility, SchemaError

STRATEGIES = ("TopicNameStrategy", "RecordNameStrategy", "TopicRecordNameStrategy")


def subject_name(strategy: str, topic: str, record_name: str | None, is_key: bool = False) -> str:
    """The subject a serializer registers under (Confluent's SubjectNameStrategy.subjectName)."""
    if strategy == "TopicNameStrategy":
        return f"{topic}-{'key' if is_key else 'value'}"
    if strategy not in STRATEGIES:
        raise SchemaError("strategy", f"unknown subject name strategy {strategy!r}: one of {', '.join(STRATEGIES)}")
    if not record_name:
        raise SchemaError("schema", f"{strategy} needs a named record (an Avro record, a Protobuf message, "
                                    "a JSON Schema title)")
    return record_name if strategy == "RecordNameStrategy" else f"{topic}-{record_name}"


@dataclass(frozen=True)
class StoredSchema:
    id: int
    schema_type: str
    text: str


@dataclass
class Subject:
    name: str
    versions: list[int] = field(default_factory=list)  # schema ids, version n at index n - 1
    level: str | None = None  # None: the global level


class Refused(Exception):
    """A registration the compatibility level refuses (Confluent's HTTP 409)."""

    def __init__(self, subject: str, level: str, reasons: list[Incompatibility]) -> None:
        self.subject, self.level, self.reasons = subject, level, reasons
        super().__init__(f"Schema being registered is incompatible with an earlier schema for subject "
                         f"\"{subject}\" ({level}): " + "; ".join(r.message for r in reasons))


class SchemaRegistry:
    """Subjects, versions and ids, with a global and per-subject compatibility level."""

    def __init__(self, level: str = DEFAULT_LEVEL) -> None:
        self.set_level(level)
        self.schemas: list[StoredSchema] = []
        self._ids: dict[tuple[str, str], int] = {}
        self.subjects: dict[str, Subject] = {}

    def set_level(self, level: str, subject: str | None = None) -> None:
        """PUT /config (global) or PUT /config/{subject}; a subject may be configured before it has
        versions, as the real registry allows."""
        if level not in LEVELS:
            raise SchemaError("compatibility", f"unknown level {level!r}: one of {', '.join(LEVELS)}")
        if subject is None:
            self.level = level
        else:
            self.subjects.setdefault(subject, Subject(subject)).level = level

    def level_of(self, subject: str) -> str:
        entry = self.subjects.get(subject)
        return entry.level if entry is not None and entry.level is not None else self.level

    def subject(self, name: str) -> Subject:
        entry = self.subjects.get(name)
        if entry is None or not entry.versions:
            raise SchemaError("subject", f"Subject '{name}' not found.")
        return entry

    def schema(self, schema_id: int) -> StoredSchema:
        if not 1 <= schema_id <= len(self.schemas):
            raise SchemaError("id", f"Schema {schema_id} not found.")
        return self.schemas[schema_id - 1]

    def latest(self, name: str) -> tuple[int, StoredSchema]:
        """(version, schema) of a subject's newest version."""
        entry = self.subject(name)
        return len(entry.versions), self.schema(entry.versions[-1])

    def register(self, subject: str, schema_type: str, text: str) -> tuple[int, int, bool]:
        """Register ``text`` under ``subject``: (id, version, new), ``new`` False when the subject
        had it already. SchemaError for a schema that does not parse; Refused when the level refuses."""
        if not isinstance(subject, str) or not subject.strip():
            raise SchemaError("subject", "a subject name is needed")
        parsed = parse(schema_type, text)
        key = (schema_type, parsed.canonical)
        entry = self.subjects.setdefault(subject, Subject(subject))
        known = self._ids.get(key)
        if known is not None and known in entry.versions:
            return known, entry.versions.index(known) + 1, False
        previous = [parse(s.schema_type, s.text) for s in (self.schema(i) for i in entry.versions)]
        level = self.level_of(subject)
        reasons = check(level, parsed, previous)
        if reasons:
            if not entry.versions and entry.level is None:
                del self.subjects[subject]
            raise Refused(subject, level, reasons)
        if known is None:
            known = len(self.schemas) + 1
            self.schemas.append(StoredSchema(known, schema_type, text))
            self._ids[key] = known
        entry.versions.append(known)
        return known, len(entry.versions), True

    def test_compatibility(self, subject: str, schema_type: str, text: str) -> list[Incompatibility]:
        """POST /compatibility/subjects/{subject}/versions: the reasons registering ``text`` would be
        refused, registering nothing; an unknown subject is error 40401 (SchemaError)."""
        entry = self.subject(subject)
        parsed = parse(schema_type, text)
        previous = [parse(s.schema_type, s.text) for s in (self.schema(i) for i in entry.versions)]
        return check(self.level_of(subject), parsed, previous)

    def to_dict(self) -> dict[str, Any]:
        return {"compatibility": self.level, "schemas": len(self.schemas),
                "subjects": [{"subject": s.name, "compatibility": self.level_of(s.name), "own_level": s.level,
                              "versions": [{"version": n + 1, "id": i, "schemaType": self.schema(i).schema_type}
                                           for n, i in enumerate(s.versions)]}
                             for s in sorted(self.subjects.values(), key=lambda s: s.name)]}
