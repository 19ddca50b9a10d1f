"""Apache Pulsar in the comparison matrix."""

from playground.engine.registry import SystemTraits, register_system

register_system(SystemTraits(
    name="pulsar",
    label="Apache Pulsar",
    node_types=("pulsar_producer", "pulsar_topic", "pulsar_subscription", "pulsar_consumer"),
    traits={
        "ordering": ("Per partition on exclusive and failover subscriptions, per key on key_shared; none across a "
                     "shared subscription's consumers.", "pulsar-subscription-types"),
        "delivery": ("At least once: unacked messages are redelivered after a negative ack, an ack timeout or a "
                     "consumer's disconnection.", "pulsar-key-shared-and-dlq"),
        "retention": ("Unacked messages stay in the subscription backlog; acknowledged ledgers are kept per "
                      "retention time/size and can be offloaded to tiered storage.", "pulsar-subscription-types"),
        "routing": ("Producers pick the partition (key hash or round robin); every subscription sees every "
                    "message; the subscription type spreads them over consumers.", "pulsar-subscription-types"),
        "dlq": ("A client-side dead-letter topic after maxRedeliverCount redeliveries, counted on shared and "
                "key_shared subscriptions only; no built-in redrive.", "pulsar-key-shared-and-dlq"),
        "scaling": ("Partitions for producers; consumers per subscription (shared, key_shared) or per partition "
                    "(failover).", "pulsar-key-shared-and-dlq"),
        "push_pull": ("Push within permits: the broker sends up to each consumer's receiver queue size, renewed "
                      "as the application takes messages.", "pulsar-subscription-types"),
        "dedup": ("Broker-side deduplication when enabled: per producer name, a sequence id not above the highest "
                  "stored is not stored again; off by default, so a retried send is stored twice.",
                  "pulsar-dedup-and-delay"),
    },
))
