"""GET /compare/: the comparison matrix, generated from what each system's package declares."""

from __future__ import annotations

import re

from django.test import Client
from django.urls import reverse

from playground import examples
from playground.engine.registry import TRAITS, systems


def test_compare_page_has_a_row_per_trait_and_a_column_per_registered_system(client: Client):
    response = client.get(reverse("topologies:compare"))
    assert response.status_code == 200
    assert [t.name for t in response.templates][0] == "topologies/compare.html"
    html = response.content.decode()
    assert re.findall(r'data-testid="compare-row" data-trait="([a-z_]+)"', html) == list(TRAITS)
    assert re.findall(r'data-testid="compare-system" data-system="([a-z_]+)"', html) == [s.name for s in systems()]
    assert html.count('data-testid="compare-cell"') == len(TRAITS) * len(systems())


def test_every_cell_says_what_its_system_declares(client: Client):
    html = client.get("/compare/").content.decode()
    for system in systems():
        assert system.label in html
        for text, _example in system.traits.values():
            assert text.replace("'", "&#x27;").replace('"', "&quot;") in html


def test_cells_naming_a_scenario_link_to_it_in_the_editor(client: Client):
    html = client.get("/compare/").content.decode()
    named = {e for s in systems() for _t, e in s.traits.values() if e in examples.names()}
    linked = set(re.findall(r'href="/new/\?example=([a-z0-9-]+)"', html))
    assert named and linked == named
    response = client.get(f"/new/?example={sorted(linked)[0]}")
    assert response.status_code == 200


def test_the_editor_top_bar_links_to_the_matrix(client: Client):
    html = client.get("/new/?example=starter").content.decode()
    assert 'data-testid="btn-compare" href="/compare/"' in html


def test_compare_page_only_answers_get(client: Client):
    assert client.post("/compare/").status_code == 405
