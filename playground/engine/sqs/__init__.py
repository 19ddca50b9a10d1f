"""Amazon SQS (standard and FIFO queues) and SNS topics (standard and FIFO): declarations, filter
policies, behaviour."""

from playground.engine.sqs import (
    nodes,  # noqa: F401  (registers the node types)
    traits,  # noqa: F401  (registers its row of the comparison matrix)
)
