"""The Kafka family: node declarations, the partitioner, the assignors and the behaviour."""

from playground.engine.kafka import nodes  # noqa: F401  (registers the node types)
