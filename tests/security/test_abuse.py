"""Abuse, in bounded loops (issue 19, point 7): each attack the issue lists, repeated as a
hostile client would, and the server still answers everyone else normally afterwards.

The bounds keep the suite fast; each loop is long enough that an unguarded server fails it
(a 500, a stolen room, a growing header), not a load test (bench/ has those).
"""

from __future__ import annotations

import asyncio
import io
import secrets
from typing import Any

import pytest
from channels.testing import HttpCommunicator, WebsocketCommunicator
from django.test import Client

from playground.topologies.models import RoomKey
from tests.security.test_documents import ATTACKS
from tests.topologies.factories import create, post_json

ROUNDS = 20


def app() -> Any:
    from playground.asgi import application

    return application


@pytest.mark.django_db
def test_every_document_attack_repeated_at_every_http_entry_point_never_gives_a_500() -> None:
    client = Client(raise_request_exception=False)
    slug = create(client)
    for _ in range(3):
        for text, _path, _words in ATTACKS.values():
            assert post_json(client, "/t/", text).status_code == 400
            assert post_json(client, f"/t/{slug}/save", text).status_code == 400
            assert client.post("/import/", {"text": text}).status_code == 400
            upload = io.BytesIO(text.encode("utf-8", "surrogatepass"))
            upload.name = "x.json"
            assert client.post("/import/", {"file": upload}).status_code == 400
    assert client.get("/").status_code == 200
    assert client.get(f"/t/{slug}/export.json").json()["name"] == "Orders"


@pytest.mark.django_db
def test_oversized_pastes_in_a_loop_get_400_pages() -> None:
    client = Client(raise_request_exception=False)
    for size in range(1, ROUNDS // 4 + 1):
        response = client.post("/import/", {"text": "{" * (size * 1024 * 1024 + 1)})
        assert response.status_code == 400 and b"<code>text</code>" in response.content
    assert client.get("/import/").status_code == 200


@pytest.mark.django_db(transaction=True)
async def test_static_traversal_and_unknown_websocket_paths_in_a_loop_are_refused_cleanly() -> None:
    for i in range(ROUNDS):
        comm = HttpCommunicator(app(), "GET", f"/static/{'../' * (i % 5 + 1)}etc/passwd",
                                headers=[(b"host", b"testserver")])
        response = await comm.get_response(timeout=10)
        await comm.wait(timeout=10)
        assert response["status"] in (400, 404)
        ws = WebsocketCommunicator(app(), f"/ws/{'x/' * (i + 1)}", headers=[
            (b"origin", b"http://testserver"), (b"host", b"testserver")])
        connected, _ = await ws.connect(timeout=10)
        assert connected
        assert (await ws.receive_output(timeout=10))["code"] == 4404
        await ws.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_guessing_control_keys_takes_no_room() -> None:
    """The takeover attack: many keys, on an issued room and on fresh room ids."""
    from django.test import AsyncClient

    from playground.live import rooms

    await rooms.reset_registry()
    issued = (await AsyncClient().post("/rooms/")).json()
    try:
        for i in range(ROUNDS):
            for room in (issued["room"], f"squat-room-{i:04d}"):
                ws = WebsocketCommunicator(app(), f"/ws/rooms/{room}/?key={secrets.token_urlsafe(24)}",
                                           headers=[(b"origin", b"http://testserver"), (b"host", b"testserver")])
                connected, _ = await ws.connect(timeout=10)
                assert connected
                hello = await ws.receive_json_from(timeout=10)
                assert hello["controller"] is False, (room, hello)
                await ws.disconnect()
        owner = WebsocketCommunicator(app(), f"/ws/rooms/{issued['room']}/?key={issued['key']}",
                                      headers=[(b"origin", b"http://testserver"), (b"host", b"testserver")])
        await owner.connect(timeout=10)
        assert (await owner.receive_json_from(timeout=10))["controller"] is True
        await owner.disconnect()
        # Squatting made no key: only the issued room has one.
        assert await RoomKey.objects.acount() == 1
    finally:
        await rooms.reset_registry()
        await asyncio.sleep(0)


@pytest.mark.django_db(transaction=True)
async def test_cross_origin_websockets_in_a_loop_are_refused() -> None:
    for i in range(ROUNDS):
        origin = [b"http://testserver:8001", b"https://testserver", b"http://evil.example", b"null"][i % 4]
        ws = WebsocketCommunicator(app(), "/ws/rooms/room-alice-1/",
                                   headers=[(b"origin", origin), (b"host", b"testserver")])
        connected, _ = await ws.connect(timeout=10)
        assert connected is False
