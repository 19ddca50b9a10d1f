"""A stored topology: a validated document, a short unguessable slug and its edit key's hash."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any

from django.db import models

SLUG_BYTES = 9  # token_urlsafe(9) gives 12 characters, 72 bits: short to share, unguessable
EDIT_KEY_BYTES = 24


def new_slug() -> str:
    return secrets.token_urlsafe(SLUG_BYTES)


def new_edit_key() -> str:
    return secrets.token_urlsafe(EDIT_KEY_BYTES)


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
