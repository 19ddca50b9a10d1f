"""The Celery app of the scaled mode: ``celery -A playground worker``.

Configured from Django settings (``CELERY_*``, set from the environment in settings.py). Only the
worker and the scaled runner import this; the embedded mode never does.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "playground.settings")

app = Celery("playground")
app.config_from_object("django.conf:settings", namespace="CELERY")
# Imported when the worker starts, so the room task and the worker signals are registered
# before the worker is ready.
app.conf.imports = ("playground.live.scaled.tasks",)
