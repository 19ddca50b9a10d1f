"""What RabbitMQ (AMQP 0-9-1: classic and quorum queues, streams) promises, for the comparison matrix
(registry.TRAITS): one sentence per trait and the ready topology that shows it, or None."""

from playground.engine.registry import SystemTraits, register_system

register_system(SystemTraits(
    name="rabbitmq",
    label="RabbitMQ",
    node_types=("amqp_publisher", "amqp_exchange", "amqp_queue", "amqp_consumer", "amqp_policy"),
    traits={
        "ordering": ("FIFO per queue (highest priority first with x-max-priority); several consumers or a "
                     "requeue make processing order differ from queue order.", "rabbitmq-priority"),
        "delivery": ("At least once with manual acks: a delivery not acked when its channel dies (or a quorum "
                     "queue's leader fails) is requeued and delivered again; at most once with auto-ack.",
                     "rabbitmq-quorum-failover"),
        "retention": ("Queues: none, a message is deleted once acknowledged (or expired by TTL). Streams "
                      "(x-queue-type stream) keep every message until size or age retention deletes its "
                      "segment, and consumers replay them by offset.", "rabbitmq-streams"),
        "routing": ("In the broker: exchanges route by binding, direct (exact key), topic (* and #), fanout "
                    "(every queue) or headers (x-match all or any).", "patterns-content-routing"),
        "dlq": ("Dead-letter exchanges: rejected, expired and overflowed messages (and, in quorum queues, "
                "those past x-delivery-limit) are republished with an x-death history; redrive moves them "
                "back to the queue they died in.", "rabbitmq-dead-letters"),
        "scaling": ("The queue: its consumers compete for its messages (round robin within prefetch); "
                    "fan-out is one queue per subscriber behind an exchange.", "compare-queue-vs-pubsub"),
        "push_pull": ("Push: the broker delivers to each consumer until it holds prefetch (basic.qos) "
                      "unacknowledged messages; prefetch is the flow control.", "compare-push-vs-pull"),
        "dedup": ("None: a redelivery only carries the redelivered flag, so consumers must be idempotent.",
                  "rabbitmq-dead-letters"),
    },
))
