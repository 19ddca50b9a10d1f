"""The RabbitMQ differential tests' broker connection (rabbitmq_broker.connect: skips, or fails under
FANOUT_REQUIRE_SERVICES, when no RabbitMQ answers on 127.0.0.1:5672)."""

from collections.abc import Iterator

import pytest

from tests.differential.rabbitmq_broker import Broker, connect


@pytest.fixture
def broker() -> Iterator[Broker]:
    yield from connect()
