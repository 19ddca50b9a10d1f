"""SNS subscription filter policies on message attributes (Amazon SNS Developer Guide)."""

import pytest

from playground.engine.sqs.filterpolicy import PolicyError, attribute_of, matches, parse_policy, summary


def attrs(**values):
    return {k: attribute_of(v) for k, v in values.items()}


def ok(policy, **values):
    return matches(parse_policy(policy), attrs(**values))


def test_exact_string_matches_equal_value_only_and_is_case_sensitive():
    """"String value matching", exact matching; "Filter policy constraints": case-sensitive."""
    policy = {"customer_interests": ["rugby", "tennis"]}
    assert ok(policy, customer_interests="rugby") and ok(policy, customer_interests="tennis")
    assert not ok(policy, customer_interests="baseball")
    assert not ok(policy, customer_interests="Rugby")


def test_string_array_attribute_matches_when_any_element_matches():
    """"String value matching": for String.Array each element is a separate string."""
    assert ok({"customer_interests": ["rugby"]}, customer_interests='["rugby", "tennis"]')
    assert not ok({"customer_interests": ["rugby"]}, customer_interests='["baseball"]')


def test_anything_but_matches_other_values_and_arrays_with_one_other_value():
    """"String/Numeric value matching", anything-but: [100, 50] passes anything-but [100, 500]."""
    assert ok({"c": [{"anything-but": ["rugby", "tennis"]}]}, c="baseball")
    assert not ok({"c": [{"anything-but": ["rugby", "tennis"]}]}, c="rugby")
    assert ok({"price": [{"anything-but": [100, 500]}]}, price="101")
    assert not ok({"price": [{"anything-but": [100, 500]}]}, price="100")
    assert ok({"price": [{"anything-but": [100, 500]}]}, price="[100, 50]")


def test_anything_but_does_not_match_a_missing_attribute():
    """"Amazon SNS subscription filter policies": each policy name must match a message attribute."""
    assert not ok({"c": [{"anything-but": "rugby"}]}, other="x")


def test_prefix_suffix_and_anything_but_prefix():
    """"String value matching": prefix, suffix, anything-but with a prefix."""
    assert ok({"event": [{"prefix": "order-"}]}, event="order-placed")
    assert not ok({"event": [{"prefix": "order-"}]}, event="refund-order-")
    assert ok({"event": [{"suffix": ".png"}]}, event="a.png")
    assert ok({"event": [{"anything-but": {"prefix": "order-"}}]}, event="refund")
    assert not ok({"event": [{"anything-but": {"prefix": "order-"}}]}, event="order-paid")


def test_numeric_equality_and_ranges():
    """"Numeric value matching": = matches 301.5 and 3.015e2; > 0, <= 150 is positive up to 150."""
    assert ok({"price_usd": [{"numeric": ["=", 301.5]}]}, price_usd="3.015e2")
    rng = {"price_usd": [{"numeric": [">", 0, "<=", 150]}]}
    assert ok(rng, price_usd="150") and ok(rng, price_usd="0.01")
    assert not ok(rng, price_usd="0") and not ok(rng, price_usd="150.5")
    assert not ok({"p": [{"numeric": ["<", 0]}]}, p="abc")  # a String is not a Number


def test_numbers_compare_to_five_decimal_places():
    """"Filter policy constraints": five digits of accuracy after the decimal point."""
    assert ok({"p": [{"numeric": ["=", 1.000001]}]}, p="1.0")


def test_exists_true_and_false_and_false_needs_some_attribute():
    """"Key matching": exists false only matches if at least one attribute is present."""
    assert ok({"store": [{"exists": True}]}, store="fans")
    assert not ok({"store": [{"exists": True}]}, other="x")
    assert ok({"store": [{"exists": False}]}, other="x")
    assert not ok({"store": [{"exists": False}]}, store="fans")
    assert not matches(parse_policy({"store": [{"exists": False}]}), {})


def test_and_across_attributes_or_within_an_array():
    """"AND/OR logic": every policy name must match (AND); any value of its array (OR)."""
    policy = {"event": ["order_placed", "order_paid"], "price": [{"numeric": [">=", 100]}]}
    assert ok(policy, event="order_paid", price="120")
    assert not ok(policy, event="order_paid", price="20")
    assert not ok(policy, event="order_placed")
    assert ok(policy, event="order_placed", price="100", ignored="anything")


def test_no_policy_or_empty_text_accepts_everything():
    """"Amazon SNS message filtering": without a filter policy a subscriber receives every message."""
    assert parse_policy("") is None and parse_policy("  ") is None
    assert matches(None, {})


@pytest.mark.parametrize(("policy", "message"), [
    ('{"a": ["x"], "b": ["x"], "c": ["x"], "d": ["x"], "e": ["x"], "f": ["x"]}', "at most 5"),
    ({"a": list(range(11)), "b": list(range(14))}, "154 combinations"),
    ({"p": [{"numeric": [">", 2e9]}]}, "outside"),
    ({"p": [{"numeric": ["<", 5, ">", 1]}]}, "lower bound"),
    ({"p": "x"}, "non-empty array"),
    ({"p": [{"wildcard": "x*"}]}, "unknown operator"),
    ("{not json", "not valid JSON"),
])
def test_policies_sns_would_refuse_are_refused_with_a_reason(policy, message):
    """"Filter policy constraints": at most 5 names, 150 combinations, numbers within ±1e9."""
    with pytest.raises(PolicyError, match=message):
        parse_policy(policy)


def test_summary_reads_like_the_policy():
    assert summary(parse_policy({"event": ["order_placed"], "price": [{"numeric": [">=", 100]}]})) \
        == "event=order_placed · price=>=100"
    assert summary(None) == "all messages"
