"""Protobuf schemas: parsed by protoc, compared with Confluent's Protobuf rules.

Parsing: the text is compiled by the protobuf compiler grpcio-tools ships, into a
FileDescriptorProto. protoc reads files, so the compiler lives outside the engine
(playground/protoc.py) and is reached through one pure interface, ``compile_proto(text) ->
bytes`` (the serialized FileDescriptorProto; the same text always gives the same bytes, or raises
SchemaError with protoc's line and column). ``set_compiler`` installs another; by default the
first parse imports playground.protoc. Parsed schemas are memoised by text.

Compatibility follows Confluent's protobuf-provider, io.confluent.kafka.schemaregistry.protobuf.diff:
SchemaDiff.compare(original = the writer's schema, update = the reader's), as
ProtobufSchema.isBackwardCompatible calls it; every Difference whose type is not in
SchemaDiff.COMPATIBLE_CHANGES is an incompatibility. Rules (SchemaDiff, MessageSchemaDiff,
FieldSchemaDiff, EnumSchemaDiff): PACKAGE_CHANGED; a message removed (MESSAGE_REMOVED); fields
compared by number across the message, oneofs included: a required (proto2) field removed
(REQUIRED_FIELD_REMOVED) or added (REQUIRED_FIELD_ADDED); a number reused with another kind
(scalar/enum, message, map: FIELD_KIND_CHANGED), another scalar group (the wire-compatible groups
of the Protobuf guide "Updating A Message Type": int32/int64/uint32/uint64/bool and enums;
sint32/sint64; string/bytes; fixed32/sfixed32; fixed64/sfixed64; float; double:
FIELD_SCALAR_KIND_CHANGED), another message type (FIELD_NAMED_TYPE_CHANGED), a numeric field's
label changed (FIELD_NUMERIC_LABEL_CHANGED: packed repeated encoding differs); a oneof member
removed while its oneof stays (ONEOF_FIELD_REMOVED); fields from different groups brought into
one oneof (MULTIPLE_FIELDS_MOVED_TO_ONEOF, FIELD_MOVED_TO_EXISTING_ONEOF). Adding and removing
optional fields, renaming fields, enum constants and moving messages are compatible. The
referenced message of a field of the same name is compared where it is declared (one file, no
references), not again under the field.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

from google.protobuf import descriptor_pb2

from playground.engine.schemas.model import Incompatibility, Parsed, SchemaError

FDP = descriptor_pb2.FieldDescriptorProto
_compiler: Callable[[str], bytes] | None = None


def set_compiler(compiler: Callable[[str], bytes] | None) -> None:
    """Install the .proto compiler (text -> serialized FileDescriptorProto); None: the default."""
    global _compiler
    _compiler = compiler
    _parse_cached.cache_clear()


def _compile(text: str) -> bytes:
    global _compiler
    if _compiler is None:
        from playground.protoc import compile_proto  # outside the engine: protoc needs files

        _compiler = compile_proto
    return _compiler(text)


def parse(text: str) -> Parsed:
    """Parse .proto text with protoc (SchemaError with its line and column)."""
    return _parse_cached(text)


@lru_cache(maxsize=1024)
def _parse_cached(text: str) -> Parsed:
    if not text.strip():
        raise SchemaError("schema", "empty Protobuf schema", 1, 1)
    data = _compile(text)
    fd = descriptor_pb2.FileDescriptorProto.FromString(data)
    first = fd.message_type[0].name if fd.message_type else None
    name = f"{fd.package}.{first}" if fd.package and first else first
    canonical = fd.SerializeToString(deterministic=True).hex()
    return Parsed("PROTOBUF", canonical, _Info(fd), name)


# -- Confluent's diff, over descriptors -------------------------------------------------------------

_SCALAR_KINDS = {
    FDP.TYPE_INT32: "GENERAL_NUMBER", FDP.TYPE_INT64: "GENERAL_NUMBER", FDP.TYPE_UINT32: "GENERAL_NUMBER",
    FDP.TYPE_UINT64: "GENERAL_NUMBER", FDP.TYPE_BOOL: "GENERAL_NUMBER", FDP.TYPE_ENUM: "GENERAL_NUMBER",
    FDP.TYPE_SINT32: "SIGNED_NUMBER", FDP.TYPE_SINT64: "SIGNED_NUMBER",
    FDP.TYPE_STRING: "STRING_OR_BYTES", FDP.TYPE_BYTES: "STRING_OR_BYTES",
    FDP.TYPE_FIXED32: "FIXED32", FDP.TYPE_SFIXED32: "FIXED32", FDP.TYPE_FIXED64: "FIXED64",
    FDP.TYPE_SFIXED64: "FIXED64", FDP.TYPE_FLOAT: "FLOAT", FDP.TYPE_DOUBLE: "DOUBLE",
}
_NESTED = (FDP.TYPE_MESSAGE, FDP.TYPE_GROUP)  # a map's declaration stays equal when its entry changes
_NUMERIC = {"GENERAL_NUMBER", "SIGNED_NUMBER", "FIXED32", "FIXED64", "FLOAT", "DOUBLE"}

#: Confluent's protobuf/diff/Difference.error(): the first %s is the reader's role, the second the writer's
_DESCRIPTIONS = {
    "PACKAGE_CHANGED": "The package at '{path}' in the {reader} schema does not match the package in the "
        "{writer} schema",
    "MESSAGE_REMOVED": "The {reader} schema is missing a MESSAGE type at path '{path}' in the {writer} schema",
    "FIELD_KIND_CHANGED": "The type of a field at path '{path}' in the {reader} schema does not match the "
        "{writer} schema",
    "FIELD_SCALAR_KIND_CHANGED": "The kind of a SCALAR field at path '{path}' in the {reader} schema does not match "
                                 "its kind in the {writer} schema",
    "FIELD_NAMED_TYPE_CHANGED": "The type of a MESSAGE field at path '{path}' in the {reader} schema does not "
        "match its "
                                "type in the {writer} schema",
    "FIELD_NUMERIC_LABEL_CHANGED": "The label for a NUMERIC field at path '{path}' in the {reader} schema does not "
                                   "match its label in the {writer} schema",
    "REQUIRED_FIELD_ADDED": "A required field  at path '{path}' in the {reader} schema is missing in the "
        "{writer} schema",
    "REQUIRED_FIELD_REMOVED": "The {reader} schema is missing a required field at path: '{path}' in the "
        "{writer} schema",
    "ONEOF_FIELD_REMOVED": "The {reader} schema is missing a oneof field at path '{path}' in the {writer} schema",
    "MULTIPLE_FIELDS_MOVED_TO_ONEOF": "Multiple fields in the oneof at path '{path}' in the {reader} schema are "
        "outside "
                                      "a oneof in the {writer} schema",
    "FIELD_MOVED_TO_EXISTING_ONEOF": "A field in the oneof at path '{path}' in the {reader} schema is outside an "
                                     "existing oneof in the {writer} schema",
}
INCOMPATIBLE = frozenset(_DESCRIPTIONS)


class _Info:
    """A file's messages by full name, and which are map entries (map<k, v> is a nested message)."""

    def __init__(self, fd: Any) -> None:
        self.fd = fd
        self.package = fd.package
        self.messages: dict[str, Any] = {}
        self.enums: set[str] = set()
        self._fields: dict[int, tuple[dict[int, Any], dict[int, str]]] = {}  # by id(): fd keeps them alive
        prefix = f".{fd.package}" if fd.package else ""
        self._collect(fd.message_type, fd.enum_type, prefix)

    def _collect(self, messages: Any, enums: Any, prefix: str) -> None:
        for enum in enums:
            self.enums.add(f"{prefix}.{enum.name}")
        for message in messages:
            full = f"{prefix}.{message.name}"
            self.messages[full] = message
            self._collect(message.nested_type, message.enum_type, full)

    def fields_of(self, message: Any) -> tuple[dict[int, Any], dict[int, str]]:
        """A message's fields by number and the oneof each member belongs to (a proto3 optional's
        synthetic oneof is none), worked out once per parsed message."""
        known = self._fields.get(id(message))
        if known is None:
            by_number = {f.number: f for f in message.field}
            oneof = {f.number: message.oneof_decl[f.oneof_index].name for f in message.field
                     if f.HasField("oneof_index") and not f.proto3_optional}
            known = self._fields[id(message)] = (by_number, oneof)
        return known

    def local(self, type_name: str) -> str:
        prefix = f".{self.package}." if self.package else "."
        return type_name[len(prefix):] if type_name.startswith(prefix) else type_name.lstrip(".")

    def map_entry(self, field: Any) -> Any | None:
        if field.type != FDP.TYPE_MESSAGE:
            return None
        message = self.messages.get(field.type_name)
        return message if message is not None and message.options.map_entry else None


def _kind(info: _Info, field: Any) -> str:
    if info.map_entry(field) is not None:
        return "MAP"
    return "MESSAGE" if field.type in (FDP.TYPE_MESSAGE, FDP.TYPE_GROUP) else "SCALAR"


class _Diff:
    def __init__(self, old: _Info, new: _Info) -> None:
        self.old, self.new = old, new
        self.found: list[tuple[str, str]] = []
        self.old_proto2 = old.fd.syntax in ("", "proto2")
        self.new_proto2 = new.fd.syntax in ("", "proto2")

    def add(self, rule: str, path: list[str]) -> None:
        if rule in INCOMPATIBLE:
            self.found.append((rule, "#/" + "/".join(path)))

    def file(self) -> None:
        if self.old.package != self.new.package:
            self.add("PACKAGE_CHANGED", [])
        self.types(self.old.fd.message_type, self.new.fd.message_type, [])

    def types(self, old_messages: Any, new_messages: Any, path: list[str]) -> None:
        new_by_name = {m.name: m for m in new_messages}
        for message in old_messages:
            if message.options.map_entry:
                continue
            other = new_by_name.get(message.name)
            if other is None:
                self.add("MESSAGE_REMOVED", [*path, message.name])
            else:
                self.message(message, other, [*path, message.name])

    def message(self, old: Any, new: Any, path: list[str]) -> None:
        old_fields, old_oneof = self.old.fields_of(old)
        new_fields, new_oneof = self.new.fields_of(new)
        new_oneof_names = set(new_oneof.values())
        deleted = {name for name in set(old_oneof.values()) - new_oneof_names
                   if not any(n in new_fields for n, o in old_oneof.items() if o == name)}
        for name in sorted(new_oneof_names):
            groups, moved_in = set(), 0
            for number in sorted(n for n, o in new_oneof.items() if o == name):
                if number in old_oneof:
                    groups.add("oneof:" + old_oneof[number])
                elif number in old_fields:
                    groups.add(f"field:{number}")
                    moved_in += 1
            if len(groups) > 1:
                self.add("MULTIPLE_FIELDS_MOVED_TO_ONEOF" if moved_in > 1 else "FIELD_MOVED_TO_EXISTING_ONEOF",
                         [*path, name])
        for number in sorted(set(old_fields) | set(new_fields)):
            before, after = old_fields.get(number), new_fields.get(number)
            if after is None:
                assert before is not None
                if number in old_oneof:
                    if old_oneof[number] not in deleted:
                        self.add("ONEOF_FIELD_REMOVED", [*path, old_oneof[number], str(number)])
                elif before.label == FDP.LABEL_REQUIRED:
                    self.add("REQUIRED_FIELD_REMOVED", [*path, str(number)])
            elif before is None:
                if number not in new_oneof and after.label == FDP.LABEL_REQUIRED:
                    self.add("REQUIRED_FIELD_ADDED", [*path, str(number)])
            else:
                where = [*path, new_oneof[number], str(number)] if number in new_oneof else [*path, str(number)]
                self.field(before, after, where)
        self.types(old.nested_type, new.nested_type, path)

    def field(self, old: Any, new: Any, path: list[str]) -> None:
        if old == new and old.type not in _NESTED and self.old_proto2 == self.new_proto2 \
                and self.old.package == self.new.package:
            return  # the same scalar declaration: nothing differs (equality is C, the walk is Python)
        old_label = _wire_label(old, self.old_proto2)
        new_label = _wire_label(new, self.new_proto2)
        self.typed(old, new, old_label, new_label, path)

    def typed(self, old: Any, new: Any, old_label: str | None, new_label: str | None, path: list[str]) -> None:
        old_kind, new_kind = _kind(self.old, old), _kind(self.new, new)
        if old_kind != new_kind:
            self.add("FIELD_KIND_CHANGED", path)
        elif old_kind == "SCALAR":
            old_scalar, new_scalar = _SCALAR_KINDS[old.type], _SCALAR_KINDS[new.type]
            if old_scalar != new_scalar:
                self.add("FIELD_SCALAR_KIND_CHANGED", path)
            elif old_label is not None and new_label is not None and old_label != new_label \
                    and old_scalar in _NUMERIC:
                self.add("FIELD_NUMERIC_LABEL_CHANGED", path)
        elif old_kind == "MESSAGE":
            if self.old.local(old.type_name) != self.new.local(new.type_name):
                self.add("FIELD_NAMED_TYPE_CHANGED", path)
        else:
            old_entry, new_entry = self.old.map_entry(old), self.new.map_entry(new)
            assert old_entry is not None and new_entry is not None  # both kinds are MAP
            for i in (0, 1):  # key, then value
                self.typed(old_entry.field[i], new_entry.field[i], None, None, path)


def _wire_label(field: Any, proto2: bool) -> str | None:
    """The label as the .proto text writes it (Wire's FieldElement.label): REPEATED, REQUIRED,
    OPTIONAL (proto2's optional, proto3's explicit optional) or None (proto3 without a label)."""
    if field.label == FDP.LABEL_REPEATED:
        return "REPEATED"
    if field.label == FDP.LABEL_REQUIRED:
        return "REQUIRED"
    if field.HasField("oneof_index") and not field.proto3_optional:
        return None
    return "OPTIONAL" if proto2 or field.proto3_optional else None


def compatible(reader: Parsed, writer: Parsed, roles: tuple[str, str] = ("reader", "writer")) -> list[Incompatibility]:
    """What stops ``reader`` from reading Protobuf data written with ``writer`` (empty: it can):
    Confluent's SchemaDiff.compare(writer, reader), less its COMPATIBLE_CHANGES."""
    diff = _Diff(writer.obj, reader.obj)
    diff.file()
    return [Incompatibility(rule, path, _DESCRIPTIONS[rule].format(path=path, reader=roles[0], writer=roles[1]))
            for rule, path in diff.found]
