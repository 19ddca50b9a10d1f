"""Policies (policy.py): which policy applies, and how its keys combine with queue arguments
(rabbit_policy match/2; rabbit_queue_type_util args_policy_lookup/3 with the resolvers of
rabbit_amqqueue_process, rabbit_quorum_queue and rabbit_stream_queue, RabbitMQ 3.10)."""

import pytest

from playground import engine
from playground.engine.rabbitmq.policy import Policy, effective_arguments, effective_policy, resolve
from tests.engine.rabbitmq.factories import edge, node, sim


def test_the_matching_policy_of_highest_priority_applies_and_apply_to_filters_kinds():
    low = Policy("low", "work", priority=1)
    high = Policy("high", "^work-b$", priority=5)
    exchanges = Policy("x", "work", apply_to="exchanges", priority=9)
    policies = [low, high, exchanges]
    assert effective_policy(policies, "work-a", "queue") is low
    assert effective_policy(policies, "work-b", "queue") is high
    assert effective_policy(policies, "work-b", "exchange") is exchanges
    assert effective_policy(policies, "orders", "queue") is None


def test_classic_queue_lower_limit_wins_and_queue_argument_wins_for_dead_lettering_and_overflow():
    """rabbit_amqqueue_process process_args_policy/1: res_min for expires, message-ttl,
    max-length, max-length-bytes; res_arg for dead-letter-exchange, -routing-key and overflow."""
    assert resolve("classic", "max-length", 5, 3) == 3
    assert resolve("classic", "max-length", 2, 3) == 2
    assert resolve("classic", "message-ttl", 100, 50) == 50
    assert resolve("classic", "expires", 1000, 5000) == 1000
    assert resolve("classic", "overflow", "reject-publish", "drop-head") == "reject-publish"
    assert resolve("classic", "dead-letter-exchange", "mine", "policy's") == "mine"
    assert resolve("classic", "dead-letter-exchange", None, "policy's") == "policy's"


def test_quorum_queue_policy_wins_for_overflow_and_expires():
    """rabbit_quorum_queue ra_machine_config/1: policyHasPrecedence for overflow and expires, min
    for the limits and delivery-limit, queueArgHasPrecedence for dead-lettering."""
    assert resolve("quorum", "overflow", "reject-publish", "drop-head") == "drop-head"
    assert resolve("quorum", "expires", 1000, 5000) == 5000
    assert resolve("quorum", "delivery-limit", 10, 3) == 3
    assert resolve("quorum", "dead-letter-strategy", "at-least-once", "at-most-once") == "at-least-once"


def test_stream_policy_wins_for_retention():
    """rabbit_stream_queue: policy_precedence for max-length-bytes and max-age."""
    assert resolve("stream", "max-length-bytes", 1000, 5000) == 5000
    assert effective_arguments("stream", {"max-age": 60.0}, Policy("p", ".*", definition={"max-age": 3600.0})) == {
        "max-age": 3600.0}


def test_keys_a_queue_type_does_not_take_from_policies_are_ignored():
    assert resolve("classic", "delivery-limit", None, 3) is None


def policy_doc(**policy):
    return ([node("pub", "amqp_publisher", rate=0), node("work", "amqp_queue", max_length=5),
             node("dlx", "amqp_exchange", type="fanout"), node("dead", "amqp_queue"),
             node("p", "amqp_policy", **policy)],
            [edge("pub", "work"), edge("dlx", "dead")])


def test_a_policy_node_sets_the_dead_letter_exchange_and_the_lower_max_length():
    nodes, edges = policy_doc(pattern="^work$", max_length=3, dead_letter_exchange="dlx")
    s = sim(nodes, edges)
    s.apply({"op": "publish", "node": "pub", "count": 5})
    m = s.metrics()["nodes"]
    assert m["work"]["ready"] == 3 and m["dead"]["count"] == 2
    assert m["work"]["policy"] == "p" and m["work"]["effective"]["max-length"] == 3
    assert m["p"]["applies_to"] == ["work"]


def test_a_policy_dead_letter_exchange_that_does_not_exist_drops_like_the_broker():
    nodes, edges = policy_doc(pattern="work", max_length=1, dead_letter_exchange="nowhere")
    s = sim(nodes, edges)
    s.apply({"op": "publish", "node": "pub", "count": 2})
    assert s.metrics()["dropped_total"] == 1


def test_a_policy_gives_an_exchange_its_alternate_exchange_unless_it_has_its_own():
    s = sim([node("pub", "amqp_publisher", rate=0), node("main", "amqp_exchange", type="direct"),
             node("ae", "amqp_exchange", type="fanout"), node("lost", "amqp_queue"),
             node("p", "amqp_policy", pattern="main", apply_to="exchanges", alternate_exchange="ae")],
            [edge("pub", "main"), edge("ae", "lost")])
    s.apply({"op": "publish", "node": "pub", "key": "nobody"})
    assert s.metrics()["nodes"]["lost"]["ready"] == 1


def test_a_bad_pattern_is_an_error_naming_the_field():
    with pytest.raises(engine.DocumentError) as err:
        engine.parse_document({"fanout": 1, "name": "t", "edges": [], "nodes": [
            {"id": "p", "type": "amqp_policy", "params": {"pattern": "(unclosed"}}]})
    assert err.value.errors[0].path == "nodes[0].params.pattern"
