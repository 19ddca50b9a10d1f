"""ASGI entry point: HTTP through Django, websockets through Channels (as in its tutorial)."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "playground.settings")
# Set up Django (apps, settings) before importing anything that uses the ORM or settings.
django_asgi_app = get_asgi_application()

# Embedded mode has no web server in front: Daphne serves /static/ (the esbuild bundle in
# static/dist/) itself. A deployment behind a reverse proxy serves collectstatic's output instead.
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler  # noqa: E402

django_asgi_app = ASGIStaticFilesHandler(django_asgi_app)

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from playground.live.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": AllowedHostsOriginValidator(URLRouter(websocket_urlpatterns)),
    }
)
