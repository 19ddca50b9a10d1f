"""RabbitMQ (AMQP 0-9-1): node declarations, routing, the classic queue, dead-lettering, behaviour."""

from playground.engine.rabbitmq import nodes, traits  # noqa: F401  (register the node types, the matrix row)
