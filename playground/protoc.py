"""Protobuf schema text -> FileDescriptorProto, by the protobuf compiler that grpcio-tools ships.

This is the one piece of schema handling that needs the file system: protoc (grpc_tools'
_protoc_compiler.get_protos) reads .proto files from disk, so the text is written to a private
temporary directory and compiled there. It lives outside playground/engine/ for that reason; the
engine calls it through the pure interface documented in playground/engine/schemas/protobuf_format.py
(``compile_proto(text) -> bytes``: the same text always gives the same bytes, or the same error).

get_protos returns the Python module protoc generates, which embeds the serialized
FileDescriptorProto (``AddSerializedFile(b'...')``); that literal is read back with
ast.literal_eval, so nothing generated is executed. Errors come back structured (file, 0-based
line and column, message) and are reported 1-based.
"""

from __future__ import annotations

import ast
import os
import tempfile

import grpc_tools
from grpc_tools import _protoc_compiler

from playground.engine.schemas.model import SchemaError

_WELL_KNOWN = os.path.join(os.path.dirname(grpc_tools.__file__), "_proto")
_FILE = "schema.proto"
_MARK = "AddSerializedFile("


def compile_proto(text: str) -> bytes:
    """The serialized FileDescriptorProto of ``text`` (a .proto file named ``schema.proto``, which
    may import the well-known types); SchemaError naming the line and column protoc reports."""
    with tempfile.TemporaryDirectory(prefix="fanout-proto-") as folder:
        with open(os.path.join(folder, _FILE), "w", encoding="utf-8") as out:
            out.write(text)
        try:
            generated = _protoc_compiler.get_protos(_FILE.encode(), [folder.encode(), _WELL_KNOWN.encode()])
        except _protoc_compiler.ProtocErrors as err:
            first = err.errors()[0]
            message = first.message.decode() if isinstance(first.message, bytes) else first.message
            raise SchemaError("schema", f"protoc: {message}", first.line + 1, first.column + 1) from None
    for name, code in generated:
        if name.decode() if isinstance(name, bytes) else name:
            source = code.decode() if isinstance(code, bytes) else code
            start = source.find(_MARK)
            if start >= 0:
                literal, _ = _bytes_literal(source, start + len(_MARK))
                return literal
    raise SchemaError("schema", "protoc produced no descriptor")


def _bytes_literal(source: str, at: int) -> tuple[bytes, int]:
    """The b'...' literal starting at ``at`` (protoc writes it on one line)."""
    end = source.index(")", at)
    while True:
        try:
            value = ast.literal_eval(source[at:end])
            if isinstance(value, bytes):
                return value, end
        except (SyntaxError, ValueError):
            pass
        end = source.index(")", end + 1)
