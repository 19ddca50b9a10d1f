"""Direct reply-to ("Direct Reply-to" guide): a request's reply_to amq.rabbitmq.reply-to makes
the reply go straight back to the requesting channel, with no reply queue; a reply to a channel
that has closed is dropped."""

from playground.engine.rabbitmq import flow
from tests.engine.rabbitmq.factories import conserved, edge, node, sim


def rpc(processing_ms=10.0):
    return sim([node("client", "amqp_publisher", rate=0, reply_to="amq.rabbitmq.reply-to"),
                node("rpc", "amqp_queue"),
                node("server", "amqp_consumer", consumers=1, prefetch=1, processing_ms=processing_ms)],
               [edge("client", "rpc"), edge("rpc", "server")])


def test_replies_come_back_to_the_requester_in_order_without_a_queue():
    s = rpc()
    s.apply({"op": "publish", "node": "client", "count": 3})
    s.advance(2.0)
    m = s.metrics()
    client = m["nodes"]["client"]
    assert client["replies"] == 3 and client["direct_reply_to"]
    base = s.components["client"].uid_base
    assert client["recent_replies"] == [base | 1, base | 2, base | 3]
    assert set(m["nodes"]) == {"client", "rpc", "server"}  # no reply queue anywhere
    assert all(conserved(st) for st in s.streams())


def test_a_reply_to_a_channel_that_closed_is_dropped():
    """The reply address names the requesting channel: after a reconnect it is gone."""
    s = rpc(processing_ms=100.0)
    s.apply({"op": "publish", "node": "client", "count": 2})
    s.apply({"op": "reconnect", "node": "client"})
    s.apply({"op": "publish", "node": "client"})
    s.advance(5.0)
    m = s.metrics()
    assert m["nodes"]["client"]["replies"] == 1 and m["nodes"]["client"]["replies_lost"] == 2
    assert m["dropped"] == {flow.DROP_DIRECT_REPLY_GONE: 2}
    assert all(conserved(st) for st in s.streams())
