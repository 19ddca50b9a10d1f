"""What sits between Daphne and the apps: static files, the websocket Origin check, the routes.

- ``StaticFiles``: Daphne serves /static/ itself in the embedded mode. A path that escapes the
  static folders (``/static/../settings.py``) makes Django raise SuspiciousFileOperation, which
  the stock handler turns into a 500; here it is a plain 400 page.
- ``OriginValidator``: a browser's websocket carries the page's Origin; it must be the page's
  own origin, scheme, host and port (``http://127.0.0.1:8000`` is not ``http://127.0.0.1:9000``),
  with a Host in ALLOWED_HOSTS, or one of CSRF_TRUSTED_ORIGINS (FANOUT_TRUSTED_ORIGINS).
  Channels' AllowedHostsOriginValidator compares the host name only.
- ``websocket_router``: the live routes, and a catch-all that closes any other path cleanly
  (code 4404) instead of Channels' "No route found" exception, a 500 handshake.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from channels.generic.websocket import AsyncWebsocketConsumer
from channels.routing import URLRouter
from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler
from django.core.exceptions import SuspiciousOperation
from django.http import HttpRequest, HttpResponse
from django.http.request import split_domain_port, validate_host
from django.urls import re_path

CLOSE_NOT_FOUND = 4404
_DEFAULT_PORTS = {"http": 80, "https": 443}


class StaticFiles(ASGIStaticFilesHandler):
    async def get_response_async(self, request: HttpRequest) -> HttpResponse:
        try:
            return await super().get_response_async(request)
        except SuspiciousOperation:
            from playground.topologies.errors import bad_request_response

            response = bad_request_response(request, "This path is not a file Fanout serves.")
            response._resource_closers.append(request.close)  # as the stock handler does: the body file
            return response


def _origin(scheme: str, netloc: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) with the scheme's default port filled in; None if malformed."""
    try:
        parts = urlsplit(f"{scheme}://{netloc}")
        port = parts.port
    except ValueError:
        return None
    if parts.hostname is None or scheme not in _DEFAULT_PORTS:
        return None
    return scheme, parts.hostname.lower(), port or _DEFAULT_PORTS[scheme]


def request_origin(scope: dict[str, Any]) -> tuple[str, str, int] | None:
    """The origin the browser's page had, if the Host header is one this server answers to."""
    headers = dict(scope.get("headers") or [])
    host = headers.get(b"host", b"").decode("latin-1")
    domain, _port = split_domain_port(host)
    if not domain or not validate_host(domain, settings.ALLOWED_HOSTS):
        return None
    secure = scope.get("scheme") in ("wss", "https")
    proxy_header = getattr(settings, "SECURE_PROXY_SSL_HEADER", None)
    if not secure and proxy_header:
        name, value = proxy_header
        header = name.removeprefix("HTTP_").replace("_", "-").lower().encode("latin-1")
        secure = headers.get(header, b"").decode("latin-1").split(",")[0].strip() == value
    return _origin("https" if secure else "http", host)


def origin_allowed(scope: dict[str, Any]) -> bool:
    headers = dict(scope.get("headers") or [])
    raw = headers.get(b"origin")
    if not raw:
        return False  # browsers always send it; a client without one is not a page of ours
    try:
        parts = urlsplit(raw.decode("latin-1"))
    except ValueError:
        return False
    origin = _origin(parts.scheme, parts.netloc)
    if origin is None:
        return False
    if origin == request_origin(scope):
        return True
    trusted = (urlsplit(o) for o in settings.CSRF_TRUSTED_ORIGINS)
    return any(origin == _origin(t.scheme, t.netloc) for t in trusted)


class OriginValidator:
    """Refuses the handshake (403) of a websocket whose Origin is not this site's."""

    def __init__(self, application: Any) -> None:
        self.application = application

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        if scope["type"] == "websocket" and not origin_allowed(scope):
            return await WebsocketDenier()(scope, receive, send)
        return await self.application(scope, receive, send)


class NotFoundConsumer(AsyncWebsocketConsumer):
    """Any websocket path that is not a route: accepted, then closed with 4404 (not a 500)."""

    channel_layer_alias = None  # type: ignore[assignment]

    async def connect(self) -> None:
        await self.accept()
        await self.close(code=CLOSE_NOT_FOUND)


def websocket_router() -> URLRouter:
    from playground.live.routing import websocket_urlpatterns

    return URLRouter([*websocket_urlpatterns, re_path(r"^", NotFoundConsumer.as_asgi())])
