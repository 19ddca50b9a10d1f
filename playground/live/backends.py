"""Which runner backend rooms get: chosen by settings, imported only when chosen.

``FANOUT_RUNNER`` is ``embedded`` (the default: the rooms of this Daphne simulate in a child
process of its own, ``procrunner.ProcessRunner``; with ``FANOUT_SIM_PROCESS=0`` an asyncio task
in this process, ``EmbeddedRunner``) or ``celery``
(``ScaledRunner``: the simulation runs on a Celery worker, frames and controls through Redis).
settings.py makes it ``celery`` when ``REDIS_URL`` is set, unless ``FANOUT_RUNNER`` says otherwise.
The scaled package (and with it Redis and Celery) is imported only in the scaled mode.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

if TYPE_CHECKING:
    from playground.live.runner import Runner

EMBEDDED = "embedded"
CELERY = "celery"


def runner_name() -> str:
    return str(getattr(settings, "FANOUT_RUNNER", EMBEDDED) or EMBEDDED)


def runner_factory() -> Callable[[str], Runner]:
    name = runner_name()
    if name == EMBEDDED:
        from playground.live import procrunner

        if procrunner.enabled():
            return procrunner.ProcessRunner
        from playground.live.runner import EmbeddedRunner

        return EmbeddedRunner
    if name == CELERY:
        from playground.live.scaled.runner import ScaledRunner

        return ScaledRunner
    raise ImproperlyConfigured(f"FANOUT_RUNNER must be {EMBEDDED!r} or {CELERY!r}, not {name!r}")
