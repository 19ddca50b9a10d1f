import pytest

from playground.engine.redisx.pubsub import Subscription, deliveries, glob_match


@pytest.mark.parametrize(("pattern", "channel", "matches"), [
    ("news.*", "news.eu", True),
    ("news.*", "news", False),
    ("h?llo", "hello", True),
    ("h?llo", "hllo", False),
    ("h[ae]llo", "hallo", True),
    ("h[^e]llo", "hello", False),
    ("h[a-b]llo", "hbllo", True),
    ("h[b-a]llo", "hbllo", True),
    ("a\\*", "a*", True),
    ("a\\*", "ab", False),
    ("*b*", "b", True),
])
def test_glob_patterns_follow_redis_stringmatch(pattern, channel, matches):
    """PSUBSCRIBE glob-style patterns (util.c stringmatchlen): * ? [..] [^..] [a-z] and escapes."""
    assert glob_match(pattern, channel) is matches


def test_publish_reaches_only_connected_subscribers():
    """PUBLISH is fire and forget: only clients subscribed at that moment receive it."""
    subs = [Subscription("a", channel="orders"), Subscription("b", channel="orders")]
    assert [d.client for d in deliveries("orders", subs, {"a"})] == ["a"]


def test_client_with_channel_and_matching_pattern_gets_the_message_twice():
    """A client subscribed by name and by a matching pattern gets a message and a pmessage."""
    subs = [Subscription("a", pattern="ord*"), Subscription("a", channel="orders")]
    assert [(d.client, d.kind) for d in deliveries("orders", subs, {"a"})] == [("a", "message"), ("a", "pmessage")]


def test_pattern_that_does_not_match_receives_nothing():
    """PSUBSCRIBE: only channels matching the pattern are delivered."""
    assert deliveries("orders", [Subscription("a", pattern="news.*")], {"a"}) == []
