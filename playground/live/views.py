"""The read-only live view of a room: the editor page in "watch" mode, fed by the websocket."""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from playground.live import protocol
from playground.topologies.editor import editor_context

# The room's document arrives with its first snapshot; the page starts empty.
EMPTY_DOCUMENT: dict[str, Any] = {
    "fanout": 1,
    "name": "Live room",
    "description": "",
    "nodes": [],
    "edges": [],
}


@require_GET
def watch(request: HttpRequest, room: str) -> HttpResponse:
    if not protocol.is_room_id(room):
        raise Http404("A room id is 8 to 64 letters, digits, '-' or '_'.")
    # One builder for every editor page, so the watch page gets the same config keys.
    context = editor_context(mode="watch", document=EMPTY_DOCUMENT, room=room)
    context["editor_config"]["socket_path"] = f"/ws/rooms/{room}/"
    context["room"] = room
    return render(request, "live/watch.html", context)
