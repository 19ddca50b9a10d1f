"""Schema registry: subjects, versions, ids and compatibility levels, decided by real libraries
(avro for Avro, protoc's descriptors and Confluent's rules for Protobuf, jsonschema and
Confluent's rules for JSON Schema). Importing the package registers the ``schema_registry`` node
type."""

from playground.engine.schemas import nodes as nodes  # noqa: F401  (registers the node type)
