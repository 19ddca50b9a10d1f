"""Creating, saving and forking topologies, and the edit key that guards the original.

Views call these and stay thin. Every document passes through engine.parse_document before it
is stored, and what is stored is the normalised ``Document.to_dict()``.
"""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse

from playground import engine
from playground.topologies.models import Topology, edit_key_cookie_name, new_edit_key, new_slug

EDIT_KEY_MAX_AGE = 365 * 24 * 3600
_SLUG_ATTEMPTS = 5


def too_big_error(size: int) -> engine.DocumentError:
    return engine.DocumentError([engine.FieldError(
        "", f"is {size:,} bytes; a document may be at most {engine.MAX_DOCUMENT_BYTES:,} bytes",
    )])


def parse(data: bytes | str | dict[str, Any]) -> engine.Document:
    """Validate a document; raises engine.DocumentError naming every field at fault."""
    return engine.parse_document(data)


def create(
    document: engine.Document, *, forked_from: Topology | None = None
) -> tuple[Topology, str]:
    """Store a new topology; returns it and its edit key (given to the creator as a cookie)."""
    key = new_edit_key()
    for _ in range(_SLUG_ATTEMPTS):
        topology = Topology(slug=new_slug(), forked_from=forked_from)
        topology.set_document(document.to_dict())
        topology.set_edit_key(key)
        try:
            with transaction.atomic():
                topology.save()
        except IntegrityError:
            continue  # a slug collision: 72 random bits make this all but impossible
        return topology, key
    raise RuntimeError("could not find a free slug")


def save(topology: Topology, document: engine.Document) -> None:
    topology.set_document(document.to_dict())
    topology.save(update_fields=["document", "name", "updated"])


def fork(original: Topology) -> tuple[Topology, str]:
    # The stored document was validated when saved; validating again keeps a fork from
    # carrying forward a document that a newer engine would refuse.
    return create(parse(original.document), forked_from=original)


def request_edit_key(request: HttpRequest, topology: Topology) -> str | None:
    return request.COOKIES.get(edit_key_cookie_name(topology.slug))


def can_edit(request: HttpRequest, topology: Topology) -> bool:
    return topology.accepts_edit_key(request_edit_key(request, topology))


def grant_edit_key(
    request: HttpRequest, response: HttpResponse, topology: Topology, key: str
) -> None:
    response.set_cookie(
        edit_key_cookie_name(topology.slug),
        key,
        max_age=EDIT_KEY_MAX_AGE,
        path="/",
        httponly=True,
        samesite="Lax",
        secure=request.is_secure(),
    )
