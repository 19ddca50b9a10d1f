"""RabbitMQ (AMQP 0-9-1): node declarations, routing, the classic queue, dead-lettering, behaviour."""

from playground.engine.rabbitmq import nodes  # noqa: F401  (registers the node types)
