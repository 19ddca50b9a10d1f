"""A bridge (Kafka Connect-like): reads records from any record source and writes them to any sink."""

from playground.engine.bridge import nodes  # noqa: F401  (registers the node type)
