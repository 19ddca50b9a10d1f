"""Exchange routing rules (routing.py), each against RabbitMQ's documented behaviour."""

from playground.engine.rabbitmq.routing import Binding, Exchange, headers_match, route, topic_matches


def test_topic_star_matches_exactly_one_word():
    """Tutorial 5 "Topics": * (star) can substitute for exactly one word."""
    assert topic_matches("*.x", "a.x")
    assert not topic_matches("*.x", "x")
    assert not topic_matches("*.x", "a.b.x")


def test_topic_hash_matches_zero_or_more_words():
    """Tutorial 5 "Topics": # (hash) can substitute for zero or more words."""
    assert topic_matches("a.#.b", "a.b")
    assert topic_matches("a.#.b", "a.x.y.b")
    assert not topic_matches("a.#.b", "a.b.c")
    assert topic_matches("#.b", "b")


def test_topic_hash_alone_matches_every_key_even_the_empty_one():
    """A binding of "#" receives every message, like a fanout exchange (Tutorial 5)."""
    for key in ("", "a", "a.b.c", "..", "a..b"):
        assert topic_matches("#", key)


def test_topic_empty_key_has_no_word():
    """rabbit_exchange_type_topic splits the empty key into no word: * does not match it, "" does."""
    assert not topic_matches("*", "")
    assert topic_matches("", "")
    assert not topic_matches("", "a")


def test_topic_empty_words_are_words():
    """"a..b" has three words, the middle one empty; * matches it."""
    assert topic_matches("a.*.b", "a..b")
    assert not topic_matches("a.b", "a..b")


def test_headers_all_needs_every_binding_header_equal():
    """Headers exchange, x-match=all: all pairs must match."""
    binding = {"format": "pdf", "type": "report"}
    assert headers_match("all", binding, {"format": "pdf", "type": "report", "extra": "1"})
    assert not headers_match("all", binding, {"format": "pdf"})


def test_headers_any_needs_one_binding_header_equal():
    """Headers exchange, x-match=any: at least one pair must match."""
    assert headers_match("any", {"format": "pdf", "type": "log"}, {"type": "log"})
    assert not headers_match("any", {"format": "pdf"}, {"format": "zip"})


def test_headers_binding_arguments_starting_with_x_are_ignored_unless_with_x():
    """x- binding arguments take no part in matching; all-with-x / any-with-x (3.10) compare them."""
    assert headers_match("all", {"format": "pdf", "x-tenant": "acme"}, {"format": "pdf"})
    assert not headers_match("any", {"x-tenant": "acme"}, {"x-tenant": "acme"})
    assert headers_match("any-with-x", {"x-tenant": "acme"}, {"x-tenant": "acme"})
    assert not headers_match("all-with-x", {"format": "pdf", "x-tenant": "acme"}, {"format": "pdf"})


def test_headers_all_over_no_header_matches_everything():
    assert headers_match("all", {}, {})
    assert headers_match("all", {}, {"a": "b"})


def test_fanout_ignores_the_key_and_direct_compares_it_exactly():
    exchanges = {"f": Exchange("f", "fanout", (Binding("q1", "x"), Binding("q2", "y"))),
                 "d": Exchange("d", "direct", (Binding("q1", "a.b"), Binding("q2", "a.*")))}
    assert route(exchanges, "f", "anything", None) == ["q1", "q2"]
    assert route(exchanges, "d", "a.b", None) == ["q1"]
    assert route(exchanges, "d", "a.c", None) == []


def test_a_queue_matched_by_two_bindings_gets_one_copy():
    """A message is routed to a set of queues: one copy per queue however many bindings match."""
    exchanges = {"t": Exchange("t", "topic", (Binding("q", "a.*"), Binding("q", "#"), Binding("r", "#")))}
    assert route(exchanges, "t", "a.b", None) == ["q", "r"]


def test_exchange_to_exchange_bindings_are_followed_and_cycles_end():
    exchanges = {"a": Exchange("a", "fanout", (Binding("b"),)),
                 "b": Exchange("b", "fanout", (Binding("a"), Binding("q")))}
    via: dict[str, str] = {}
    assert route(exchanges, "a", "k", None, via) == ["q"]
    assert via == {"b": "a", "q": "b"}


def test_unroutable_messages_go_to_the_alternate_exchange():
    """"Alternate Exchanges": messages an exchange cannot route go to its alternate exchange."""
    exchanges = {"main": Exchange("main", "direct", (Binding("orders", "orders"),), alternate="ae"),
                 "ae": Exchange("ae", "fanout", (Binding("lost"),))}
    assert route(exchanges, "main", "orders", None) == ["orders"]
    assert route(exchanges, "main", "refunds", None) == ["lost"]


def test_headers_argument_without_a_value_matches_when_the_header_is_present():
    """rabbit_exchange_type_headers headers_match/5: a pattern field of type void ("no value")
    means simple presence of the data field, whatever its value."""
    assert headers_match("all", {"format": None}, {"format": "zip"})
    assert headers_match("all", {"format": None}, {"format": ""})
    assert not headers_match("all", {"format": None}, {"type": "log"})
    assert not headers_match("all", {"format": None, "type": "report"}, {"format": "pdf", "type": "log"})
    assert headers_match("any", {"format": None, "type": "report"}, {"type": "report"})
    assert headers_match("any", {"format": None, "type": "report"}, {"format": "x"})
    assert not headers_match("any", {"format": None}, {})


def test_presence_only_x_arguments_count_only_with_x():
    """x- arguments without a value are skipped by all / any and compared by the -with-x kinds."""
    assert headers_match("all", {"x-trace": None}, {})
    assert not headers_match("any", {"x-trace": None}, {"x-trace": "1"})
    assert headers_match("any-with-x", {"x-trace": None}, {"x-trace": "1"})
    assert not headers_match("all-with-x", {"x-trace": None, "format": None}, {"format": "pdf"})
    assert headers_match("all-with-x", {"x-trace": None, "format": None}, {"format": "pdf", "x-trace": ""})


def test_binding_present_edge_parameter_builds_presence_only_arguments():
    """The edge's binding_present names become void binding arguments beside binding_headers."""
    from tests.engine.rabbitmq.factories import edge, node, sim

    s = sim([node("pub", "amqp_publisher", rate=0), node("h", "amqp_exchange", type="headers"),
             node("q", "amqp_queue")],
            [edge("pub", "h"), edge("h", "q", x_match="all", binding_headers={"type": "report"},
                                     binding_present="format, x-trace")])
    assert dict(s.components["h"].definition.bindings[0].headers) == {"type": "report", "format": None,
                                                                      "x-trace": None}
    s.apply({"op": "publish", "node": "pub", "headers": {"type": "report", "format": "zip"}})
    s.apply({"op": "publish", "node": "pub", "headers": {"type": "report"}})
    assert s.metrics()["nodes"]["q"]["ready"] == 1
