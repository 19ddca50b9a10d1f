"""What Amazon SQS and SNS promise, for the comparison matrix (registry.TRAITS): one sentence per
trait and the ready topology that shows it, or None."""

from playground.engine.registry import SystemTraits, register_system

register_system(SystemTraits(
    name="sqs",
    label="Amazon SQS / SNS",
    node_types=("sqs_producer", "sns_topic", "sqs_queue", "sqs_consumer"),
    traits={
        "ordering": ("Standard queues: best-effort order, occasionally out of order; FIFO queues: strict order "
                     "within a MessageGroupId (kept through an SNS FIFO topic's fan-out), a group locked while one "
                     "of its messages is in flight.",
                     "sqs-fifo-groups"),
        "delivery": ("At least once: a received message that is not deleted before its visibility timeout "
                     "passes is delivered again, and a standard queue occasionally delivers a copy twice.",
                     "sqs-visibility-and-dlq"),
        "retention": ("Up to 14 days (4 by default) until deleted; a deleted message cannot be replayed.", None),
        "routing": ("SNS fans each message out to every subscribed queue whose filter policy accepts its "
                    "attributes (exact, prefix, anything-but, numeric ranges, exists).", "sns-fanout-filters"),
        "dlq": ("A redrive policy moves a message to the dead-letter queue after maxReceiveCount receives; "
                "a message move task redrives it back to its source.", "sqs-visibility-and-dlq"),
        "scaling": ("The queue: any number of consumers poll it and compete for its messages; FIFO "
                    "parallelism is bounded by the number of message groups.", "sqs-fifo-groups"),
        "push_pull": ("Pull: consumers poll with ReceiveMessage (short, or long polling up to 20 s); SNS "
                      "pushes to its subscriptions.", "sqs-visibility-and-dlq"),
        "dedup": ("FIFO queues and SNS FIFO topics drop a message with a MessageDeduplicationId (or body hash) "
                  "seen in the last 5 minutes; standard queues and topics do not deduplicate.", "sns-fifo-fanout"),
    },
))
