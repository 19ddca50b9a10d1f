"""Differential tests of policies (set with rabbitmqctl) and direct reply-to: the engine against
the real RabbitMQ broker (127.0.0.1:5672, guest/guest; 3.10)."""

from __future__ import annotations

import time

import pytest

from tests.differential.rabbitmq_broker import (
    Broker,
    EngineRun,
    confirmed,
    ctl,
    engine_xdeath,
    need_rabbitmqctl,
    pika,
    xdeath,
)
from tests.engine.rabbitmq.factories import edge, node

pytestmark = pytest.mark.service


# -- policies --------------------------------------------------------------------------------

def test_policies_and_their_precedence_against_queue_arguments_match_the_broker(broker: Broker) -> None:
    """Set with rabbitmqctl set_policy. Of the policies matching a queue the highest priority
    applies (rabbit_policy match/2) and apply-to filters by kind. Against queue arguments:
    classic queues take the lower max-length and message-ttl and keep their own overflow and
    dead-letter exchange (process_args_policy/1); a quorum queue takes the policy's overflow
    (ra_machine_config/1). An exchange gets its alternate exchange from a policy. Compared: what
    stays in each queue, what is dead-lettered where (x-death), and which policy applies."""
    need_rabbitmqctl()
    dlx_p, dlx_q, ae = broker.exchange("dlx-p", "fanout"), broker.exchange("dlx-q", "fanout"), None
    dlq_p, dlq_q = broker.queue("dlq-p"), broker.queue("dlq-q")
    broker.ch.queue_bind(dlq_p, dlx_p, "")
    broker.ch.queue_bind(dlq_q, dlx_q, "")
    ae = broker.exchange("ae", "fanout")
    lost = broker.queue("lost")
    broker.ch.queue_bind(lost, ae, "")
    main = broker.exchange("lim-x", "direct")
    queues = {  # engine params, real arguments
        "lim-a": ({"max_length": 5}, {"x-max-length": 5}),
        "lim-b": ({}, {}),
        "lim-c": ({"max_length": 2, "overflow": "reject-publish"}, {"x-max-length": 2, "x-overflow": "reject-publish"}),
        "lim-d": ({}, {"x-dead-letter-exchange": dlx_q}),
        "lim-e": ({"message_ttl_ms": 20}, {"x-message-ttl": 20}),
        "qlim": ({"queue_type": "quorum", "overflow": "reject-publish"},
                 {"x-queue-type": "quorum", "x-overflow": "reject-publish"}),
    }
    nodes = [node("dlx-p", "amqp_exchange", type="fanout"), node("dlx-q", "amqp_exchange", type="fanout"),
             node("dlq-p", "amqp_queue"), node("dlq-q", "amqp_queue"), node("ae", "amqp_exchange", type="fanout"),
             node("lost", "amqp_queue"), node("lim-x", "amqp_exchange", type="direct"),
             node("pub-x", "amqp_publisher", rate=0),
             node("p1", "amqp_policy", pattern="lim", apply_to="queues", priority=1, max_length=3,
                  overflow="drop-head", dead_letter_exchange="dlx-p", message_ttl_ms=60000),
             node("p2", "amqp_policy", pattern="lim-b$", apply_to="queues", priority=5, max_length=4,
                  dead_letter_exchange="dlx-p"),
             node("p3", "amqp_policy", pattern="lim-x$", apply_to="exchanges", priority=9, alternate_exchange="ae")]
    edges = [edge("dlx-p", "dlq-p"), edge("dlx-q", "dlq-q"), edge("ae", "lost"), edge("pub-x", "lim-x")]
    for q, (params, args) in queues.items():
        broker.queue(q, **args)
        nodes += [node(q, "amqp_queue", **params), node(f"pub-{q}", "amqp_publisher", rate=0)]
        edges.append(edge(f"pub-{q}", q))
        if q == "lim-d":
            edges.append(edge(q, "dlx-q"))
    rename = {"dlx-p": dlx_p, "dlx-q": dlx_q, **{q: broker.name(q) for q in queues}}
    broker.set_policy("p1", "lim", {"max-length": 3, "overflow": "drop-head", "dead-letter-exchange": dlx_p,
                                    "message-ttl": 60000}, priority=1, apply_to="queues")
    broker.set_policy("p2", "lim-b$", {"max-length": 4, "dead-letter-exchange": dlx_p}, priority=5,
                      apply_to="queues")
    broker.set_policy("p3", "lim-x$", {"alternate-exchange": ae}, priority=9, apply_to="exchanges")
    time.sleep(1.0)  # queues pick up policy changes asynchronously
    run = EngineRun(nodes, edges)
    broker.ch.confirm_delivery()
    for i in range(6):
        for q in queues:
            if q == "lim-e" and i >= 2:
                continue  # two messages: below the limit, they only expire (TTL: the lower, 20 ms)
            confirmed(broker, broker.name(q), f"{q}-{i}")
            run.publish(f"pub-{q}", f"{q}-{i}")
    broker.publish(main, "nobody", "x-0")
    run.publish("pub-x", "x-0", key="nobody")
    time.sleep(0.3)
    run.sim.advance(0.3)
    applied = dict(line.split("\t")[:2] for line in ctl("list_queues", "name", "policy").splitlines()
                   if line.startswith(broker.prefix))
    assert {q: run.sim.metrics()["nodes"][q]["policy"] for q in queues} == {
        q: applied[broker.name(q)].removeprefix(broker.prefix + ".") for q in queues}
    for q in queues:
        assert run.bodies(q) == broker.bodies(broker.name(q)), q
    for dlq in ("dlq-p", "dlq-q"):
        real = broker.drain(broker.name(dlq))
        assert sorted(run.bodies(dlq)) == sorted(b for b, _, _ in real), dlq
        by_body = {b: props for b, _, props in real}
        for entry in run.entries(dlq):
            assert engine_xdeath(entry.msg, rename) == xdeath(by_body[run.names[entry.msg.uid]].headers)
    assert run.bodies("lost") == broker.bodies(lost) == ["x-0"]
    assert run.bodies("lim-b") == ["lim-b-2", "lim-b-3", "lim-b-4", "lim-b-5"]  # p2's 4, not p1's 3
    assert run.bodies("lim-c") == ["lim-c-0", "lim-c-1"]  # its own 2 and reject-publish


# -- direct reply-to -------------------------------------------------------------------------

def test_direct_reply_to_matches_the_broker(broker: Broker) -> None:
    """"Direct Reply-to": the requester consumes amq.rabbitmq.reply-to with no-ack and sends
    requests with reply_to amq.rabbitmq.reply-to; the server sees a generated
    amq.rabbitmq.reply-to.* address and publishes its reply there through the default
    exchange; replies arrive in order, with no queue. Replies to a requester whose channel has
    closed are dropped. The engine's requester gets the same replies in the same order and
    loses the same ones."""
    rpc = broker.queue("rpc")
    client = broker.conn.channel()
    replies: list[str] = []
    client.basic_consume("amq.rabbitmq.reply-to", lambda c, m, p, b: replies.append(p.correlation_id),
                         auto_ack=True)
    for i in range(3):
        client.basic_publish("", rpc, b"req", pika.BasicProperties(reply_to="amq.rabbitmq.reply-to",
                                                                   correlation_id=str(i)))
    broker.settle(0.2)

    def serve(n: int) -> list[str]:
        addresses = []
        for _ in range(n):
            method, props, _ = broker.ch.basic_get(rpc, auto_ack=True)
            addresses.append(props.reply_to)
            answer = pika.BasicProperties(correlation_id=props.correlation_id)
            broker.ch.basic_publish("", props.reply_to, b"resp", answer)
        return addresses

    addresses = serve(3)
    broker.wait_for(lambda: len(replies) >= 3)
    assert all(a.startswith("amq.rabbitmq.reply-to.") for a in addresses) and len(set(addresses)) == 1
    for i in range(2):
        client.basic_publish("", rpc, b"req", pika.BasicProperties(reply_to="amq.rabbitmq.reply-to",
                                                                   correlation_id=f"late-{i}"))
    broker.settle(0.2)
    client.close()  # the requester goes away before the replies
    serve(2)
    again = broker.conn.channel()
    late: list[str] = []
    again.basic_consume("amq.rabbitmq.reply-to", lambda c, m, p, b: late.append(p.correlation_id), auto_ack=True)
    broker.settle(0.5)
    again.close()

    run = EngineRun([node("client", "amqp_publisher", rate=0, reply_to="amq.rabbitmq.reply-to"),
                     node("rpc", "amqp_queue"),
                     node("server", "amqp_consumer", consumers=1, prefetch=1, processing_ms=10)],
                    [edge("client", "rpc"), edge("rpc", "server")])
    for i in range(3):
        run.publish("client", str(i))
    run.sim.advance(2.0)
    for i in range(2):
        run.publish("client", f"late-{i}")
    run.sim.apply({"op": "reconnect", "node": "client"})
    run.sim.advance(2.0)
    m = run.sim.metrics()["nodes"]["client"]
    assert [run.names[uid] for uid in m["recent_replies"]] == replies == ["0", "1", "2"]
    assert m["replies_lost"] == 2 and late == []


def test_expires_from_a_policy_takes_the_lower_for_classic_and_the_policy_for_quorum(broker: Broker) -> None:
    """x-expires 400 ms declared, policy expires 60 s: a classic queue takes the lower value
    (res_min) and is deleted; a quorum queue takes the policy's (policyHasPrecedence) and stays."""
    need_rabbitmqctl()
    classic = broker.queue("exp-c", **{"x-expires": 400})
    quorum = broker.queue("exp-q", **{"x-expires": 400, "x-queue-type": "quorum"})
    broker.set_policy("long", "exp-", {"expires": 60000}, apply_to="queues")
    time.sleep(1.5)
    run = EngineRun([node("exp-c", "amqp_queue", expires_ms=400),
                     node("exp-q", "amqp_queue", queue_type="quorum", expires_ms=400),
                     node("long", "amqp_policy", pattern="exp-", apply_to="queues", expires_ms=60000)], [])
    run.sim.advance(1.5)
    exists = {}
    for q in (classic, quorum):
        ch = broker.conn.channel()
        try:
            ch.queue_declare(q, passive=True)
            exists[q] = True
            ch.close()
        except pika.exceptions.ChannelClosedByBroker:
            exists[q] = False
    engine_exists = {broker.name(q): not run.sim.metrics()["nodes"][q]["deleted"] for q in ("exp-c", "exp-q")}
    assert engine_exists == exists == {classic: False, quorum: True}
