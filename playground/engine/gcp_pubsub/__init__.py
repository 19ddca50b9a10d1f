"""Google Cloud Pub/Sub: topics fanning out to subscriptions (pull or push), ack deadlines and
lease extension, retry policies, ordering keys, exactly-once delivery, dead-letter topics."""

from playground.engine.gcp_pubsub import (
    nodes,  # noqa: F401  (registers the node types)
    traits,  # noqa: F401  (registers the comparison traits)
)
