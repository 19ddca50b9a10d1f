"""Amazon SNS topics fanning out to SQS queues, with subscription filter policies."""

import json

import pytest

from playground import engine
from playground.engine.sqs import rules
from tests.engine.sqs.factories import conserved, doc, edge, node, sim, stream

ORDERS = json.dumps({"event": ["order_placed"]})
BIG = json.dumps({"price": [{"numeric": [">=", 100]}]})


def fanout(*policies, raw=(False, False, False)):
    nodes = [node("p", "sqs_producer", rate=0), node("t", "sns_topic")]
    edges = [edge("p", "t")]
    for i, policy in enumerate(policies):
        nodes.append(node(f"q{i}", "sqs_queue"))
        edges.append(edge("t", f"q{i}", filter_policy=policy, raw_message_delivery=raw[i]))
    return sim(nodes, edges)


def publish(s, n=1, **attributes):
    s.apply({"op": "send", "node": "p", "count": n, "attributes": attributes})


def test_each_subscribed_queue_gets_its_own_copy():
    """"Fanout to Amazon SQS queues": each subscribed queue receives a copy of every message."""
    s = fanout("", "", "")
    publish(s, 5)
    assert [stream(s, queue=f"q{i}")["waiting"] for i in range(3)] == [5, 5, 5]
    assert stream(s, topic="t") == {"topic": "t", "produced": 5, "acknowledged": 5, "in_flight": 0,
                                    "waiting": 0, "dead_lettered": 0, "dropped": {}}


def test_a_filter_policy_selects_the_copies_a_subscription_gets():
    """"Amazon SNS message filtering": a subscriber with a filter policy receives only the
    messages whose attributes satisfy it."""
    s = fanout(ORDERS, BIG, "")
    publish(s, 1, event="order_placed", price="20")
    publish(s, 1, event="order_cancelled", price="250")
    assert [stream(s, queue=f"q{i}")["produced"] for i in range(3)] == [1, 1, 2]
    subs = s.metrics()["nodes"]["t"]["subscriptions"]
    assert [(x["matched"], x["filtered_out"]) for x in subs] == [(1, 1), (1, 1), (2, 0)]
    assert subs[0]["filter"] == "event=order_placed"


def test_a_message_no_subscription_accepts_is_counted_as_no_matching_subscription():
    """Filtered out everywhere: SNS delivers it nowhere; counted with its reason, not hidden."""
    s = fanout(ORDERS, BIG)
    publish(s, 3, event="refund", price="1")
    st = stream(s, topic="t")
    assert st["dropped"] == {rules.DROP_NO_MATCH: 3} and conserved(st)
    assert s.metrics()["nodes"]["t"]["no_match"] == 3


def test_a_topic_without_subscriptions_drops_with_a_reason():
    s = sim([node("p", "sqs_producer", rate=10), node("t", "sns_topic")], [edge("p", "t")])
    s.advance(2)
    assert stream(s, topic="t")["dropped"] == {rules.DROP_NO_SUBSCRIPTION: s.metrics()["sent"]}


def test_raw_message_delivery_is_per_subscription():
    """"Amazon SNS raw message delivery": set on a subscription; without it the queue gets the
    JSON envelope."""
    s = fanout("", "", raw=(True, False, False))
    publish(s, 2)
    assert s.metrics()["nodes"]["q0"]["via_sns"] == {"raw": 2, "envelope": 0}
    assert s.metrics()["nodes"]["q1"]["via_sns"] == {"raw": 0, "envelope": 2}


def test_a_filter_policy_may_be_given_as_an_object_and_is_kept_as_its_json_text():
    d = engine.parse_document(doc([node("t", "sns_topic"), node("q", "sqs_queue")],
                                  [edge("t", "q", filter_policy={"event": ["a"]})]))
    assert d.edges[0].params["filter_policy"] == '{"event":["a"]}'


def test_an_invalid_filter_policy_is_refused_naming_the_edge():
    """"Filter policy constraints": SNS refuses a policy with more than 5 attribute names."""
    policy = {k: ["x"] for k in "abcdef"}
    with pytest.raises(engine.DocumentError) as caught:
        engine.parse_document(doc([node("t", "sns_topic"), node("q", "sqs_queue")],
                                  [edge("t", "q", filter_policy=policy)]))
    assert caught.value.errors[0].path == "edges[0].params.filter_policy"
    assert "at most 5" in caught.value.errors[0].message


def test_a_fifo_queue_cannot_subscribe_to_a_standard_topic():
    """"Amazon SNS FIFO topics": SQS FIFO queues subscribe to FIFO topics; standard topics deliver
    to standard queues."""
    with pytest.raises(engine.DocumentError, match="cannot subscribe to a standard SNS topic"):
        engine.parse_document(doc([node("t", "sns_topic"), node("q", "sqs_queue", queue_type="fifo")],
                                  [edge("t", "q")]))


def test_poison_messages_fail_in_every_queue_they_reach():
    """A copy delivered by SNS is the same message: a poison message fails in each queue."""
    nodes = [node("p", "sqs_producer", rate=20), node("t", "sns_topic"),
             node("q0", "sqs_queue", visibility_timeout_s=1, max_receive_count=1),
             node("c0", "sqs_consumer", poison_rate=0.2, processing_ms=1),
             node("d0", "sqs_queue")]
    s = sim(nodes, [edge("p", "t"), edge("t", "q0"), edge("q0", "c0"), edge("q0", "d0")])
    s.advance(10)
    assert s.metrics()["nodes"]["d0"]["count"] > 0
    for st in s.streams():
        assert conserved(st)
