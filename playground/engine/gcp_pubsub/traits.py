"""Google Cloud Pub/Sub in the comparison matrix."""

from playground.engine.registry import SystemTraits, register_system

register_system(SystemTraits(
    name="gcp_pubsub",
    label="Google Cloud Pub/Sub",
    node_types=("pubsub_publisher", "pubsub_topic", "pubsub_subscription", "pubsub_subscriber"),
    traits={
        "ordering": ("None by default; with message ordering enabled, messages sharing an ordering key arrive in "
                     "publish order and a failed one holds its key back until redelivered.",
                     "gcp-pubsub-ordering-and-dlq"),
        "delivery": ("At least once: a message not acked within its ack deadline is redelivered; exactly-once "
                     "delivery (pull only) confirms acks (an expired ack ID fails with INVALID_ACK_ID) and never "
                     "redelivers an acked message.", "gcp-pubsub-exactly-once"),
        "retention": ("Unacked messages are kept up to 7 days per subscription; acked ones only with "
                      "retain_acked_messages or topic retention. Seek to a time or a snapshot replays or purges "
                      "in bulk.", "gcp-pubsub-seek-and-filter"),
        "routing": ("Every subscription of a topic gets its own copy of each message published after it was "
                    "created; a subscription filter on attributes delivers only the matching ones (Pub/Sub acks "
                    "the others).", "gcp-pubsub-seek-and-filter"),
        "dlq": ("A dead-letter topic per subscription after 5 to 100 delivery attempts; no built-in redrive: "
                "republish from a subscription of the dead-letter topic.", "gcp-pubsub-ordering-and-dlq"),
        "scaling": ("Serverless: add subscriber clients or endpoint instances; flow control bounds what each "
                    "client holds.", "gcp-pubsub-push-vs-pull"),
        "push_pull": ("Both, per subscription: streaming pull with flow control, or push to an HTTPS endpoint "
                      "with a slow-start window and backoff.", "gcp-pubsub-push-vs-pull"),
        "dedup": ("No publish-side deduplication; exactly-once delivery removes redelivery of acked messages "
                  "within a region.", None),
    },
))
