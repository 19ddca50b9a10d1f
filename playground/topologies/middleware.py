"""Two small middlewares: clean refusals of oversized forms, and the edit-key cookie migration."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.http import HttpRequest, HttpResponse

from playground import engine
from playground.topologies import services
from playground.topologies.errors import bad_request_response


class RequestLimitsMiddleware:
    """Reads a form POST's fields before the CSRF check does, within Django's limits.

    An oversized paste on /import/ makes ``request.POST`` raise RequestDataTooBig inside the
    CSRF middleware, which Django answers with its debug page (DEBUG) or a bare 400. Here it is
    a 400 page that says which field and what the limit is.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method == "POST" and request.content_type in (
            "application/x-www-form-urlencoded", "multipart/form-data",
        ):
            try:
                request.POST  # noqa: B018  (parses the form now, inside the limits)
            except RequestDataTooBig:
                limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
                return bad_request_response(
                    request,
                    f"the form is over {limit:,} bytes; a document may be at most "
                    f"{engine.MAX_DOCUMENT_BYTES:,} bytes (upload it as a file, or paste less).",
                    field="text",
                )
            except TooManyFieldsSent:
                return bad_request_response(request, "the form has too many fields.")
        return self.get_response(request)


class EditKeyCookieMiddleware:
    """Migrates the per-topology ``fanout_key_<slug>`` cookies of older versions on any request.

    Each valid one becomes a grant under the browser's owner cookie and is deleted, so a
    browser that made hundreds of topologies sends one small cookie again.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        legacy = any(name.startswith(services.LEGACY_COOKIE_PREFIX) for name in request.COOKIES)
        if not legacy:
            return self.get_response(request)
        # Grants first, so this very request already sees them (the detail page's mode).
        scratch = HttpResponse()
        services.migrate_legacy_cookies(request, scratch)
        response = self.get_response(request)
        for name, morsel in scratch.cookies.items():
            if name not in response.cookies:
                response.cookies[name] = morsel
        return response
