"""The context every editor page gets (``topologies/editor.html``): three json_script payloads."""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from playground import engine, examples

WATCH_URL_TEMPLATE = "/rooms/ROOM/"


def inspector_base_url(name: str = "topologies:inspector") -> str:
    # The front end appends "<type>/" to it.
    sample = engine.node_types()[0].name
    return reverse(name, args=[sample]).removesuffix(f"{sample}/")


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
        "room": room,
        "examples": [{"name": e["name"], "title": e["title"], "description": e["description"]}
                     for e in examples.catalogue()],
    }
    return {
        "document": document,
        "editor_config": config,
        "node_types": [nt.to_dict() for nt in engine.node_types()],
        "page_title": config["title"],
    }
