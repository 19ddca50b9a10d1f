import json
from html.parser import HTMLParser
from typing import Any

import pytest
from django.test import Client

from playground import engine
from playground.engine.registry import NodeType, Param
from playground.topologies.forms import LONG_TEXT


class Elements(HTMLParser):
    """Every start tag of a fragment, with its attributes, and the text of each field error."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.errors: dict[str, str] = {}
        self.textareas: dict[str, str] = {}
        self._error_field: str | None = None
        self._textarea: str | None = None
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        self.tags.append((tag, attributes))
        if tag == "p" and attributes.get("class") == "field-error":
            self._error_field = attributes["data-field"]
        if tag == "textarea":
            self._textarea = attributes["name"]
            self.textareas[self._textarea or ""] = ""

    def handle_data(self, data: str) -> None:
        if self._error_field is not None:
            self.errors[self._error_field] = self.errors.get(self._error_field, "") + data
        if self._textarea is not None:
            self.textareas[self._textarea] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "p":
            self._error_field = None
        if tag == "textarea":
            self._textarea = None

    def form(self) -> dict[str, str | None]:
        forms = [attrs for tag, attrs in self.tags if tag == "form"]
        assert len(forms) == 1
        return forms[0]

    def fields(self, name: str) -> list[tuple[str, dict[str, str | None]]]:
        return [(tag, attrs) for tag, attrs in self.tags
                if tag in ("input", "select", "textarea") and attrs.get("name") == name]

    def field(self, name: str) -> dict[str, str | None]:
        visible = [attrs for tag, attrs in self.fields(name) if attrs.get("type") != "hidden"]
        assert len(visible) == 1
        return visible[0]


def inspect(client: Client, type_name: str, *, url: str = "/inspector/{}/", **query: Any) -> Elements:
    response = client.get(url.format(type_name), query)
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
    params = json.loads(form["data-params"] or "")
    assert {k: params[k] for k in ("rate", "keys", "key_skew", "linger_ms")} == {
        "rate": 100.0, "keys": 100, "key_skew": 0.5, "linger_ms": 5.0,
    }
    assert set(params) == {p.name for p in engine.get_node_type("producer").params}  # defaults filled in
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
        elif param.kind == "string" and param.max_length > LONG_TEXT:
            assert any(tag == "textarea" for tag, _ in page.fields(param.name))
        elif param.kind == "string":
            assert attrs["type"] == "text"
        elif param.kind == "map":
            assert any(tag == "textarea" for tag, _ in page.fields(param.name))
        else:
            assert any(tag == "select" for tag, _ in page.fields(param.name))


def test_schema_text_is_edited_in_a_text_area_and_a_bad_schema_is_named_under_it(client: Client) -> None:
    bad = '[{"subject": "s", "versions": [{"schemaType": "AVRO", "schema": "{\\"type\\": \\"recrd\\"}"}]}]'
    page = inspect(client, "schema_registry", node_id="sr", schemas=bad)
    assert "schemas" in page.textareas
    assert "schemas[0].versions[0].schema" in page.errors["schemas"]
    assert "recrd" in page.errors["schemas"]


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
    assert json.loads(form["data-params"] or "")["partitions"] == 6


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
    assert json.loads(page.form()["data-params"] or "")["partitions"] == 12
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


# ----- the inspector of an edge: the params its source type declares as edge_params -----


class Exchange(NodeType):
    """A stand-in source type whose edges carry one param of each kind (not registered)."""

    name = "test_exchange"
    label = "Test Exchange"
    category = "Test"
    help = "Routes by binding."
    edge_params = (
        Param("binding_key", "Binding key", "string", "#", "Which routing keys the binding matches.",
              max_length=20),
        Param("arguments", "Arguments", "map", {}, "Header values to match."),
        Param("match", "x-match", "enum", "all", "All or any header.", choices=("all", "any")),
        Param("weight", "Weight", "int", 1, "", min=1, max=10, step=1),
        Param("durable", "Durable", "bool", True, ""),
    )


@pytest.fixture
def exchange(monkeypatch: pytest.MonkeyPatch) -> type[NodeType]:
    registered = engine.get_node_type

    def get_node_type(name: str) -> Any:
        return Exchange if name == Exchange.name else registered(name)

    monkeypatch.setattr(engine, "get_node_type", get_node_type)
    return Exchange


def inspect_edge(client: Client, **query: Any) -> Elements:
    return inspect(client, "test_exchange", url="/inspector/edge/{}/", **query)


def test_edge_inspector_carries_the_edge_and_posts_to_the_edge_url(client: Client, exchange: Any) -> None:
    page = inspect_edge(client, edge_id="e7", source="orders", target="billing", binding_key="orders.*")
    form = page.form()
    assert form["data-edge-id"] == "e7"
    assert "data-node-id" not in form
    assert form["data-source-type"] == "test_exchange"
    assert form["hx-post"] == "/inspector/edge/test_exchange/"
    assert form["data-valid"] == "true"
    assert json.loads(form["data-params"] or "") == {
        "binding_key": "orders.*", "arguments": {}, "match": "all", "weight": 1, "durable": True,
    }
    assert page.fields("label") == []
    assert [attrs["value"] for _, attrs in page.fields("edge_id")] == ["e7"]
    assert [attrs["value"] for _, attrs in page.fields("source")] == ["orders"]


def test_edge_inspector_has_a_widget_per_kind(client: Client, exchange: Any) -> None:
    page = inspect_edge(client, edge_id="e1")
    assert page.field("binding_key")["type"] == "text"
    assert page.field("binding_key")["value"] == "#"
    assert [tag for tag, _ in page.fields("arguments")] == ["textarea"]
    assert [tag for tag, _ in page.fields("match")] == ["select"]
    assert page.field("weight")["type"] == "number"
    assert page.field("durable")["type"] == "checkbox"


def test_map_param_is_read_from_key_value_lines(client: Client, exchange: Any) -> None:
    response = client.post("/inspector/edge/test_exchange/",
                           {"edge_id": "e1", "arguments": "region=eu\nformat = pdf\n"})
    page = Elements(response.content.decode())
    assert page.form()["data-valid"] == "true"
    assert json.loads(page.form()["data-params"] or "")["arguments"] == {"region": "eu", "format": "pdf"}
    assert page.textareas["arguments"].strip() == "region=eu\nformat=pdf"


def test_map_line_without_equals_is_refused_under_its_field(client: Client, exchange: Any) -> None:
    page = inspect_edge(client, edge_id="e1", arguments="region=eu\nnonsense")
    assert page.form()["data-valid"] == "false"
    assert page.errors == {"arguments": "'nonsense' is not key=value"}
    assert page.textareas["arguments"].strip() == "region=eu\nnonsense"


def test_too_long_string_edge_param_is_refused(client: Client, exchange: Any) -> None:
    page = inspect_edge(client, edge_id="e1", binding_key="x" * 21)
    assert page.form()["data-valid"] == "false"
    assert page.errors == {"binding_key": "must be at most 20 characters"}
    assert json.loads(page.form()["data-params"] or "")["binding_key"] == "#"


def test_read_only_edge_inspector_disables_every_field(client: Client, exchange: Any) -> None:
    page = inspect_edge(client, edge_id="e1", readonly="1")
    for param in Exchange.edge_params:
        assert "disabled" in page.field(param.name)


def test_edge_inspector_of_a_type_without_edge_params_is_not_found(client: Client) -> None:
    response = client.get("/inspector/edge/producer/")
    assert response.status_code == 404
    assert response.content.decode() == "A connection from a Producer has no settings."


def test_edge_inspector_of_an_unknown_type_is_not_found(client: Client) -> None:
    response = client.get("/inspector/edge/mainframe/")
    assert response.status_code == 404
    assert response.content.decode() == "Unknown node type 'mainframe'."


def test_edge_ends_are_escaped(client: Client, exchange: Any) -> None:
    html = client.get("/inspector/edge/test_exchange/",
                      {"edge_id": "e1", "source": "<b>a</b>", "target": "<i>b</i>"}).content.decode()
    assert "<b>" not in html and "<i>" not in html


def test_inspector_lists_the_types_ports(client: Client) -> None:
    html = client.get("/inspector/bridge/").content.decode()
    assert 'data-testid="inspector-ports"' in html
    assert "in: <strong>records (any)</strong>, records (consume)" in html
    assert "out: <strong>records (any)</strong>, records (publish)" in html
    topic = client.get("/inspector/kafka_topic/").content.decode()
    assert "<strong>placement (kafka)</strong>, placement" in topic
