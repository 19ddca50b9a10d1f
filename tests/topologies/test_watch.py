"""GET /rooms/<room>/: the watch page."""

from __future__ import annotations

import json
import re

import pytest
from django.test import Client

from tests.live.helpers import ROOM


def json_script(html: str, element_id: str):
    pattern = rf'<script id="{element_id}" type="application/json">(.*?)</script>'
    match = re.search(pattern, html, re.S)
    assert match, f"no json_script {element_id}"
    return json.loads(match.group(1))


@pytest.mark.django_db
def test_watch_page_renders_the_editor_in_watch_mode_for_the_room(client: Client):
    response = client.get(f"/rooms/{ROOM}/")
    assert response.status_code == 200
    assert [t.name for t in response.templates][0] == "live/watch.html"
    html = response.content.decode()
    config = json_script(html, "editor-config")
    assert config["mode"] == "watch" and config["room"] == ROOM
    assert config["socket_path"] == f"/ws/rooms/{ROOM}/"
    assert config["save_url"] is None and config["watch_url_template"] == "/rooms/ROOM/"
    node_types = client.get(config["node_types_url"]).json()
    assert "producer" in [t["name"] for t in node_types]


@pytest.mark.django_db
def test_watch_page_refuses_a_malformed_room_id(client: Client):
    assert client.get("/rooms/short/").status_code == 404


@pytest.mark.django_db
def test_watch_page_is_get_only(client: Client):
    assert client.post(f"/rooms/{ROOM}/").status_code == 405
