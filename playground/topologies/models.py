"""Stored things: topologies (a validated document, a short unguessable slug), who may edit
them (EditGrant: the hash of a browser's owner token), and the control keys of live rooms
(RoomKey: issued by the server when a room is created, kept across restarts)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any

from django.db import models

SLUG_BYTES = 9  # token_urlsafe(9) gives 12 characters, 72 bits: short to share, unguessable
EDIT_KEY_BYTES = 24
OWNER_TOKEN_BYTES = 24
ROOM_ID_BYTES = 12  # 16 characters, 96 bits
CONTROL_KEY_BYTES = 24


def new_slug() -> str:
    return secrets.token_urlsafe(SLUG_BYTES)


def new_edit_key() -> str:
    return secrets.token_urlsafe(EDIT_KEY_BYTES)


def new_owner_token() -> str:
    return secrets.token_urlsafe(OWNER_TOKEN_BYTES)


def new_room_id() -> str:
    return secrets.token_urlsafe(ROOM_ID_BYTES)


def new_control_key() -> str:
    return secrets.token_urlsafe(CONTROL_KEY_BYTES)


def hash_edit_key(key: str) -> str:
    # The key is random with 192 bits of entropy, so a plain hash is enough (no salt, no
    # stretching): the database alone never lets anyone edit.
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


class Topology(models.Model):
    slug = models.CharField(max_length=16, unique=True, editable=False)
    name = models.CharField(max_length=120)
    document = models.JSONField()
    edit_key_hash = models.CharField(max_length=64, editable=False)
    forked_from = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="forks"
    )
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created"]

    def __str__(self) -> str:
        return f"{self.name} ({self.slug})"

    @property
    def cookie_name(self) -> str:
        return edit_key_cookie_name(self.slug)

    def set_edit_key(self, key: str) -> None:
        self.edit_key_hash = hash_edit_key(key)

    def accepts_edit_key(self, key: str | None) -> bool:
        if not key or not self.edit_key_hash:
            return False
        return hmac.compare_digest(hash_edit_key(key), self.edit_key_hash)

    def set_document(self, document: dict[str, Any]) -> None:
        """Store a document that engine.parse_document has already normalised."""
        self.document = document
        self.name = str(document.get("name") or "Untitled topology")[:120]


def edit_key_cookie_name(slug: str) -> str:
    return f"fanout_key_{slug}"


def hash_token(token: str) -> str:
    """Owner tokens and control keys are random (192 bits) too: stored as their SHA-256."""
    return hash_edit_key(token)


class EditGrant(models.Model):
    """This browser (its owner token's hash) may edit this topology.

    One small cookie (the owner token) stands for any number of topologies; the list is here.
    Topologies created before this held one ``fanout_key_<slug>`` cookie each (the request
    header overflowed at ~300); EditKeyCookieMiddleware turns those into grants on read.
    """

    topology = models.ForeignKey(Topology, on_delete=models.CASCADE, related_name="grants")
    owner_hash = models.CharField(max_length=64, db_index=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["topology", "owner_hash"], name="edit_grant_unique"),
        ]


class RoomKey(models.Model):
    """A live room's control key, issued by the server when the room is created (POST /rooms/).

    Only its hash is kept; a connection holds the room's controls when its ``?key=`` hashes to
    it. Kept in the database (SQLite embedded, PostgreSQL scaled) so a restart changes nothing:
    a key that was never issued controls nothing, before or after.
    """

    room = models.CharField(max_length=64, unique=True)
    key_hash = models.CharField(max_length=64)
    created = models.DateTimeField(auto_now_add=True)

    def accepts(self, key: str | None) -> bool:
        return bool(key) and hmac.compare_digest(hash_token(key or ""), self.key_hash)
