"""Declaration of the ``schema_registry`` node type (Confluent Schema Registry).

It connects to nothing yet (producers that serialize with it and consumers that resolve with it
are the next step of issue 14): it holds subjects, versions and ids, refuses incompatible
schemas with the registry's reasons, and shows its history on its card.
"""

from __future__ import annotations

from typing import Any

from playground.engine.ports import In, Out
from playground.engine.registry import FieldError, NodeType, Param, register
from playground.engine.schemas.model import DEFAULT_LEVEL, LEVELS, SchemaError
from playground.engine.schemas.registry_model import STRATEGIES, SchemaRegistry
from playground.engine.schemas.runtime import MAX_SCHEMA_CHARS, SchemaRegistryRuntime, preload

_EXAMPLE = ('[{"subject": "orders-value", "versions": [{"schemaType": "AVRO", "schema": {"type": "record", '
            '"name": "Order", "fields": [{"name": "id", "type": "long"}]}}]}]')


@register
class SchemaRegistryNode(NodeType):
    name = "schema_registry"
    label = "Schema Registry"
    category = "Schemas"
    color = "#7c3aed"
    help = ("A Confluent Schema Registry: subjects with versions and global ids (one schema registered under two "
            "subjects keeps one id), a global and a per-subject compatibility level. Registering a schema checks "
            "it against the subject's versions with the real libraries (Apache Avro's compatibility checker, protoc "
            "descriptors with Confluent's Protobuf rules, jsonschema with Confluent's JSON Schema rules) and refuses "
            "an incompatible one with the registry's reasons: which field, which rule.")
    # What serializers and deserializers will call (REST: register, look up by id); nothing
    # speaks this protocol yet (issue 14, point 3), so no edge connects to it today.
    ports = (
        In("lookups", "requests", protocol="schema-registry",
           help="serializers register schemas and deserializers fetch them by id (REST requests)"),
        Out("schemas", "replies", protocol="schema-registry", help="the ids and schemas it answers with"),
    )
    build_order = 5
    runtime_class = SchemaRegistryRuntime
    params = (
        Param("compatibility", "Compatibility (global)", "enum", DEFAULT_LEVEL,
              "The global compatibility level (PUT /config): BACKWARD (the new schema reads the latest's data), "
              "FORWARD (the latest reads the new one's), FULL (both), their _TRANSITIVE forms (against every "
              "version), or NONE. A subject may set its own.", choices=LEVELS),
        Param("subject_strategy", "Subject name strategy", "enum", "TopicNameStrategy",
              "How a topic's schemas are named: TopicNameStrategy (<topic>-value), RecordNameStrategy (the record's "
              "full name), TopicRecordNameStrategy (<topic>-<record name>).", choices=STRATEGIES),
        Param("schemas", "Schemas (JSON)", "string", "",
              "Subjects registered when the run starts, in order, as a JSON list: " + _EXAMPLE + ". A subject may "
              "be given as a topic (named by the strategy) and carry its own compatibility; schemaType is AVRO, "
              "PROTOBUF or JSON; a schema is text or, for Avro and JSON Schema, an object.",
              max_length=MAX_SCHEMA_CHARS * 4),
    )

    @classmethod
    def coerce_params(cls, raw: dict[str, Any]) -> tuple[dict[str, Any], list[FieldError]]:
        """The declared checks, then the preloaded schemas registered on a scratch registry: a
        schema that does not parse or is refused is an error naming its entry and line."""
        params, errors = super().coerce_params(raw)
        if not any(e.path in ("schemas", "compatibility", "subject_strategy") for e in errors):
            try:
                preload(SchemaRegistry(params["compatibility"]), params["schemas"], params["subject_strategy"])
            except SchemaError as err:
                errors.append(FieldError("schemas", str(err)))
        return params, errors

    @classmethod
    def build(cls, sim: Any, node: Any) -> Any:
        return SchemaRegistryRuntime(node.id, node.params)
