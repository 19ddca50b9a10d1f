import hashlib
import io
import json
import re
from typing import Any

import pytest
from django.test import Client

from playground import engine, examples
from playground.topologies.models import Topology
from tests.topologies.factories import DOC, create, document, post_json, reference

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice() -> Client:
    return Client()


@pytest.fixture
def bob() -> Client:
    return Client()


def owner_cookie(client: Client) -> Any:
    return client.cookies["fanout_owner"]


def editor_config(response: Any) -> dict[str, Any]:
    return response.context["editor_config"]


# -- new / create ---------------------------------------------------------------------------


def test_home_opens_the_starter_example_unsaved(client: Client) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert response.templates[0].name == "topologies/editor.html"
    config = editor_config(response)
    assert config["mode"] == "new"
    assert config["slug"] is None and config["save_url"] is None
    assert config["create_url"] == "/t/"
    assert config["inspector_url"] == "/inspector/"
    assert config["schema_url"] == "/schema/topology.json"
    assert {e["name"] for e in config["examples"]} >= {"reference", "starter"}
    assert response.context["document"]["name"].startswith("Starter")
    palette = [t["name"] for t in client.get(config["node_types_url"]).json()]
    assert palette == [t.name for t in engine.node_types()]
    for script_id in ("topology-document", "editor-config"):
        assert f'id="{script_id}"' in response.content.decode()
    assert 'id="node-types"' not in response.content.decode()  # fetched once, not in every page


def test_editor_offers_the_ready_topologies_with_what_to_watch_for(client: Client) -> None:
    response = client.get("/")
    config = editor_config(response)
    starter = next(e for e in config["examples"] if e["name"] == "starter")
    assert starter["description"] == examples.load("starter")["description"]
    assert starter["description"]
    assert config["edge_inspector_url"] == "/inspector/edge/"
    html = response.content.decode()
    assert 'href="/new/?example=starter"' in html
    assert 'data-testid="scenario"' in html


def test_new_page_opens_a_named_example(client: Client) -> None:
    response = client.get("/new/?example=reference")
    assert response.status_code == 200
    assert response.context["document"] == engine.parse_document(reference()).to_dict()


def test_new_page_with_an_unknown_example_is_not_found(client: Client) -> None:
    assert client.get("/new/?example=nope").status_code == 404


def test_saving_gives_a_short_unguessable_link(alice: Client) -> None:
    response = post_json(alice, "/t/", document())
    assert response.status_code == 201
    slug = response.json()["slug"]
    assert re.fullmatch(r"[A-Za-z0-9_-]{12}", slug)
    assert response.json()["url"] == f"/t/{slug}/"
    assert create(alice) != slug
    assert Topology.objects.get(slug=slug).name == "Orders"


def test_saved_document_is_the_normalised_one(alice: Client) -> None:
    slug = create(alice)
    stored = Topology.objects.get(slug=slug).document
    assert stored == engine.parse_document(DOC).to_dict()
    assert stored["nodes"][1]["params"]["partitions"] == 6
    assert stored["nodes"][0]["params"]["linger_ms"] == 5.0  # a default filled in


def test_creating_sets_one_long_lived_httponly_owner_cookie(alice: Client) -> None:
    create(alice)
    create(alice)
    assert [name for name in alice.cookies if name.startswith("fanout_")] == ["fanout_owner"]
    cookie = owner_cookie(alice)
    assert len(cookie.value) == 32
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
    assert cookie["path"] == "/"
    assert cookie["max-age"] == 365 * 24 * 3600


def test_only_a_hash_of_the_owner_token_is_stored(alice: Client) -> None:
    slug = create(alice)
    token = owner_cookie(alice).value
    topology = Topology.objects.get(slug=slug)
    assert [g.owner_hash for g in topology.grants.all()] == [hashlib.sha256(token.encode()).hexdigest()]
    assert token not in json.dumps(topology.document)


def test_create_needs_a_post(client: Client) -> None:
    assert client.get("/t/").status_code == 405


# -- share: edit and read-only ---------------------------------------------------------------


def test_creator_opens_the_link_in_edit_mode(alice: Client) -> None:
    slug = create(alice)
    response = alice.get(f"/t/{slug}/")
    assert response.status_code == 200
    config = editor_config(response)
    assert config["mode"] == "edit"
    assert config["slug"] == slug
    assert config["save_url"] == f"/t/{slug}/save"
    assert config["export_url"] == f"/t/{slug}/export.json"
    assert response.context["document"]["name"] == "Orders"
    assert "Cookie" in response["Vary"]


def test_shared_link_is_read_only_without_the_key(alice: Client, bob: Client) -> None:
    slug = create(alice)
    response = bob.get(f"/t/{slug}/")
    assert response.status_code == 200
    config = editor_config(response)
    assert config["mode"] == "readonly"
    assert config["save_url"] is None
    assert config["fork_url"] == f"/t/{slug}/fork"
    assert response.context["document"] == Topology.objects.get(slug=slug).document


def test_saving_without_the_edit_key_is_forbidden(alice: Client, bob: Client) -> None:
    slug = create(alice)
    response = post_json(bob, f"/t/{slug}/save", document(name="Bob was here"))
    assert response.status_code == 403
    errors = response.json()["errors"]
    assert errors[0]["path"] == ""
    assert "edit key" in errors[0]["message"]
    assert Topology.objects.get(slug=slug).name == "Orders"


def test_saving_with_a_wrong_edit_key_is_forbidden(alice: Client, bob: Client) -> None:
    slug = create(alice)
    bob.cookies[f"fanout_key_{slug}"] = "not-the-key"
    bob.cookies["fanout_owner"] = "not-an-owner-token-of-anything"
    assert post_json(bob, f"/t/{slug}/save", document(name="x")).status_code == 403


def test_an_owner_token_opens_only_its_own_topologies(alice: Client, bob: Client) -> None:
    alices = create(alice)
    create(bob)
    assert post_json(bob, f"/t/{alices}/save", document(name="x")).status_code == 403


def test_creator_saves_changes(alice: Client) -> None:
    slug = create(alice)
    response = post_json(alice, f"/t/{slug}/save", document(name="Orders v2"))
    assert response.status_code == 200
    assert response.json() == {"ok": True}
    topology = Topology.objects.get(slug=slug)
    assert topology.name == "Orders v2"
    assert topology.document["name"] == "Orders v2"


def test_save_refuses_an_invalid_document_naming_the_field(alice: Client) -> None:
    slug = create(alice)
    bad = document()
    bad["nodes"][1]["params"]["partitions"] = 1000
    response = post_json(alice, f"/t/{slug}/save", bad)
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"path": "nodes[1].params.partitions", "message": "must be at most 256"}
    ]
    assert Topology.objects.get(slug=slug).document["nodes"][1]["params"]["partitions"] == 6


def test_unknown_topology_is_not_found(client: Client) -> None:
    assert client.get("/t/AAAAAAAAAAAA/").status_code == 404
    assert post_json(client, "/t/AAAAAAAAAAAA/save", DOC).status_code == 404


# -- fork -----------------------------------------------------------------------------------


def test_fork_makes_a_new_topology_with_its_own_key(alice: Client, bob: Client) -> None:
    original = create(alice)
    response = bob.post(f"/t/{original}/fork")
    assert response.status_code == 302
    forked = Topology.objects.exclude(slug=original).get()
    assert response["Location"] == f"/t/{forked.slug}/"
    assert forked.forked_from is not None and forked.forked_from.slug == original
    assert forked.document == Topology.objects.get(slug=original).document
    assert owner_cookie(bob).value != owner_cookie(alice).value

    assert editor_config(bob.get(f"/t/{forked.slug}/"))["mode"] == "edit"
    assert post_json(bob, f"/t/{forked.slug}/save", document(name="Bob's")).status_code == 200
    assert post_json(bob, f"/t/{original}/save", document(name="Bob's")).status_code == 403
    assert editor_config(alice.get(f"/t/{forked.slug}/"))["mode"] == "readonly"
    assert Topology.objects.get(slug=original).name == "Orders"


def test_fork_needs_a_post(alice: Client) -> None:
    slug = create(alice)
    assert alice.get(f"/t/{slug}/fork").status_code == 405


# -- export and import ----------------------------------------------------------------------


def test_export_downloads_the_document(alice: Client, bob: Client) -> None:
    slug = create(alice, reference())
    response = bob.get(f"/t/{slug}/export.json")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Content-Disposition"] == f'attachment; filename="fanout-{slug}.json"'
    assert json.loads(response.content) == Topology.objects.get(slug=slug).document


def test_export_round_trips_through_import(alice: Client, bob: Client) -> None:
    slug = create(alice, reference())
    exported = bob.get(f"/t/{slug}/export.json").content
    upload = io.BytesIO(exported)
    upload.name = "reference.json"
    response = bob.post("/import/", {"file": upload})
    assert response.status_code == 302
    imported = Topology.objects.exclude(slug=slug).get()
    assert response["Location"] == f"/t/{imported.slug}/"
    assert imported.document == Topology.objects.get(slug=slug).document
    assert imported.forked_from is None
    assert editor_config(bob.get(response["Location"]))["mode"] == "edit"


def test_import_of_pasted_text(bob: Client) -> None:
    response = bob.post("/import/", {"text": json.dumps(DOC, indent=2)})
    assert response.status_code == 302
    assert Topology.objects.get().name == "Orders"


def test_import_page_offers_upload_and_paste(client: Client) -> None:
    response = client.get("/import/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'type="file"' in html and "<textarea" in html
    assert 'enctype="multipart/form-data"' in html


def test_import_with_nothing_asks_for_a_file_or_text(client: Client) -> None:
    response = client.post("/import/", {"text": "  "})
    assert response.status_code == 400
    assert "Choose a .json file or paste a document." in response.content.decode()


def _unknown_type(doc: dict[str, Any]) -> None:
    doc["nodes"][2]["type"] = "kafka_streams_app"


def _dangling_edge(doc: dict[str, Any]) -> None:
    doc["edges"][1]["target"] = "payments"


def _out_of_bounds(doc: dict[str, Any]) -> None:
    doc["nodes"][1]["params"]["partitions"] = 1000


def _wrong_type(doc: dict[str, Any]) -> None:
    doc["nodes"][0]["params"]["rate"] = "fast"


BAD_DOCUMENTS = [
    pytest.param(_unknown_type, "nodes[2].type", "unknown node type 'kafka_streams_app'",
                 id="unknown-type"),
    pytest.param(_dangling_edge, "edges[1].target", "no node has the id 'payments'",
                 id="dangling-edge"),
    pytest.param(_out_of_bounds, "nodes[1].params.partitions", "must be at most 256",
                 id="out-of-bounds"),
    pytest.param(_wrong_type, "nodes[0].params.rate", "must be a number", id="wrong-type"),
]


@pytest.mark.parametrize(("spoil", "path", "message"), BAD_DOCUMENTS)
def test_create_refuses_a_bad_document_naming_the_field(
    alice: Client, spoil: Any, path: str, message: str
) -> None:
    doc = document()
    spoil(doc)
    response = post_json(alice, "/t/", doc)
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert any(e["path"] == path and message in e["message"] for e in errors), errors
    assert not Topology.objects.exists()
    assert not any(name.startswith("fanout_") for name in alice.cookies)


@pytest.mark.parametrize(("spoil", "path", "message"), BAD_DOCUMENTS)
def test_import_lists_a_bad_documents_errors_by_field(
    bob: Client, spoil: Any, path: str, message: str
) -> None:
    doc = document()
    spoil(doc)
    response = bob.post("/import/", {"text": json.dumps(doc)})
    assert response.status_code == 400
    html = response.content.decode()
    assert f'data-path="{path}"><code class="field">{path}</code>: ' in html
    assert message.replace("'", "&#x27;") in html
    assert not Topology.objects.exists()


def test_import_refuses_an_uploaded_bad_document_and_shows_it_for_fixing(bob: Client) -> None:
    doc = document()
    _out_of_bounds(doc)
    upload = io.BytesIO(json.dumps(doc).encode())
    upload.name = "bad.json"
    response = bob.post("/import/", {"file": upload})
    assert response.status_code == 400
    html = response.content.decode()
    assert "nodes[1].params.partitions</code>: must be at most 256" in html
    assert "&quot;partitions&quot;: 1000" in html  # the file's text, now in the textarea


def test_import_keeps_the_pasted_text_after_an_error(bob: Client) -> None:
    text = '{\n  "fanout": 1,\n  "name": "Half typed",\n  "nodes": [\n'
    response = bob.post("/import/", {"text": text})
    assert response.status_code == 400
    html = response.content.decode()
    assert "is not valid JSON" in html
    assert "line 5, column 1" in html
    assert '&quot;name&quot;: &quot;Half typed&quot;,\n  &quot;nodes&quot;: [\n</textarea>' in html


def test_create_refuses_malformed_json_saying_where(alice: Client) -> None:
    response = post_json(alice, "/t/", '{"fanout": 1,\n "nodes": [}')
    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert error["path"] == ""
    assert "is not valid JSON" in error["message"]
    assert "line 2, column 12" in error["message"]


CAP_MESSAGE = f"a document may be at most {engine.MAX_DOCUMENT_BYTES:,} bytes"


def oversized_text() -> str:
    return json.dumps(DOC) + " " * engine.MAX_DOCUMENT_BYTES


def test_create_refuses_an_oversized_document_naming_the_cap(alice: Client) -> None:
    response = post_json(alice, "/t/", oversized_text())
    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert f"at most {engine.MAX_DOCUMENT_BYTES:,} bytes" in error["message"]


def test_create_refuses_a_body_over_the_upload_limit_as_json(alice: Client) -> None:
    response = post_json(alice, "/t/", " " * (2 * 1024 * 1024))
    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert "2,097,152 bytes" in error["message"]
    assert f"at most {engine.MAX_DOCUMENT_BYTES:,} bytes" in error["message"]


def test_import_refuses_an_oversized_file_naming_the_cap(bob: Client) -> None:
    upload = io.BytesIO(oversized_text().encode())
    upload.name = "big.json"
    response = bob.post("/import/", {"file": upload})
    assert response.status_code == 400
    assert CAP_MESSAGE in response.content.decode()


def test_import_refuses_oversized_pasted_text_naming_the_cap(bob: Client) -> None:
    response = bob.post("/import/", {"text": oversized_text()})
    assert response.status_code == 400
    assert CAP_MESSAGE in response.content.decode()


def test_fork_of_a_document_the_engine_now_refuses_names_the_field(alice: Client) -> None:
    slug = create(alice)
    stale = Topology.objects.get(slug=slug)
    stale.document["nodes"][1]["params"]["partitions"] = 1000  # e.g. a cap lowered since
    stale.save()
    response = alice.post(f"/t/{slug}/fork")
    assert response.status_code == 400
    assert response.json()["errors"][0]["path"] == "nodes[1].params.partitions"
    assert Topology.objects.count() == 1
