"""Ready topologies shipped with Fanout, one JSON document per file in this folder."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def names() -> list[str]:
    return sorted(p.stem for p in HERE.glob("*.json"))


def path(name: str) -> Path:
    if name not in names():
        raise KeyError(f"no example named {name!r}; examples: {', '.join(names())}")
    return HERE / f"{name}.json"


def load(name: str) -> dict[str, Any]:
    return json.loads(path(name).read_text(encoding="utf-8"))


def catalogue() -> list[dict[str, str]]:
    """[{name, title, description}] for menus."""
    out = []
    for name in names():
        doc = load(name)
        out.append({"name": name, "title": doc.get("name", name), "description": doc.get("description", "")})
    return out
