"""The schema registry node's behaviour: the registry, its commands and the history on its card.

It schedules nothing: schemas are registered when the run is built (the ``schemas`` parameter,
preloaded in order) and by commands during the run. Every attempt is kept in the history, the
refused ones with their reasons, so the card shows what the registry accepted and why it refused
the rest.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from playground.engine.component import CommandError, CommandSpec, Runtime
from playground.engine.registry import Param
from playground.engine.schemas.compat import parse
from playground.engine.schemas.model import LEVELS, SCHEMA_TYPES, SchemaError
from playground.engine.schemas.registry_model import Refused, SchemaRegistry, subject_name

if TYPE_CHECKING:
    from playground.engine.simulation import Simulation

HISTORY = 50
MAX_SCHEMA_CHARS = 60_000


def preload(registry: SchemaRegistry, text: str, strategy: str) -> list[dict[str, Any]]:
    """Register the subjects and versions of the ``schemas`` parameter (JSON text) in order:
    ``[{"subject": "orders-value" (or "topic": "orders", named by the strategy),
    "compatibility": "FULL" (optional), "versions": [{"schemaType": "AVRO", "schema": text or
    object}, ...]}, ...]``. Returns the history entries; SchemaError naming the entry (and the
    line of the schema) for anything refused."""
    if not text.strip():
        return []
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise SchemaError("schemas", f"not valid JSON: {err.msg}", err.lineno, err.colno) from None
    if not isinstance(data, list):
        raise SchemaError("schemas", "must be a JSON list of subjects")
    history = []
    for i, entry in enumerate(data):
        where = f"schemas[{i}]"
        if not isinstance(entry, dict) or not isinstance(entry.get("versions", []), list):
            raise SchemaError(where, 'must be an object {"subject", "compatibility", "versions": [...]}')
        unknown = set(entry) - {"subject", "topic", "compatibility", "versions"}
        if unknown:
            raise SchemaError(f"{where}.{sorted(unknown)[0]}", "is not a key of a subject")
        for n, version in enumerate(entry.get("versions", [])):
            at = f"{where}.versions[{n}]"
            if not isinstance(version, dict):
                raise SchemaError(at, 'must be an object {"schemaType", "schema"}')
            schema_type, schema = version.get("schemaType", "AVRO"), version.get("schema")
            if not isinstance(schema, str):
                schema = json.dumps(schema, indent=2)
            try:
                subject = _subject_of(entry, strategy, schema_type, schema)
                if n == 0 and entry.get("compatibility") is not None:
                    registry.set_level(entry["compatibility"], subject)
                schema_id, number, _ = registry.register(subject, schema_type, schema)
            except SchemaError as err:
                raise SchemaError(f"{at}.{err.field}", err.message, err.line, err.column) from None
            except Refused as err:
                raise SchemaError(at, str(err)) from None
            history.append({"t": 0.0, "op": "register", "subject": subject, "version": number, "id": schema_id,
                            "schemaType": schema_type, "ok": True, "reasons": []})
        if not entry.get("versions") and entry.get("compatibility") is not None and "subject" in entry:
            try:
                registry.set_level(entry["compatibility"], entry["subject"])
            except SchemaError as err:
                raise SchemaError(f"{where}.compatibility", err.message) from None
    return history


def _subject_of(entry: dict[str, Any], strategy: str, schema_type: str, schema: str) -> str:
    if isinstance(entry.get("subject"), str):
        return str(entry["subject"])
    if not isinstance(entry.get("topic"), str):
        raise SchemaError("subject", "give a subject, or a topic to name it by the subject name strategy")
    return subject_name(strategy, entry["topic"], parse(schema_type, schema).record_name)


class SchemaRegistryRuntime(Runtime):
    commands = {"register_schema": "cmd_register", "set_compatibility": "cmd_set_compatibility",
                "test_compatibility": "cmd_test"}
    command_labels = {"register_schema": "Register schema", "set_compatibility": "Set compatibility",
                      "test_compatibility": "Test compatibility"}
    command_specs = {
        "register_schema": CommandSpec(args=(
            Param("subject", "Subject", "string", "", "The subject (empty: named from the topic by the strategy)."),
            Param("topic", "Topic", "string", "", "The topic, for the subject name strategy."),
            Param("schema_type", "Schema type", "enum", "AVRO", "AVRO, PROTOBUF or JSON.", choices=SCHEMA_TYPES),
            Param("schema", "Schema", "string", "", "The schema text.", max_length=MAX_SCHEMA_CHARS),
        )),
        "test_compatibility": CommandSpec(args=(
            Param("subject", "Subject", "string", "", "The subject to test against."),
            Param("schema_type", "Schema type", "enum", "AVRO", "AVRO, PROTOBUF or JSON.", choices=SCHEMA_TYPES),
            Param("schema", "Schema", "string", "", "The schema text.", max_length=MAX_SCHEMA_CHARS),
        )),
        "set_compatibility": CommandSpec(args=(
            Param("subject", "Subject", "string", "", "The subject (empty: the global level)."),
            Param("level", "Level", "enum", "BACKWARD", "The compatibility level.", choices=LEVELS),
        )),
    }
    histories = ("history",)

    def __init__(self, node_id: str, params: dict[str, Any]) -> None:
        self.id = node_id
        self.strategy = params["subject_strategy"]
        self.registry = SchemaRegistry(params["compatibility"])
        self.history = preload(self.registry, params["schemas"], self.strategy)[-HISTORY:]
        self.refused = 0

    def cmd_register(self, sim: Simulation, command: dict[str, Any]) -> None:
        """Register a schema under a subject (POST /subjects/{subject}/versions): refused, with the
        reasons, when the subject's compatibility level does not allow it."""
        schema_type = command.get("schema_type") or "AVRO"
        text = command.get("schema")
        subject = command.get("subject") or ""
        try:
            if not isinstance(text, str) or not text.strip():
                raise SchemaError("schema", "the schema text is missing")
            if not subject:
                if not command.get("topic"):
                    raise SchemaError("subject", "give a subject, or a topic to name it by the subject name strategy")
                subject = subject_name(self.strategy, command["topic"], parse(schema_type, text).record_name)
            schema_id, version, new = self.registry.register(subject, schema_type, text)
        except SchemaError as err:
            raise CommandError(f"register_schema: {err}") from None
        except Refused as err:
            self.refused += 1
            reasons = [r.to_dict() for r in err.reasons]
            self._remember(sim, {"op": "register", "subject": subject, "schemaType": schema_type, "ok": False,
                                 "level": err.level, "reasons": reasons})
            sim.emit({"k": "schema_refused", "t": sim.now, "node": self.id, "subject": subject, "level": err.level,
                      "reasons": reasons})
            return
        self._remember(sim, {"op": "register", "subject": subject, "version": version, "id": schema_id,
                             "schemaType": schema_type, "ok": True, "new": new, "reasons": []})
        sim.emit({"k": "schema_registered", "t": sim.now, "node": self.id, "subject": subject, "version": version,
                  "id": schema_id, "new": new})

    def cmd_test(self, sim: Simulation, command: dict[str, Any]) -> None:
        """Test a schema against a subject's versions at its level without registering it
        (POST /compatibility/subjects/{subject}/versions); the answer goes into the history."""
        schema_type = command.get("schema_type") or "AVRO"
        subject = command.get("subject") or ""
        try:
            if not isinstance(command.get("schema"), str) or not command["schema"].strip():
                raise SchemaError("schema", "the schema text is missing")
            reasons = self.registry.test_compatibility(subject, schema_type, command["schema"])
        except SchemaError as err:
            raise CommandError(f"test_compatibility: {err}") from None
        self._remember(sim, {"op": "test", "subject": subject, "schemaType": schema_type, "ok": not reasons,
                             "level": self.registry.level_of(subject), "reasons": [r.to_dict() for r in reasons]})

    def cmd_set_compatibility(self, sim: Simulation, command: dict[str, Any]) -> None:
        """Set the compatibility level of a subject, or the global one (PUT /config/{subject}, PUT /config)."""
        subject = command.get("subject") or None
        try:
            self.registry.set_level(command.get("level") or "BACKWARD", subject)
        except SchemaError as err:
            raise CommandError(f"set_compatibility: {err}") from None
        self._remember(sim, {"op": "set_compatibility", "subject": subject, "level": command.get("level"), "ok": True})

    def _remember(self, sim: Simulation, entry: dict[str, Any]) -> None:
        self.history.append({"t": sim.now, **entry})
        del self.history[:-HISTORY]

    def metrics(self, sim: Simulation) -> dict[str, Any]:
        return {**self.registry.to_dict(), "strategy": self.strategy, "refused": self.refused,
                "history": list(self.history)}
