"""Subscription filters, the Pub/Sub filter language ("Filter messages from a subscription"):
each operator as documented, the syntax Pub/Sub refuses, and a filtered subscription in a run
(messages that do not match are acknowledged by Pub/Sub at once, and counted)."""

from __future__ import annotations

import pytest

from playground import engine
from playground.engine.gcp_pubsub.filters import FilterError, matches, parse_filter
from tests.engine.gcp_pubsub.factories import conserved, pubsub_doc, run, stream

EU = {"region": "eu", "type": "order.created"}
US = {"region": "us"}


def accepts(text: str, attrs: dict[str, str] | None) -> bool:
    return matches(parse_filter(text), attrs)


def test_has_key_matches_messages_carrying_the_attribute():
    """``attributes:KEY``: the message has the attribute, whatever its value."""
    assert accepts("attributes:region", EU) and not accepts("attributes:type", US) and not accepts("attributes:a", None)


def test_equality_needs_the_key_with_exactly_that_value():
    """``attributes.KEY = "value"``: keys and values are case-sensitive."""
    assert accepts('attributes.region = "eu"', EU)
    assert not accepts('attributes.region = "EU"', EU) and not accepts('attributes.region = "eu"', {})


def test_not_equal_also_matches_messages_without_the_key():
    """``attributes.KEY != "value"`` is the negation of ``=`` (pstest filtering.go: not
    hasExpectedValue): a message without the attribute matches."""
    assert accepts('attributes.region != "eu"', US) and accepts('attributes.region != "eu"', {})
    assert not accepts('attributes.region != "eu"', EU)


def test_has_prefix_needs_the_key_and_a_value_starting_with_the_prefix():
    assert accepts('hasPrefix(attributes.type, "order.")', EU)
    assert not accepts('hasPrefix(attributes.type, "order.")', US)


def test_not_and_or_and_parentheses_combine_conditions():
    """NOT (or -), AND, OR, with parentheses to group."""
    assert accepts("NOT attributes:type", US) and accepts("-attributes:type", US)
    assert not accepts("-attributes:type", EU)
    text = '(attributes.region = "eu" OR attributes.region = "us") AND NOT attributes:type'
    assert accepts(text, US) and not accepts(text, EU) and not accepts(text, {"region": "asia"})


def test_keys_with_other_characters_are_string_literals_and_hyphens_are_allowed():
    assert accepts('attributes."iana.org/language_tag" = "en"', {"iana.org/language_tag": "en"})
    assert accepts('attributes.my-key = "1"', {"my-key": "1"})


@pytest.mark.parametrize("text", [
    'attributes:a AND attributes:b OR attributes:c',  # AND and OR mixed without parentheses
    'attributes.region = eu',  # a value must be a string literal
    'attributes.region == "eu"',
    'data = "x"',  # filters see attributes only
    '(attributes:a',
    'attributes:' + "k" * 260,  # over 256 bytes
])
def test_filters_pubsub_refuses_raise_an_error(text):
    with pytest.raises(FilterError):
        parse_filter(text)


def test_the_empty_filter_delivers_everything():
    assert parse_filter("  ") is None and matches(None, None)


def test_a_bad_filter_is_refused_with_the_field_named():
    doc = pubsub_doc(filter='attributes.region = eu')
    with pytest.raises(engine.DocumentError) as err:
        engine.parse_document(doc)
    assert any(e.path.endswith("params.filter") for e in err.value.errors)


def test_messages_not_matching_are_acknowledged_at_once_and_counted():
    """"Pub/Sub automatically acknowledges the messages that don't match the filter": only a
    third of the messages (region eu, one in three) reach the subscribers."""
    s = run(pubsub_doc(rate=90, filter='attributes.region = "eu"', attribute_values={"region": "eu|us|asia"},
                       dlq=False), 4)
    m = s.metrics()["nodes"]["sub"]
    st = stream(s, "sub")
    assert m["filtered"] > 0 and conserved(st)
    assert abs(m["filtered"] - 2 * (st["produced"] - m["filtered"])) <= 2
    assert s.metrics()["nodes"]["workers"]["processed"] <= st["produced"] - m["filtered"]
    assert st["acknowledged"] >= m["filtered"]
