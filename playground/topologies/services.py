"""Creating, saving and forking topologies, who may edit them, and live rooms' control keys.

Views call these and stay thin. Every document passes through engine.parse_document before it
is stored, and what is stored is the normalised ``Document.to_dict()``.
"""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse

from playground import engine
from playground.topologies.models import (
    EditGrant,
    RoomKey,
    Topology,
    hash_token,
    new_control_key,
    new_owner_token,
    new_room_id,
    new_slug,
)

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
) -> Topology:
    """Store a new topology (the caller grants its creator the right to edit it: grant_edit)."""
    for _ in range(_SLUG_ATTEMPTS):
        topology = Topology(slug=new_slug(), forked_from=forked_from)
        topology.set_document(document.to_dict())
        try:
            with transaction.atomic():
                topology.save()
        except IntegrityError:
            continue  # a slug collision: 72 random bits make this all but impossible
        return topology
    raise RuntimeError("could not find a free slug")


def save(topology: Topology, document: engine.Document) -> None:
    topology.set_document(document.to_dict())
    topology.save(update_fields=["document", "name", "updated"])


def fork(original: Topology) -> Topology:
    # The stored document was validated when saved; validating again keeps a fork from
    # carrying forward a document that a newer engine would refuse.
    return create(parse(original.document), forked_from=original)


OWNER_COOKIE = "fanout_owner"
LEGACY_COOKIE_PREFIX = "fanout_key_"


def owner_token(request: HttpRequest) -> str | None:
    """This browser's owner token (one cookie for every topology it may edit), if it has one."""
    token = request.COOKIES.get(OWNER_COOKIE)
    if token and 16 <= len(token) <= 64:
        return token
    return None


def can_edit(request: HttpRequest, topology: Topology) -> bool:
    token = getattr(request, "fanout_owner", None) or owner_token(request)
    if token is None:
        return False
    return EditGrant.objects.filter(topology=topology, owner_hash=hash_token(token)).exists()


def grant_edit(request: HttpRequest, response: HttpResponse, topology: Topology) -> None:
    """Let this browser edit ``topology``: a grant under its owner token (made if it has none)."""
    token = ensure_owner(request, response)
    EditGrant.objects.get_or_create(topology=topology, owner_hash=hash_token(token))


def ensure_owner(request: HttpRequest, response: HttpResponse) -> str:
    token = getattr(request, "fanout_owner", None) or owner_token(request)
    if token is None:
        token = new_owner_token()
        request.fanout_owner = token  # type: ignore[attr-defined]
    if request.COOKIES.get(OWNER_COOKIE) != token:
        response.set_cookie(OWNER_COOKIE, token, max_age=EDIT_KEY_MAX_AGE, path="/", httponly=True,
                            samesite="Lax", secure=request.is_secure())
    return token


def migrate_legacy_cookies(request: HttpRequest, response: HttpResponse) -> int:
    """Turn the per-topology ``fanout_key_<slug>`` cookies of older versions into grants.

    Each cookie whose key matches its topology becomes a grant under the owner token; every
    legacy cookie is then deleted, so the request header shrinks back to one cookie. Returns
    the number of grants made.
    """
    legacy = {name.removeprefix(LEGACY_COOKIE_PREFIX): key for name, key in request.COOKIES.items()
              if name.startswith(LEGACY_COOKIE_PREFIX)}
    if not legacy:
        return 0
    token = ensure_owner(request, response)
    owner = hash_token(token)
    made = 0
    for topology in Topology.objects.filter(slug__in=list(legacy)[:1000]):
        if topology.accepts_edit_key(legacy[topology.slug]):
            _, created = EditGrant.objects.get_or_create(topology=topology, owner_hash=owner)
            made += created
    for slug in legacy:
        response.delete_cookie(LEGACY_COOKIE_PREFIX + slug, path="/", samesite="Lax")
    return made


# -- live rooms ---------------------------------------------------------------------------------

def issue_room() -> tuple[str, str]:
    """A new room id and its control key; the key's hash is stored, the key given once."""
    for _ in range(_SLUG_ATTEMPTS):
        room, key = new_room_id(), new_control_key()
        try:
            with transaction.atomic():
                RoomKey.objects.create(room=room, key_hash=hash_token(key))
        except IntegrityError:
            continue
        return room, key
    raise RuntimeError("could not find a free room id")


def control_key_valid(room: str, key: str | None) -> bool:
    """Whether ``key`` was issued for ``room`` (by issue_room, in this process or any other)."""
    if not key or len(key) > 128:
        return False
    stored = RoomKey.objects.filter(room=room).first()
    return stored is not None and stored.accepts(key)
