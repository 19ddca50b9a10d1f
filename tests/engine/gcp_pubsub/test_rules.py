"""Pub/Sub rules as pure functions and document validation, each against the documented rule."""

import pytest

from playground import engine
from playground.engine.gcp_pubsub import rules
from tests.engine.gcp_pubsub.factories import pubsub_doc


def _errors(**kw):
    with pytest.raises(engine.DocumentError) as caught:
        engine.parse_document(pubsub_doc(**kw))
    return {e.path: e.message for e in caught.value.errors}


def test_ack_deadline_must_be_between_10_and_600_seconds():
    """API reference, Subscription.ack_deadline_seconds: minimum custom deadline 10 s, maximum 600 s."""
    assert "nodes[2].params.ack_deadline_s" in _errors(ack_deadline_s=5)
    assert "nodes[2].params.ack_deadline_s" in _errors(ack_deadline_s=601)
    assert rules.ack_deadline_error(10) is None and rules.ack_deadline_error(600) is None


def test_max_delivery_attempts_must_be_between_5_and_100():
    """API reference, DeadLetterPolicy.max_delivery_attempts: "The value must be between 5 and 100"."""
    assert "nodes[2].params.max_delivery_attempts" in _errors(max_delivery_attempts=4)
    assert rules.max_delivery_attempts_error(5) is None and rules.max_delivery_attempts_error(100) is None
    assert rules.max_delivery_attempts_error(0) is None  # no dead-letter policy


def test_exactly_once_delivery_is_refused_on_a_push_subscription():
    """"Exactly-once delivery": only the pull subscription type supports exactly-once delivery."""
    assert "exactly-once" in _errors(delivery="push", exactly_once=True)["nodes[2].params.exactly_once"]


def test_exponential_retry_waits_min_backoff_first_then_longer_up_to_max():
    """"Handle message failures", Retry policy: min backoff after the first failure, progressively longer
    delays after consecutive failures, never more than max backoff; immediate redelivery waits nothing."""
    delays = [rules.retry_delay("exponential", 10, 60, n) for n in range(1, 6)]
    assert delays == [10, 20, 40, 60, 60]
    assert rules.retry_delay("immediate", 10, 60, 3) == 0


def test_dead_letter_once_delivery_attempts_reach_the_maximum():
    """DeadLetterPolicy: attempts = 1 + nacks + deadline expiries; forwarded after max attempts."""
    assert not rules.dead_letter_due(4, 5)
    assert rules.dead_letter_due(5, 5)
    assert not rules.dead_letter_due(50, 0)


def test_push_window_grows_on_success_and_shrinks_on_failure():
    """"Push subscriptions", Delivery rate: slow start from a small single-digit window; the window
    increases on any successful delivery and decreases on any failure."""
    assert rules.PUSH_WINDOW_START < 10
    assert rules.push_window_after(3, True) == 4
    assert rules.push_window_after(8, False) < 8 and rules.push_window_after(1, False) == 1


def test_push_backoff_ranges_from_100_ms_to_60_s():
    """"Push subscriptions", Push backoff: between 100 milliseconds and 60 seconds."""
    assert rules.push_backoff(1) == pytest.approx(0.1)
    assert rules.push_backoff(4) == pytest.approx(0.8)
    assert rules.push_backoff(40) == 60.0


def test_flow_control_lets_one_oversized_message_through_but_no_more():
    """"Flow control" (subscriber): max outstanding messages / bytes; a message larger than the byte limit
    is still delivered when nothing is outstanding."""
    assert rules.may_take(0, 0, 5000, 10, 1000)
    assert not rules.may_take(1, 500, 600, 10, 1000)
    assert not rules.may_take(10, 0, 1, 10, 0)
