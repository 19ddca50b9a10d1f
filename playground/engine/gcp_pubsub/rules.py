"""Pub/Sub's rules as small pure functions, each naming the documented rule it follows.

Citations are to Google Cloud's Pub/Sub documentation pages (titles and sections) and to the
google.pubsub.v1 API reference (field descriptions).
"""

from __future__ import annotations

ACK_DEADLINE_MIN = 10
ACK_DEADLINE_MAX = 600
MAX_DELIVERY_ATTEMPTS_MIN = 5
MAX_DELIVERY_ATTEMPTS_MAX = 100
BACKOFF_MAX = 600.0
PUSH_BACKOFF_MIN = 0.1
PUSH_BACKOFF_MAX = 60.0
PUSH_WINDOW_START = 3
PUSH_WINDOW_MAX = 1000


def ack_deadline_error(seconds: int) -> str | None:
    """API reference, Subscription.ack_deadline_seconds: "The minimum custom deadline you can
    specify is 10 seconds. The maximum custom deadline you can specify is 600 seconds"."""
    if not ACK_DEADLINE_MIN <= seconds <= ACK_DEADLINE_MAX:
        return f"must be between {ACK_DEADLINE_MIN} and {ACK_DEADLINE_MAX} seconds"
    return None


def max_delivery_attempts_error(attempts: int) -> str | None:
    """API reference, DeadLetterPolicy.max_delivery_attempts: "The value must be between 5 and
    100" (0 here: no dead-letter policy)."""
    if attempts != 0 and not MAX_DELIVERY_ATTEMPTS_MIN <= attempts <= MAX_DELIVERY_ATTEMPTS_MAX:
        return (f"must be 0 (no dead-letter policy) or between {MAX_DELIVERY_ATTEMPTS_MIN} and "
                f"{MAX_DELIVERY_ATTEMPTS_MAX}")
    return None


def exactly_once_error(delivery: str, exactly_once: bool) -> str | None:
    """"Exactly-once delivery": "Only the pull subscription type supports exactly-once
    delivery"."""
    if exactly_once and delivery == "push":
        return "exactly-once delivery is supported by pull subscriptions only"
    return None


def dead_letter_due(attempts: int, max_delivery_attempts: int) -> bool:
    """DeadLetterPolicy.max_delivery_attempts: delivery attempts = 1 + NACKs + ack deadline
    expiries; once a message has failed that many delivery attempts it is forwarded to the
    dead-letter topic instead of being delivered again."""
    return max_delivery_attempts > 0 and attempts >= max_delivery_attempts


def retry_delay(policy: str, minimum: float, maximum: float, attempts: int) -> float:
    """"Handle message failures", Retry policy: immediate redelivery, or exponential backoff
    that waits ``minimum`` after the first failure and adds progressively longer delays after
    each consecutive failure of the message, up to ``maximum`` (both 0..600 s; defaults 10 s
    and 600 s). The doubling is the playground's reading of "exponential"."""
    if policy == "immediate":
        return 0.0
    if attempts <= 0:
        return 0.0
    return float(min(maximum, minimum * (2.0 ** min(attempts - 1, 30))))


def push_window_after(window: int, success: bool) -> int:
    """"Push subscriptions", Delivery rate: the number of concurrent push requests (the push
    window) grows on every successful delivery and shrinks on every failure, starting from a
    small single-digit window (slow start). +1 / halve is the playground's reading."""
    if success:
        return min(PUSH_WINDOW_MAX, window + 1)
    return max(1, window // 2)


def push_backoff(consecutive_failures: int) -> float:
    """"Push subscriptions", Push backoff: after failures Pub/Sub stops pushing for a while,
    from 100 milliseconds up to 60 seconds, then resumes."""
    if consecutive_failures <= 0:
        return 0.0
    return min(PUSH_BACKOFF_MAX, PUSH_BACKOFF_MIN * (2.0 ** min(consecutive_failures - 1, 30)))


def may_take(outstanding: int, outstanding_bytes: int, size: int, max_messages: int, max_bytes: int) -> bool:
    """Client flow control ("Flow control", subscriber): the client stops asking for messages
    while it holds max outstanding messages or bytes (0: no limit); a single message larger
    than the byte limit is still let through when nothing is outstanding."""
    if max_messages and outstanding >= max_messages:
        return False
    if max_bytes and outstanding and outstanding_bytes + size > max_bytes:
        return False
    return True
