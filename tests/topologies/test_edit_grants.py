"""Who may edit: one owner cookie per browser, a server-side list of grants (issue 19, point 6).

Before, each created topology set its own ``fanout_key_<slug>`` cookie; after about 300 the
request header passed the 16 KB limit and every request of that browser was dropped.
"""

from __future__ import annotations

import pytest
from django.test import Client

from playground.topologies.models import EditGrant, Topology, new_edit_key
from tests.topologies.factories import create, document, post_json

pytestmark = pytest.mark.django_db


def cookie_header(client: Client) -> str:
    return "; ".join(f"{name}={morsel.value}" for name, morsel in client.cookies.items())


def test_any_number_of_topologies_keeps_one_small_cookie() -> None:
    alice = Client()
    slugs = [create(alice) for _ in range(400)]
    assert len(cookie_header(alice)) < 200
    for slug in (slugs[0], slugs[199], slugs[-1]):
        assert alice.get(f"/t/{slug}/").context["editor_config"]["mode"] == "edit"
        assert post_json(alice, f"/t/{slug}/save", document(name="still mine")).status_code == 200


def legacy_topology(key: str) -> Topology:
    """A topology saved by an older version: its edit key's hash, no grant."""
    topology = Topology(slug=f"legacy{Topology.objects.count():06d}")
    topology.set_document(document())
    topology.set_edit_key(key)
    topology.save()
    return topology


def test_legacy_per_topology_cookies_become_grants_and_are_deleted_on_read() -> None:
    bob = Client()
    keys = [new_edit_key() for _ in range(3)]
    olds = [legacy_topology(k) for k in keys]
    for topology, key in zip(olds, keys, strict=True):
        bob.cookies[f"fanout_key_{topology.slug}"] = key
    response = bob.get(f"/t/{olds[0].slug}/")
    assert response.context["editor_config"]["mode"] == "edit"  # already on this request
    for topology in olds:
        assert response.cookies[f"fanout_key_{topology.slug}"]["max-age"] == 0
    assert "fanout_owner" in response.cookies
    assert [name for name in bob.cookies if name.startswith("fanout_") and bob.cookies[name].value] == ["fanout_owner"]
    for topology in olds:
        assert post_json(bob, f"/t/{topology.slug}/save", document(name="migrated")).status_code == 200
    assert EditGrant.objects.count() == 3


def test_a_wrong_legacy_cookie_grants_nothing_and_is_deleted_too() -> None:
    mallory = Client()
    victim = legacy_topology(new_edit_key())
    mallory.cookies[f"fanout_key_{victim.slug}"] = "guessed-key"
    mallory.cookies["fanout_key_nosuchslug"] = "whatever"
    response = mallory.get("/")
    assert response.cookies[f"fanout_key_{victim.slug}"]["max-age"] == 0
    assert not EditGrant.objects.exists()
    assert post_json(mallory, f"/t/{victim.slug}/save", document(name="x")).status_code == 403


def test_an_existing_owner_cookie_is_kept_when_legacy_cookies_migrate() -> None:
    carol = Client()
    mine = create(carol)
    owner = carol.cookies["fanout_owner"].value
    key = new_edit_key()
    old = legacy_topology(key)
    carol.cookies[f"fanout_key_{old.slug}"] = key
    carol.get("/")
    assert carol.cookies["fanout_owner"].value == owner
    for slug in (mine, old.slug):
        assert carol.get(f"/t/{slug}/").context["editor_config"]["mode"] == "edit"


def test_a_malformed_owner_cookie_edits_nothing_and_a_new_one_is_issued_on_create() -> None:
    dave = Client()
    dave.cookies["fanout_owner"] = "x"
    slug = create(dave)
    assert len(dave.cookies["fanout_owner"].value) == 32
    assert dave.get(f"/t/{slug}/").context["editor_config"]["mode"] == "edit"
