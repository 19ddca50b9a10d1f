import json
from html.parser import HTMLParser
from typing import Any

import pytest
from django.test import Client

from playground import engine


class Elements(HTMLParser):
    """Every start tag of a fragment, with its attributes, and the text of each field error."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.errors: dict[str, str] = {}
        self._error_field: str | None = None
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        self.tags.append((tag, attributes))
        if tag == "p" and attributes.get("class") == "field-error":
            self._error_field = attributes["data-field"]

    def handle_data(self, data: str) -> None:
        if self._error_field is not None:
            self.errors[self._error_field] = self.errors.get(self._error_field, "") + data

    def handle_endtag(self, tag: str) -> None:
        if tag == "p":
            self._error_field = None

    def form(self) -> dict[str, str | None]:
        forms = [attrs for tag, attrs in self.tags if tag == "form"]
        assert len(forms) == 1
        return forms[0]

    def fields(self, name: str) -> list[tuple[str, dict[str, str | None]]]:
        return [(tag, attrs) for tag, attrs in self.tags
                if tag in ("input", "select") and attrs.get("name") == name]

    def field(self, name: str) -> dict[str, str | None]:
        visible = [attrs for tag, attrs in self.fields(name) if attrs.get("type") != "hidden"]
        assert len(visible) == 1
        return visible[0]


def inspect(client: Client, type_name: str, **query: Any) -> Elements:
    response = client.get(f"/inspector/{type_name}/", query)
    assert response.status_code == 200
    html = response.content.decode().strip()
    assert html.startswith('<form class="inspector" id="inspector-form"')
    assert "<html" not in html and "<body" not in html
    return Elements(html)


def test_inspector_form_carries_the_node_and_its_params(client: Client) -> None:
    page = inspect(client, "producer", node_id="n1", label="Orders", rate="100", key_skew="0.5")
    form = page.form()
    assert form["id"] == "inspector-form"
    assert form["data-node-id"] == "n1"
    assert form["data-node-type"] == "producer"
    assert form["data-valid"] == "true"
    assert json.loads(form["data-params"] or "") == {
        "rate": 100.0, "keys": 100, "key_skew": 0.5, "linger_ms": 5.0,
    }
    assert form["hx-post"] == "/inspector/producer/"
    assert form["hx-trigger"] == "change"
    assert form["hx-target"] == "this"
    assert form["hx-swap"] == "outerHTML"
    hidden = {"type": "hidden", "name": "node_id", "value": "n1"}
    assert page.fields("node_id") == [("input", hidden)]
    assert page.field("label")["value"] == "Orders"
    assert page.field("rate")["value"] == "100"
    assert page.errors == {}


@pytest.mark.parametrize("node_type", engine.node_types(), ids=lambda t: t.name)
def test_inspector_has_one_field_per_declared_param(client: Client, node_type: Any) -> None:
    page = inspect(client, node_type.name, node_id="n1")
    assert json.loads(page.form()["data-params"] or "") == node_type.defaults()
    for param in node_type.params:
        attrs = page.field(param.name)
        if param.kind in ("int", "float"):
            assert attrs["type"] == "number"
            assert float(attrs["min"] or "nan") == param.min
            assert float(attrs["max"] or "nan") == param.max
            assert float(attrs["step"] or "nan") == param.step
            assert float(attrs["value"] or "nan") == param.default
        elif param.kind == "bool":
            assert attrs["type"] == "checkbox"
        else:
            assert any(tag == "select" for tag, _ in page.fields(param.name))


def test_inspector_shows_labels_units_and_help(client: Client) -> None:
    html = client.get("/inspector/consumer_group/").content.decode()
    group = engine.get_node_type("consumer_group")
    processing = group.param("processing_ms")
    assert processing.label in html
    assert f"({processing.unit})" in html
    assert processing.help in html


def test_out_of_bounds_value_is_refused_under_its_field(client: Client) -> None:
    page = inspect(client, "kafka_topic", node_id="t1", partitions="1000")
    form = page.form()
    assert form["data-valid"] == "false"
    assert page.errors == {"partitions": "must be at most 256"}
    assert page.field("partitions")["value"] == "1000"  # what was typed stays in the field
    assert json.loads(form["data-params"] or "") == {"partitions": 6}


def test_fields_that_validated_are_kept_when_another_is_refused(client: Client) -> None:
    page = inspect(client, "consumer_group", consumers="3", processing_ms="slow")
    form = page.form()
    assert form["data-valid"] == "false"
    assert page.errors == {"processing_ms": "must be a number"}
    params = json.loads(form["data-params"] or "")
    assert params["consumers"] == 3
    default = engine.get_node_type("consumer_group").param("processing_ms").default
    assert params["processing_ms"] == default


def test_a_change_posted_by_htmx_is_validated_the_same_way(client: Client) -> None:
    response = client.post("/inspector/kafka_topic/", {"node_id": "t1", "label": "orders",
                                                        "partitions": "12"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    page = Elements(response.content.decode())
    assert page.form()["data-valid"] == "true"
    assert json.loads(page.form()["data-params"] or "") == {"partitions": 12}
    assert page.field("label")["value"] == "orders"


def test_too_long_label_is_refused(client: Client) -> None:
    page = inspect(client, "dlq", label="x" * 61)
    assert page.form()["data-valid"] == "false"
    assert page.errors == {"label": "must be at most 60 characters"}


def test_read_only_inspector_disables_every_field(client: Client) -> None:
    page = inspect(client, "consumer_group", node_id="g1", readonly="1")
    for param in engine.get_node_type("consumer_group").params:
        assert "disabled" in page.field(param.name)
    assert "disabled" in page.field("label")


def test_editable_inspector_enables_every_field(client: Client) -> None:
    page = inspect(client, "producer")
    assert all("disabled" not in attrs for tag, attrs in page.tags if tag == "input")


def test_unknown_node_type_is_not_found(client: Client) -> None:
    response = client.get("/inspector/mainframe/")
    assert response.status_code == 404
    assert response.content.decode() == "Unknown node type 'mainframe'."


def test_values_from_the_document_are_escaped(client: Client) -> None:
    response = client.get("/inspector/producer/", {"node_id": '"><script>', "label": "<b>x</b>"})
    html = response.content.decode()
    assert "<script>" not in html and "<b>" not in html
    page = Elements(html)
    assert page.form()["data-node-id"] == '"><script>'
    assert page.field("label")["value"] == "<b>x</b>"
