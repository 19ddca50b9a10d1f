from playground.engine.registry import Param


def test_string_params_are_bounded_in_length():
    p = Param("routing_key", "Routing key", "string", "", max_length=5)
    assert p.coerce("a.b") == ("a.b", None)
    assert p.coerce("abcdef") == (None, "must be at most 5 characters")
    assert p.coerce(3) == (None, "must be text")


def test_map_params_accept_objects_and_key_value_text_from_forms():
    p = Param("headers", "Headers", "map", {})
    assert p.coerce({"format": "pdf"}) == ({"format": "pdf"}, None)
    assert p.coerce("format=pdf, type = report\nx=") == ({"format": "pdf", "type": "report", "x": ""}, None)
    assert p.coerce("oops") == (None, "'oops' is not key=value")
    assert p.coerce({"n": 1}) == (None, "keys and values must be text")


def test_declarations_are_json_ready_for_the_palette():
    p = Param("headers", "Headers", "map", {})
    assert p.to_dict()["kind"] == "map" and p.json_schema()["type"] == "object"
