"""Clean refusals over HTTP: 400 pages naming what was refused, never a 500 or the debug page."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from channels.testing import HttpCommunicator, WebsocketCommunicator
from django.test import Client

from playground.routing import CLOSE_NOT_FOUND

pytestmark = pytest.mark.django_db


def app() -> Any:
    from playground.asgi import application

    return application


async def get(path: str) -> dict[str, Any]:
    comm = HttpCommunicator(app(), "GET", path, headers=[(b"host", b"testserver")])
    response = await comm.get_response(timeout=10)
    await comm.wait(timeout=10)  # let the handler finish (it closes the request's body file last)
    return response


@pytest.mark.parametrize("path", ["/static/../playground/settings.py", "/static/..%2f..%2fetc/passwd",
                                  "/static/dist/../../manage.py"])
async def test_a_static_path_out_of_the_static_folders_is_a_plain_400(path: str, settings: Any) -> None:
    """Django raises SuspiciousFileOperation in its static handler: a 500 before, a 400 now."""
    for debug in (False, True):
        settings.DEBUG = debug
        response = await get(path)
        assert response["status"] in (400, 404), (path, debug, response["status"])
        body = response["body"].decode()
        assert "Traceback" not in body and "settings.py" not in body.replace(path, "")


async def test_static_traversal_is_400_with_the_page_saying_why() -> None:
    response = await get("/static/../x")
    assert response["status"] == 400
    assert "not a file Fanout serves" in response["body"].decode()


def test_an_oversized_paste_on_import_is_a_400_page_naming_the_field(client: Client, settings: Any) -> None:
    """RequestDataTooBig: raised inside the CSRF middleware, now a page that says the limit."""
    for debug in (False, True):
        settings.DEBUG = debug
        response = client.post("/import/", {"text": "x" * (2 * 1024 * 1024)})
        assert response.status_code == 400
        html = response.content.decode()
        assert "<code>text</code>" in html and "1,048,576 bytes" in html
        assert "Traceback" not in html


def test_a_form_with_too_many_fields_is_a_400_page(client: Client) -> None:
    response = client.post("/import/", "&".join(f"f{i}=1" for i in range(1500)),
                           content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400
    assert "too many fields" in response.content.decode()


def test_unknown_pages_are_plain_404s(client: Client) -> None:
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    assert "Not found" in response.content.decode()


@pytest.mark.parametrize("path", ["/ws/nowhere/", "/ws/rooms/room-alice-1/extra/", "/", "/ws/rooms/"])
async def test_a_websocket_to_an_unknown_path_is_closed_cleanly(path: str) -> None:
    comm = WebsocketCommunicator(app(), path, headers=[(b"origin", b"http://testserver"),
                                                       (b"host", b"testserver")])
    connected, code = await comm.connect(timeout=10)
    if connected:
        output = await comm.receive_output(timeout=10)
        assert output == {"type": "websocket.close", "code": CLOSE_NOT_FOUND}
    else:
        assert code == CLOSE_NOT_FOUND
    await comm.disconnect()
    await asyncio.sleep(0)
