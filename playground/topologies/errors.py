"""Error pages: plain 400/404/500 pages that never show a traceback (DEBUG or not)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.template import loader


def bad_request_response(request: HttpRequest, message: str, *, field: str = "") -> HttpResponse:
    """A 400 page naming what was refused (and the field, when there is one)."""
    html = loader.render_to_string("400.html", {"message": message, "field": field})
    return HttpResponse(html, status=400)


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """handler400: a SuspiciousOperation or BadRequest anywhere (Django's DEBUG=False path)."""
    return bad_request_response(request, "The request was refused: it is malformed or too big.")
