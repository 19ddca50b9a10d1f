"""x-death bookkeeping and cycle detection (deadletter.py), as RabbitMQ 3.10 does them."""

from playground.engine.rabbitmq.deadletter import Death, dead_letter_routing_keys, first_death, is_cycle, record_death


def test_first_death_adds_an_entry_with_count_one():
    """"Dead Letter Exchanges": the x-death header gets queue, reason, count, exchange, routing-keys, time."""
    deaths = record_death((), "work", "rejected", "orders", ("order.created",), 1.5)
    assert deaths == (Death("work", "rejected", 1, "orders", ("order.created",), 1.5),)
    assert first_death(deaths).queue == "work"


def test_same_queue_and_reason_increments_count_and_moves_to_the_front():
    deaths = record_death((), "work", "rejected", "", ("work",), 1.0)
    deaths = record_death(deaths, "retry", "expired", "retry-x", ("work",), 2.0)
    deaths = record_death(deaths, "work", "rejected", "", ("work",), 3.0)
    assert [(d.queue, d.reason, d.count) for d in deaths] == [("work", "rejected", 2), ("retry", "expired", 1)]
    assert deaths[0].time == 1.0  # 3.10 keeps the first occurrence's fields
    assert first_death(deaths).queue == "retry"  # the oldest entry is last


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
