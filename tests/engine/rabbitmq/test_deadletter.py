"""x-death bookkeeping and cycle detection (deadletter.py), as RabbitMQ 3.10 does them."""

from playground.engine.rabbitmq.deadletter import (
    Death,
    FirstDeath,
    dead_letter_routing_keys,
    first_death,
    is_cycle,
    record_death,
)
from tests.engine.rabbitmq.factories import edge, node, sim


def test_first_death_adds_an_entry_with_count_one():
    """"Dead Letter Exchanges": the x-death header gets queue, reason, count, exchange, routing-keys, time."""
    deaths = record_death((), "work", "rejected", "orders", ("order.created",), 1.5)
    assert deaths == (Death("work", "rejected", 1, "orders", ("order.created",), 1.5),)
    assert first_death(None, (), "work", "rejected", "orders") == FirstDeath("work", "rejected", "orders")


def test_same_queue_and_reason_increments_count_and_moves_to_the_front():
    deaths = record_death((), "work", "rejected", "", ("work",), 1.0)
    deaths = record_death(deaths, "retry", "expired", "retry-x", ("work",), 2.0)
    deaths = record_death(deaths, "work", "rejected", "", ("work",), 3.0)
    assert [(d.queue, d.reason, d.count) for d in deaths] == [("work", "rejected", 2), ("retry", "expired", 1)]
    assert deaths[0].time == 1.0  # 3.10 keeps the first occurrence's fields


def test_first_death_headers_are_set_once_and_never_change_when_entries_move():
    """rabbit_dead_letter update_x_death_header (3.10): x-first-death-queue/-reason/-exchange are
    set only when the message has no x-death yet; later deaths leave them alone, even when the
    first event's entry moves to the front and another entry becomes the oldest."""
    first = first_death(None, (), "work", "rejected", "orders")
    deaths = record_death((), "work", "rejected", "orders", ("k",), 1.0)
    first = first_death(first, deaths, "retry", "expired", "dlx")
    deaths = record_death(deaths, "retry", "expired", "dlx", ("k",), 2.0)
    first = first_death(first, deaths, "work", "rejected", "retry-x")
    deaths = record_death(deaths, "work", "rejected", "retry-x", ("k",), 3.0)
    assert deaths[-1].queue == "retry"  # the oldest remaining entry is no longer the first death
    assert first == FirstDeath("work", "rejected", "orders")


def test_a_message_dead_lettered_through_two_queues_and_back_keeps_its_first_death():
    """A expires (TTL) into B; B's message is got and rejected back to A; A expires it into B
    again: x-death is [A expired 2, B rejected 1] and x-first-death still says A, expired, from
    the exchange it was first published to."""
    s = sim([node("pub", "amqp_publisher", rate=0), node("in", "amqp_exchange", type="direct"),
             node("a", "amqp_queue", message_ttl_ms=50), node("to-b", "amqp_exchange", type="fanout"),
             node("b", "amqp_queue"), node("to-a", "amqp_exchange", type="fanout")],
            [edge("pub", "in"), edge("in", "a", binding_key="k"), edge("a", "to-b"), edge("to-b", "b"),
             edge("b", "to-a"), edge("to-a", "a")])
    s.apply({"op": "publish", "node": "pub", "key": "k"})
    s.advance(0.2)
    s.apply({"op": "get_messages", "node": "b", "ack_mode": "reject"})
    s.advance(0.2)
    s.apply({"op": "get_messages", "node": "b", "ack_mode": "ack"})
    got = s.metrics()["nodes"]["b"]["got"][-1]["headers"]
    deaths = [(d["queue"], d["reason"], d["count"]) for d in got["x-death"]]
    assert deaths == [("a", "expired", 2), ("b", "rejected", 1)]
    assert (got["x-first-death-queue"], got["x-first-death-reason"], got["x-first-death-exchange"]) == (
        "a", "expired", "in")


def test_expiry_back_to_the_same_queue_is_a_cycle():
    """A fully automatic cycle (no rejection) is dropped."""
    deaths = record_death((), "loop", "expired", "", ("loop",), 1.0)
    assert is_cycle("loop", deaths)


def test_retry_loop_through_a_rejection_is_not_a_cycle():
    """work rejects -> retry queue (TTL) expires back to work: a rejection in the cycle, so delivered."""
    deaths = record_death((), "work", "rejected", "", ("work",), 1.0)
    deaths = record_death(deaths, "retry", "expired", "dlx", ("work",), 2.0)
    assert not is_cycle("work", deaths)
    assert not is_cycle("elsewhere", deaths)


def test_dead_letter_routing_key_replaces_the_original_keys():
    assert dead_letter_routing_keys(("a.b",), "late") == ("late",)
    assert dead_letter_routing_keys(("a.b",), None) == ("a.b",)
