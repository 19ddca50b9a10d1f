"""ASGI entry point: HTTP through Django, websockets through Channels (as in its tutorial).

It refuses to start with DEBUG off and the development secret key (set FANOUT_SECRET_KEY, or
FANOUT_DEBUG=1 as `make run` does): a deployment would otherwise sign with a published key.
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "playground.settings")
# Set up Django (apps, settings) before importing anything that uses the ORM or settings.
django_asgi_app = get_asgi_application()

from django.conf import settings  # noqa: E402

from playground.topologies.checks import insecure_key_message  # noqa: E402

if message := insecure_key_message(settings):
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured(message)

from channels.routing import ProtocolTypeRouter  # noqa: E402

from playground.routing import OriginValidator, StaticFiles, websocket_router  # noqa: E402

# Embedded mode has no web server in front: Daphne serves /static/ (the esbuild bundle in
# static/dist/) itself. A deployment behind a reverse proxy serves collectstatic's output instead.
application = ProtocolTypeRouter(
    {
        "http": StaticFiles(django_asgi_app),
        "websocket": OriginValidator(websocket_router()),
    }
)
