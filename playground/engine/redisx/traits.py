"""What Redis Pub/Sub and Redis Streams promise, for the comparison matrix (registry.TRAITS):
one sentence per trait and the ready topology that shows it, or None."""

from playground.engine.registry import SystemTraits, register_system

register_system(SystemTraits(
    name="redis_pubsub",
    label="Redis Pub/Sub",
    node_types=("redis_publisher", "redis_channel", "redis_subscriber"),
    traits={
        "ordering": ("Publish order, per channel, to each connected subscriber.", "redis-pubsub-vs-streams"),
        "delivery": ("At most once: a message reaches the subscribers connected at that instant; a "
                     "disconnected subscriber, or one past its output buffer limit, loses it.",
                     "redis-pubsub-vs-streams"),
        "retention": ("None: nothing is stored, so nothing can be replayed.", "redis-pubsub-vs-streams"),
        "routing": ("By channel name (SUBSCRIBE) or glob pattern (PSUBSCRIBE); every matching subscriber "
                    "gets a copy.", "compare-queue-vs-pubsub"),
        "dlq": ("None: nothing is acknowledged, so nothing is dead-lettered.", None),
        "scaling": ("The channel: every subscriber gets every message, so more subscribers mean more copies, "
                    "not more throughput.", "compare-queue-vs-pubsub"),
        "push_pull": ("Push: the server writes each message to the subscriber's connection; a slow reader's "
                      "output buffer grows until the server closes it.", "redis-pubsub-vs-streams"),
        "dedup": ("None.", None),
    },
))

register_system(SystemTraits(
    name="redis_streams",
    label="Redis Streams",
    node_types=("redis_publisher", "redis_stream", "redis_consumer_group", "redis_dead_letter_stream"),
    traits={
        "ordering": ("Entry IDs (milliseconds-sequence) only grow and a group hands entries out in ID order; "
                     "several consumers and claimed retries process them out of order.", "redis-streams-group"),
        "delivery": ("At least once: a delivered entry waits in the Pending Entries List until XACK, and "
                     "another consumer takes it over with XAUTOCLAIM once idle long enough.",
                     "redis-streams-group"),
        "retention": ("Entries stay after they are read and acknowledged until MAXLEN / MINID trimming or "
                      "XDEL; every group reads the whole stream, a new one can start from the beginning and "
                      "XGROUP SETID replays it.", "redis-streams-admin"),
        "routing": ("None: producers XADD to a named stream and every group reads all of it.", None),
        "dlq": ("None built in: the application XADDs entries delivered too often to a dead-letter stream "
                "and XACKs them; redrive XADDs them back.", "redis-streams-group"),
        "scaling": ("The consumer group: its consumers share the entries, with no partitions to cap how many "
                    "can help.", "redis-streams-group"),
        "push_pull": ("Pull: XREADGROUP COUNT n (with BLOCK to wait), so a slow consumer reads less and the "
                      "backlog stays in the stream.", "compare-push-vs-pull"),
        "dedup": ("None: every XADD with * is a new entry, and a claimed entry is delivered again.", None),
    },
))
