"""JSON Schemas: validated by the jsonschema library, compared with Confluent's JSON Schema rules.

Parsing: the text must be JSON (errors name the line and column) and a valid schema for its
dialect (``$schema``; draft 7 when absent, the draft Confluent's json-schema-provider defaults
to), checked against the dialect's metaschema by jsonschema's ``check_schema``.

Compatibility follows Confluent's json-schema-provider, io.confluent.kafka.schemaregistry.json.diff:
JsonSchema.isBackwardCompatible calls SchemaDiff.compare(original = the writer's schema, update =
the reader's) and refuses every Difference not in SchemaDiff.COMPATIBLE_CHANGES_STRICT (the
default policy). The rules modelled here:

- content models (ObjectSchemaDiff.compareProperties): an object is *open* when
  additionalProperties is absent or true (and no patternProperties), *closed* when it is false,
  *partially open* when it is a schema. A property removed by the reader is fine when the reader
  is open (PROPERTY_REMOVED_FROM_OPEN_CONTENT_MODEL) and refused when it is closed
  (PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL) unless the writer had it as ``false``, or covered
  by the reader's additionalProperties schema. A property added by the reader is refused when the
  writer was open (OPTIONAL_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL: the writer may have written
  anything under that name), unless its schema is empty; with a closed writer an optional one is
  fine, a required one needs a default (REQUIRED_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL);
- additionalProperties (compareAdditionalProperties): false where it was allowed is refused
  (ADDITIONAL_PROPERTIES_REMOVED), a schema where it was anything is refused
  (ADDITIONAL_PROPERTIES_NARROWED);
- required (compareRequired): a property becoming required without a default is refused
  (REQUIRED_ATTRIBUTE_ADDED);
- types (SchemaDiff.compareTypes, NumberSchemaDiff): another type is TYPE_CHANGED, number to
  integer TYPE_NARROWED (refused), integer to number TYPE_EXTENDED; a single type into a union
  containing it SUM_TYPE_EXTENDED; a reader of ``{}``/true accepts anything;
- bounds and enums (NumberSchemaDiff, StringSchemaDiff, EnumSchemaDiff): maximum/maxLength
  added or decreased, minimum/minLength added or increased, a pattern added or changed, an enum
  narrowed or changed are refused; arrays compare their items (ArraySchemaDiff).
Not modelled: $ref, allOf/oneOf/not beyond a type list, dependencies, unevaluatedProperties.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

import jsonschema
import jsonschema.exceptions
import jsonschema.validators

from playground.engine.schemas.model import Incompatibility, Parsed, SchemaError

_INCOMPATIBLE_PROPERTY_RULES = {
    "OPTIONAL_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL": "The {reader} schema has an open content model and has a "
        "property or item at path '{path}' which is missing in the {writer} schema",
    "REQUIRED_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL": "The {reader} schema has an open content model and has a "
        "property or item at path '{path}' which is missing in the {writer} schema",
    "REQUIRED_PROPERTY_WITH_DEFAULT_ADDED_TO_OPEN_CONTENT_MODEL": "The {reader} schema has an open content model "
        "and has a property or item at path '{path}' which is missing in the {writer} schema",
    "REQUIRED_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL": "The {reader} schema has an unopen content model and has a "
        "required property at path '{path}' which is missing in the {writer} schema",
    "PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL": "The {reader} has a closed content model and is missing a property "
        "or item present at path '{path}' in the {writer} schema",
    "PROPERTY_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL": "A property or item is missing in the {reader} "
        "schema but present at path '{path}' in the {writer} schema and is not covered by its partially open "
        "content model",
    "PROPERTY_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL": "The {reader} schema has a property or item at "
        "path '{path}' which is missing in the {writer} schema and is not covered by its partially open content model",
}
#: Confluent's COMPATIBLE_CHANGES_STRICT, for the rules this module emits
COMPATIBLE = frozenset({
    "TYPE_EXTENDED", "SUM_TYPE_EXTENDED", "MAX_LENGTH_INCREASED", "MAX_LENGTH_REMOVED", "MIN_LENGTH_DECREASED",
    "MIN_LENGTH_REMOVED", "PATTERN_REMOVED", "MAXIMUM_INCREASED", "MAXIMUM_REMOVED", "MINIMUM_DECREASED",
    "MINIMUM_REMOVED", "REQUIRED_ATTRIBUTE_WITH_DEFAULT_ADDED", "REQUIRED_ATTRIBUTE_REMOVED",
    "ADDITIONAL_PROPERTIES_ADDED", "ADDITIONAL_PROPERTIES_EXTENDED",
    "PROPERTY_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL",
    "REQUIRED_PROPERTY_WITH_DEFAULT_ADDED_TO_UNOPEN_CONTENT_MODEL",
    "OPTIONAL_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL", "PROPERTY_WITH_FALSE_REMOVED_FROM_CLOSED_CONTENT_MODEL",
    "PROPERTY_REMOVED_FROM_OPEN_CONTENT_MODEL", "PROPERTY_ADDED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
    "PROPERTY_REMOVED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL", "ENUM_ARRAY_EXTENDED",
})


def parse(text: str) -> Parsed:
    """Parse JSON Schema text and check it against its dialect's metaschema."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise SchemaError("schema", f"not valid JSON: {err.msg}", err.lineno, err.colno) from None
    if not isinstance(data, (dict, bool)):
        raise SchemaError("schema", "a JSON Schema is an object or a boolean", 1, 1)
    validator = jsonschema.validators.validator_for(data, default=jsonschema.Draft7Validator)
    # check_schema's check (the first error of the metaschema's validation), with the validator kept
    first = next(iter(_metaschema_validator(validator).iter_errors(data)), None)
    if first is not None:
        where = "/".join(str(p) for p in first.absolute_path)
        line, column = _locate(text, list(first.absolute_path))
        raise SchemaError("schema", f"not a valid JSON Schema at '#/{where}': {first.message}", line, column)
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"))
    title = data.get("title") if isinstance(data, dict) else None
    return Parsed("JSON", canonical, data, title if isinstance(title, str) else None)


@lru_cache(maxsize=16)
def _metaschema_validator(validator: Any) -> Any:
    """The validator of a dialect's metaschema, made once (what Validator.check_schema makes at
    every call, with the same format checker)."""
    meta = jsonschema.validators.validator_for(validator.META_SCHEMA, default=validator)
    return meta(validator.META_SCHEMA, format_checker=validator.FORMAT_CHECKER)


def _locate(text: str, path: list[Any]) -> tuple[int | None, int | None]:
    """The line and column of the last key of ``path`` in the text (searched in order)."""
    at = 0
    for part in path:
        if isinstance(part, str):
            found = text.find(f'"{part}"', at)
            if found < 0:
                return None, None
            at = found
    if not path:
        return None, None
    return text.count("\n", 0, at) + 1, at - (text.rfind("\n", 0, at) + 1) + 1


def _norm(schema: Any) -> Any:
    if schema is True:
        return {}
    return schema


def _types(schema: dict[str, Any]) -> frozenset[str] | None:
    kind = schema.get("type")
    if kind is None:
        if "properties" in schema or "additionalProperties" in schema or "required" in schema:
            return frozenset({"object"})
        return None
    return frozenset([kind] if isinstance(kind, str) else kind)


def _group(types: frozenset[str]) -> frozenset[str]:
    """everit's schema classes: integer and number are both a NumberSchema."""
    return frozenset("number" if t == "integer" else t for t in types)


class _Diff:
    def __init__(self) -> None:
        self.found: list[tuple[str, str]] = []

    def add(self, rule: str, path: list[str]) -> None:
        self.found.append((rule, "#/" + "/".join(path)))

    def compare(self, original: Any, update: Any, path: list[str]) -> None:
        if original == update:
            return  # the same schema: no difference anywhere below
        original, update = _norm(original), _norm(update)
        if update == {} or original is False:
            return
        if update is False:
            self.add("TYPE_CHANGED", path)
            return
        old_types, new_types = _types(original), _types(update)
        if old_types != new_types and old_types is not None and new_types is not None:
            if _group(old_types) != _group(new_types):
                if len(new_types) > 1 and _group(old_types) <= _group(new_types):
                    self.add("SUM_TYPE_EXTENDED", path)
                    return
                self.add("TYPE_CHANGED", path)
                return
        elif old_types != new_types:
            if new_types is not None:
                self.add("TYPE_CHANGED", path)
                return
        types = new_types or frozenset()
        if "number" in types or "integer" in types:
            self.numbers(original, update, old_types or frozenset(), types, path)
        if "string" in types:
            self.bounds(original, update, path, "maxLength", "minLength")
            self.pattern(original, update, path)
        if "enum" in original or "enum" in update:
            self.enum(original, update, path)
        if "object" in types:
            self.object(original, update, path)
        if "array" in types and isinstance(original.get("items"), dict) and isinstance(update.get("items"), dict):
            self.compare(original["items"], update["items"], [*path, "items"])

    def numbers(self, original: dict[str, Any], update: dict[str, Any], old: frozenset[str], new: frozenset[str],
                path: list[str]) -> None:
        self.bounds(original, update, path, "maximum", "minimum")
        old_int, new_int = "number" not in old and "integer" in old, "number" not in new and "integer" in new
        if old_int != new_int:
            self.add("TYPE_EXTENDED" if old_int else "TYPE_NARROWED", path)

    def bounds(self, original: dict[str, Any], update: dict[str, Any], path: list[str], upper: str, lower: str) -> None:
        for key in (upper, lower):
            rule = key.replace("Length", "_LENGTH").upper()
            before, after = original.get(key), update.get(key)
            if before == after:
                continue
            if before is None:
                self.add(f"{rule}_ADDED", [*path, key])
            elif after is None:
                self.add(f"{rule}_REMOVED", [*path, key])
            else:
                grew = after > before
                self.add(f"{rule}_{'INCREASED' if grew else 'DECREASED'}", [*path, key])

    def pattern(self, original: dict[str, Any], update: dict[str, Any], path: list[str]) -> None:
        before, after = original.get("pattern"), update.get("pattern")
        if before != after:
            rule = "PATTERN_ADDED" if before is None else "PATTERN_REMOVED" if after is None else "PATTERN_CHANGED"
            self.add(rule, [*path, "pattern"])

    def enum(self, original: dict[str, Any], update: dict[str, Any], path: list[str]) -> None:
        before, after = original.get("enum"), update.get("enum")
        if before is None or after is None:
            if before != after:
                self.add("ENUM_ARRAY_NARROWED" if before is None else "ENUM_ARRAY_EXTENDED", [*path, "enum"])
            return
        if all(v in after for v in before):
            if len(after) != len(before):
                self.add("ENUM_ARRAY_EXTENDED", [*path, "enum"])
        elif all(v in before for v in after):
            self.add("ENUM_ARRAY_NARROWED", [*path, "enum"])
        else:
            self.add("ENUM_ARRAY_CHANGED", [*path, "enum"])

    def object(self, original: dict[str, Any], update: dict[str, Any], path: list[str]) -> None:
        old_props, new_props = original.get("properties", {}), update.get("properties", {})
        old_req, new_req = set(original.get("required", ())), set(update.get("required", ()))
        for name in old_props:
            if name in new_props:
                if name in old_req and name not in new_req:
                    self.add("REQUIRED_ATTRIBUTE_REMOVED", [*path, "required", name])
                elif name in new_req and name not in old_req:
                    has_default = isinstance(new_props[name], dict) and "default" in new_props[name]
                    self.add("REQUIRED_ATTRIBUTE_WITH_DEFAULT_ADDED" if has_default else "REQUIRED_ATTRIBUTE_ADDED",
                             [*path, "required", name])
        for name in sorted(set(old_props) | set(new_props), key=lambda n: (n not in old_props, n)):
            where = [*path, "properties", name]
            before, after = old_props.get(name), new_props.get(name)
            if after is None:
                self.removed(before, update, where)
            elif before is None:
                self.added(after, original, name in new_req, where)
            else:
                self.compare(before, after, where)
        self.additional(original, update, path)

    def removed(self, before: Any, update: dict[str, Any], where: list[str]) -> None:
        if _open(update):
            self.add("PROPERTY_REMOVED_FROM_OPEN_CONTENT_MODEL", where)
        elif isinstance(update.get("additionalProperties"), dict):
            sub = _Diff()
            sub.compare(before, update["additionalProperties"], where)
            self.found.extend(sub.found)
            ok = all(rule in COMPATIBLE for rule, _ in sub.found)
            self.add("PROPERTY_REMOVED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL" if ok
                     else "PROPERTY_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL", where)
        elif before is False:
            self.add("PROPERTY_WITH_FALSE_REMOVED_FROM_CLOSED_CONTENT_MODEL", where)
        else:
            self.add("PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL", where)

    def added(self, after: Any, original: dict[str, Any], required: bool, where: list[str]) -> None:
        has_default = isinstance(after, dict) and "default" in after
        if _open(original):
            if _norm(after) == {}:
                self.add("PROPERTY_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL", where)
            elif required:
                self.add("REQUIRED_PROPERTY_WITH_DEFAULT_ADDED_TO_OPEN_CONTENT_MODEL" if has_default
                         else "REQUIRED_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL", where)
            else:
                self.add("OPTIONAL_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL", where)
            return
        if isinstance(original.get("additionalProperties"), dict):
            sub = _Diff()
            sub.compare(original["additionalProperties"], after, where)
            self.found.extend(sub.found)
            ok = all(rule in COMPATIBLE for rule, _ in sub.found)
            self.add("PROPERTY_ADDED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL" if ok
                     else "PROPERTY_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL", where)
        if required:
            self.add("REQUIRED_PROPERTY_WITH_DEFAULT_ADDED_TO_UNOPEN_CONTENT_MODEL" if has_default
                     else "REQUIRED_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL", where)
        else:
            self.add("OPTIONAL_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL", where)

    def additional(self, original: dict[str, Any], update: dict[str, Any], path: list[str]) -> None:
        where = [*path, "additionalProperties"]
        before, after = original.get("additionalProperties", True), update.get("additionalProperties", True)
        if (before is not False) != (after is not False):
            self.add("ADDITIONAL_PROPERTIES_ADDED" if after is not False else "ADDITIONAL_PROPERTIES_REMOVED", where)
        elif before is True and isinstance(after, dict) and after != {}:
            self.add("ADDITIONAL_PROPERTIES_NARROWED", where)
        elif after is True and isinstance(before, dict) and before != {}:
            self.add("ADDITIONAL_PROPERTIES_EXTENDED", where)
        elif isinstance(before, dict) and isinstance(after, dict):
            self.compare(before, after, where)


def _open(schema: dict[str, Any]) -> bool:
    """ObjectSchemaDiff.isOpenContentModel: additionalProperties absent or true, no patternProperties."""
    extra = schema.get("additionalProperties", True)
    return (extra is True or extra == {}) and not schema.get("patternProperties")


def _describe(rule: str, path: str, reader: str, writer: str) -> str:
    """Confluent's json/diff/Difference.error()."""
    if rule in _INCOMPATIBLE_PROPERTY_RULES:
        return _INCOMPATIBLE_PROPERTY_RULES[rule].format(path=path, reader=reader, writer=writer)
    if rule == "TYPE_CHANGED":
        return f"A type at path '{path}' is different between the {reader} schema and the {writer} schema"
    if rule.endswith("_NARROWED"):
        return (f"An array or combined type at path '{path}' has fewer elements in the {reader} schema than the "
                f"{writer} schema")
    if rule.endswith("_INCREASED"):
        return f"The value at path '{path}' in the {reader} schema is more than its value in the {writer} schema"
    if rule.endswith("_DECREASED"):
        return f"The value at path '{path}' in the {reader} schema is less than its value in the {writer} schema"
    if rule.endswith("_CHANGED"):
        return f"The value at path '{path}' is different between the {reader} and {writer} schema"
    return f"The keyword at path '{path}' in the {reader} schema is not present in the {writer} schema"


def compatible(reader: Parsed, writer: Parsed, roles: tuple[str, str] = ("reader", "writer")) -> list[Incompatibility]:
    """What stops ``reader`` from reading JSON written with ``writer`` (empty: it can):
    Confluent's SchemaDiff.compare(writer, reader) less COMPATIBLE_CHANGES_STRICT."""
    diff = _Diff()
    diff.compare(writer.obj, reader.obj, [])
    return [Incompatibility(rule, path, _describe(rule, path, *roles)) for rule, path in diff.found
            if rule not in COMPATIBLE]
