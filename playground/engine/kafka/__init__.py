"""The Kafka family: node declarations, the partitioner, the assignors and the behaviour."""

from playground.engine.kafka import nodes, traits  # noqa: F401  (register the node types, the matrix row)
