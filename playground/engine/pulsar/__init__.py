"""Apache Pulsar: partitioned topics on BookKeeper ledgers with tiered-storage offload, and
subscriptions of four types (exclusive, shared, failover, key_shared) with permits, individual
and cumulative acks, negative acks, ack timeouts and dead-letter topics."""

from playground.engine.pulsar import (
    nodes,  # noqa: F401  (registers the node types)
    traits,  # noqa: F401  (registers the comparison traits)
)
