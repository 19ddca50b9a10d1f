"""What Kafka promises, for the comparison matrix (registry.TRAITS): one sentence per trait and
the ready topology (playground/examples) that shows it, or None where none does yet."""

from playground.engine.registry import SystemTraits, register_system

register_system(SystemTraits(
    name="kafka",
    label="Apache Kafka",
    node_types=("producer", "kafka_topic", "consumer_group", "dlq"),
    traits={
        "ordering": ("Per partition only: records with the same key go to the same partition (murmur2 hash) "
                     "and are read in offset order; there is no order across partitions.", "starter"),
        "delivery": ("At least once with commits after processing or auto-commit (a crash re-delivers the "
                     "uncommitted records as duplicates); at most once when offsets are committed before "
                     "processing.", "kafka-delivery-semantics"),
        "retention": ("The log keeps records for its retention time or size whether read or not; each group "
                      "keeps its own offsets, so another group reads the same records again.",
                      "kafka-retention"),
        "routing": ("None in the broker: the producer picks the topic and the key picks the partition; "
                    "consumers read whole partitions and filter for themselves.", "reference"),
        "dlq": ("No built-in dead-letter queue: the consumer retries with backoff, then produces the record "
                "to a dead-letter topic with why and after how many attempts; a redrive app produces them "
                "back to their partitions.", "starter"),
        "scaling": ("The partition: each one is read by exactly one member of a group, so members beyond the "
                    "partition count sit idle.", "starter"),
        "push_pull": ("Pull: consumers poll, at most max.poll.records at a time, so a slow consumer only "
                      "falls behind (lag) and never holds more than it asked for.", "compare-push-vs-pull"),
        "dedup": ("Idempotent producers drop their own retried sends (producer id and sequence number); "
                  "consumers still see duplicates after a crash or rebalance unless processing is "
                  "idempotent or transactional.", "starter"),
    },
))
