"""Pages and JSON endpoints for stored topologies. Thin: the logic is in services and forms."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseNotFound,
    HttpResponseRedirect,
    JsonResponse,
)
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from playground import engine, examples
from playground.engine.registry import TRAITS, systems
from playground.live import protocol
from playground.topologies import services
from playground.topologies.editor import editor_context, example_document, node_types_json
from playground.topologies.forms import ImportForm, build_inspector
from playground.topologies.models import Topology

DEFAULT_EXAMPLE = "starter"


def _errors(errors: list[engine.FieldError], status: int = 400) -> JsonResponse:
    return JsonResponse({"errors": [e.to_dict() for e in errors]}, status=status)


def _read_document(request: HttpRequest) -> engine.Document:
    """The JSON document in the request body, validated; raises engine.DocumentError."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > engine.MAX_DOCUMENT_BYTES:
        raise services.too_big_error(length)
    try:
        body = request.body
    except RequestDataTooBig:
        raise services.too_big_error(length) from None
    return services.parse(body)


@require_GET
def new(request: HttpRequest) -> HttpResponse:
    name = request.GET.get("example", DEFAULT_EXAMPLE)
    if name not in examples.names():
        raise Http404(f"No example named {name!r}")
    document = example_document(name)
    return render(request, "topologies/editor.html", editor_context(mode="new", document=document))


@require_POST
def create(request: HttpRequest) -> HttpResponse:
    try:
        document = _read_document(request)
    except engine.DocumentError as exc:
        return _errors(exc.errors)
    topology = services.create(document)
    url = topology_url(topology)
    response = JsonResponse({"slug": topology.slug, "url": url}, status=201)
    services.grant_edit(request, response, topology)
    return response


@require_GET
def detail(request: HttpRequest, slug: str) -> HttpResponse:
    topology = get_object_or_404(Topology, slug=slug)
    can_edit = services.can_edit(request, topology)
    context = editor_context(
        mode="edit" if can_edit else "readonly",
        document=topology.document,
        slug=topology.slug,
        can_edit=can_edit,
    )
    context["topology"] = topology
    response = render(request, "topologies/editor.html", context)
    patch_vary_headers(response, ["Cookie"])  # the mode depends on the edit key cookie
    return response


@require_POST
def save(request: HttpRequest, slug: str) -> HttpResponse:
    topology = get_object_or_404(Topology, slug=slug)
    if not services.can_edit(request, topology):
        return _errors([engine.FieldError(
            "", "this topology is read-only here: only the browser that created it holds its "
                "edit key. Fork it to make your own copy.",
        )], status=403)
    try:
        document = _read_document(request)
    except engine.DocumentError as exc:
        return _errors(exc.errors)
    services.save(topology, document)
    return JsonResponse({"ok": True})


@require_POST
def fork(request: HttpRequest, slug: str) -> HttpResponse:
    original = get_object_or_404(Topology, slug=slug)
    try:
        topology = services.fork(original)
    except engine.DocumentError as exc:  # stored under older rules that this engine refuses
        return _errors(exc.errors)
    response = HttpResponseRedirect(topology_url(topology))
    services.grant_edit(request, response, topology)
    return response


@require_GET
def export(request: HttpRequest, slug: str) -> HttpResponse:
    topology = get_object_or_404(Topology, slug=slug)
    response = JsonResponse(topology.document, json_dumps_params={"indent": 2})
    response["Content-Disposition"] = f'attachment; filename="fanout-{topology.slug}.json"'
    return response


@require_http_methods(["GET", "POST"])
def import_document(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        try:
            form = ImportForm(request.POST, request.FILES)
        except RequestDataTooBig:
            form = ImportForm()
            form.document_errors = services.too_big_error(
                int(request.META.get("CONTENT_LENGTH") or 0)).errors
            return render(request, "topologies/import.html", {"form": form}, status=400)
        if form.is_valid() and form.document is not None:
            topology = services.create(form.document)
            response = HttpResponseRedirect(topology_url(topology))
            services.grant_edit(request, response, topology)
            return response
        return render(request, "topologies/import.html", {"form": form}, status=400)
    return render(request, "topologies/import.html", {"form": ImportForm()})


@require_GET
def schema(request: HttpRequest) -> HttpResponse:
    return JsonResponse(engine.json_schema(), json_dumps_params={"indent": 2})


@require_GET
def node_types(request: HttpRequest) -> HttpResponse:
    """The node-type declarations (palette, inspector, live view): one cached body with an ETag.

    The editor fetches it from the versioned URL in its config (``?v=<etag>``), so the browser
    may keep it for a year; a changed registry is a new URL.
    """
    body, etag = node_types_json()
    quoted = f'"{etag}"'
    if quoted in request.headers.get("If-None-Match", ""):
        response = HttpResponse(status=304)
    else:
        response = HttpResponse(body, content_type="application/json")
    response["ETag"] = quoted
    versioned = request.GET.get("v") == etag
    response["Cache-Control"] = "public, max-age=31536000, immutable" if versioned else "no-cache"
    return response


@require_GET
def compare(request: HttpRequest) -> HttpResponse:
    """The comparison matrix: one row per trait, one column per system, every cell what that
    system's package declares (engine.registry.systems()), linked to the scenario showing it."""
    titles = {e["name"]: e["title"] for e in examples.catalogue()}
    columns = [
        {"name": s.name, "label": s.label,
         "node_types": [engine.get_node_type(t).label for t in s.node_types]}
        for s in systems()
    ]
    rows = []
    for key, label in TRAITS.items():
        cells = []
        for system in systems():
            text, example = system.traits[key]
            known = example if example in titles else None
            cells.append({"system": system.name, "text": text, "example": known,
                          "example_title": titles.get(known or "", "")})
        rows.append({"key": key, "label": label, "cells": cells})
    return render(request, "topologies/compare.html", {"columns": columns, "rows": rows})


@require_http_methods(["GET", "POST"])
def inspector(request: HttpRequest, type_name: str) -> HttpResponse:
    try:
        node_type = engine.get_node_type(type_name)
    except KeyError:
        return HttpResponseNotFound(f"Unknown node type {type_name!r}.", content_type="text/plain")
    data = request.POST if request.method == "POST" else request.GET
    return render(request, "topologies/inspector.html#form",
                  {"inspector": build_inspector(node_type, data)})


@require_http_methods(["GET", "POST"])
def edge_inspector(request: HttpRequest, source_type: str) -> HttpResponse:
    """The settings of an edge out of a node of ``source_type`` (its declared edge_params)."""
    try:
        node_type = engine.get_node_type(source_type)
    except KeyError:
        return HttpResponseNotFound(f"Unknown node type {source_type!r}.", content_type="text/plain")
    if not node_type.edge_params:
        return HttpResponseNotFound(f"A connection from a {node_type.label} has no settings.",
                                    content_type="text/plain")
    data = request.POST if request.method == "POST" else request.GET
    return render(request, "topologies/inspector.html#form",
                  {"inspector": build_inspector(node_type, data, edge=True)})


def topology_url(topology: Topology) -> str:
    return reverse("topologies:detail", args=[topology.slug])


# The room's document arrives with its first snapshot; the watch page starts empty.
EMPTY_ROOM_DOCUMENT: dict[str, Any] = {"fanout": 1, "name": "Live room", "description": "", "nodes": [], "edges": []}


@csrf_exempt  # no cookie is read or set: the new key goes only to the caller, in the body
@require_POST
def room_create(request: HttpRequest) -> HttpResponse:
    """A new live room: its id and its control key, issued here and stored (hashed) for good.

    The editor asks for one per tab and connects with ``?key=``; a key the server never issued
    controls nothing.
    """
    room, key = services.issue_room()
    return JsonResponse({"room": room, "key": key,
                         "watch_url": reverse("topologies:watch", args=[room])}, status=201)


@require_GET
def watch(request: HttpRequest, room: str) -> HttpResponse:
    """The read-only live view of a room (students follow the presenter's run here)."""
    if not protocol.is_room_id(room):
        raise Http404("A room id is 8 to 64 letters, digits, '-' or '_'.")
    context = editor_context(mode="watch", document=EMPTY_ROOM_DOCUMENT, room=room)
    context["editor_config"]["socket_path"] = f"/ws/rooms/{room}/"
    context["room"] = room
    return render(request, "live/watch.html", context)
