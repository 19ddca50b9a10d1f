"""The context every editor page gets (``topologies/editor.html``), and what it costs.

GET / used to cost ~35 ms of CPU: a quarter of it escaping 76 KB of node-type declarations into
every page (json_script), a fifth re-reading and parsing every example file. Both are cached
here: the examples list and documents while their files are unchanged (a stat per file per
request), and the node types as one JSON body with an ETag, served at /node-types.json under a
versioned URL that the editor fetches once and the browser keeps.
"""

from __future__ import annotations

import functools
import hashlib
import json
from typing import Any

from django.urls import reverse

from playground import engine, examples

WATCH_URL_TEMPLATE = "/rooms/ROOM/"


def inspector_base_url(name: str = "topologies:inspector") -> str:
    # The front end appends "<type>/" to it.
    sample = engine.node_types()[0].name
    return reverse(name, args=[sample]).removesuffix(f"{sample}/")


@functools.cache
def node_types_json() -> tuple[bytes, str]:
    """The node-type declarations as JSON and its ETag; the registry does not change at run time."""
    body = json.dumps([nt.to_dict() for nt in engine.node_types()], separators=(",", ":")).encode("utf-8")
    return body, hashlib.sha256(body).hexdigest()[:20]


def node_types_url() -> str:
    _, etag = node_types_json()
    return f"{reverse('topologies:node_types')}?v={etag}"


def _examples_version() -> tuple[tuple[str, int], ...]:
    return tuple((p.stem, p.stat().st_mtime_ns) for p in sorted(examples.HERE.glob("*.json")))


@functools.lru_cache(maxsize=4)
def _catalogue(version: tuple[tuple[str, int], ...]) -> tuple[dict[str, str], ...]:
    return tuple({"name": e["name"], "title": e["title"], "description": e["description"]}
                 for e in examples.catalogue())


def example_catalogue() -> tuple[dict[str, str], ...]:
    """examples.catalogue(), read again only when a file in the folder changed."""
    return _catalogue(_examples_version())


@functools.lru_cache(maxsize=64)
def _example_document(name: str, mtime_ns: int) -> dict[str, Any]:
    from playground.topologies import services

    return services.parse(examples.load(name)).to_dict()


def example_document(name: str) -> dict[str, Any]:
    """A ready topology, validated and normalised; cached while its file is unchanged.

    Callers must not change the dict (it is shared); copy it first.
    """
    return _example_document(name, examples.path(name).stat().st_mtime_ns)


def editor_context(
    *,
    mode: str,
    document: dict[str, Any],
    slug: str | None = None,
    can_edit: bool = False,
    room: str | None = None,
) -> dict[str, Any]:
    """``mode`` is "new", "edit", "readonly" or "watch" (the live app's read-only room view)."""
    saved = slug is not None
    config = {
        "mode": mode,
        "slug": slug,
        "title": document.get("name") or "Untitled topology",
        "create_url": reverse("topologies:create"),
        "save_url": reverse("topologies:save", args=[slug]) if saved and can_edit else None,
        "fork_url": reverse("topologies:fork", args=[slug]) if saved else None,
        "export_url": reverse("topologies:export", args=[slug]) if saved else None,
        "import_url": reverse("topologies:import"),
        "schema_url": reverse("topologies:schema"),
        "inspector_url": inspector_base_url(),
        "edge_inspector_url": inspector_base_url("topologies:edge_inspector"),
        "watch_url_template": WATCH_URL_TEMPLATE,
        "room_create_url": reverse("topologies:room_create"),
        "node_types_url": node_types_url(),
        "room": room,
        "examples": example_catalogue(),
    }
    return {
        "document": document,
        "editor_config": config,
        "page_title": config["title"],
    }
