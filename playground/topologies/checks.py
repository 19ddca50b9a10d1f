"""The deployment checks of our own settings (``manage.py check --deploy``; asgi.py at start)."""

from __future__ import annotations

from typing import Any

from django.core import checks


def insecure_key_message(settings: Any) -> str | None:
    """Why the server must not start: DEBUG off with the development key; None when fine."""
    if settings.DEBUG or settings.SECRET_KEY != getattr(settings, "DEV_SECRET_KEY", None):
        return None
    return ("FANOUT_SECRET_KEY is not set: with DEBUG off, Fanout will not run with the published "
            "development key. Set FANOUT_SECRET_KEY to a long random value (e.g. "
            "`python -c 'import secrets; print(secrets.token_urlsafe(50))'`), or set "
            "FANOUT_DEBUG=1 for a local development server (`make run` does).")


@checks.register(checks.Tags.security, deploy=True)
def check_secret_key(app_configs: Any, **kwargs: Any) -> list[checks.CheckMessage]:
    from django.conf import settings

    message = insecure_key_message(settings)
    if message is None and settings.SECRET_KEY == getattr(settings, "DEV_SECRET_KEY", None):
        message = "the development SECRET_KEY is in use; set FANOUT_SECRET_KEY in any deployment."
    return [checks.Error(message, id="fanout.E001")] if message else []
