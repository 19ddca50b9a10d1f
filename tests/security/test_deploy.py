"""Deployment settings (issue 19, point 6): DEBUG off unless asked, no start on the development
key, `check --deploy` clean with the README's production settings, the websocket Origin
checked with scheme, host and port.

Settings are read when a process starts, so these cases run a fresh interpreter with the
environment under test.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from channels.testing import WebsocketCommunicator

from playground.routing import origin_allowed

ROOT = Path(__file__).resolve().parents[2]
KEY = "a-real-deployment-key-" + "z" * 40


def run(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items()
            if not k.startswith(("FANOUT_", "REDIS_URL", "DATABASE_URL", "DJANGO_SETTINGS_MODULE"))}
    base.update(DJANGO_SETTINGS_MODULE="playground.settings", PYTHONPATH=str(ROOT), **env)
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=base, capture_output=True,
                          text=True, timeout=60, check=False)


def test_debug_is_off_by_default_and_the_server_refuses_the_development_key() -> None:
    result = run("import playground.asgi")
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and "FANOUT_SECRET_KEY is not set" in result.stderr


def test_the_server_starts_with_a_key_and_debug_stays_off() -> None:
    result = run("import playground.asgi; from django.conf import settings; print(settings.DEBUG)",
                 FANOUT_SECRET_KEY=KEY)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "False"


def test_debug_on_request_runs_with_the_development_key() -> None:
    result = run("import playground.asgi; from django.conf import settings; print(settings.DEBUG)",
                 FANOUT_DEBUG="1")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "True"


def test_commands_that_serve_nothing_still_run_without_a_key() -> None:
    result = run("from django.core.management import call_command; import django; django.setup(); "
                 "call_command('simulate', 'starter', '--seconds', '0.5')")
    assert result.returncode == 0, result.stderr


def test_make_run_asks_for_debug_and_only_make_run() -> None:
    makefile = (ROOT / "Makefile").read_text()
    run_recipe = makefile.split("\nrun:", 1)[1].split("\n\n", 1)[0]
    assert "FANOUT_DEBUG=1" in run_recipe and "daphne" in run_recipe
    assert makefile.count("FANOUT_DEBUG=1") == 1


def test_check_deploy_is_clean_with_the_production_settings_of_the_readme() -> None:
    readme = (ROOT / "README.md").read_text()
    block = readme.split("### Deploying", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    documented = dict(re.findall(r"^(FANOUT_\w+)=(.*)$", block, re.M))
    assert set(documented) >= {"FANOUT_SECRET_KEY", "FANOUT_ALLOWED_HOSTS", "FANOUT_HTTPS"}
    env = {**documented, "FANOUT_SECRET_KEY": KEY}
    result = subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
                            cwd=ROOT, env={**{k: v for k, v in os.environ.items() if not k.startswith("FANOUT_")},
                                           "DJANGO_SETTINGS_MODULE": "playground.settings", **env},
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_fails_on_the_development_key() -> None:
    result = subprocess.run([sys.executable, "manage.py", "check", "--deploy"], cwd=ROOT,
                            env={**{k: v for k, v in os.environ.items() if not k.startswith("FANOUT_")},
                                 "DJANGO_SETTINGS_MODULE": "playground.settings"},
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode != 0
    assert "fanout.E001" in result.stderr + result.stdout


def test_https_behind_the_proxy_turns_on_hsts_secure_cookies_and_the_redirect() -> None:
    code = ("import django; django.setup(); from django.conf import settings as s; "
            "print(s.SECURE_SSL_REDIRECT, s.CSRF_COOKIE_SECURE, s.SECURE_HSTS_SECONDS, s.SECURE_PROXY_SSL_HEADER)")
    on = run(code, FANOUT_SECRET_KEY=KEY, FANOUT_HTTPS="1").stdout.split()
    assert on[:3] == ["True", "True", "31536000"] and "HTTP_X_FORWARDED_PROTO" in on[3]
    off = run(code.replace(", s.SECURE_PROXY_SSL_HEADER", ""), FANOUT_SECRET_KEY=KEY).stdout.split()
    assert off == ["False", "False", "0"]


def test_compose_requires_a_secret_key_and_has_no_default_one() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    for name in ("web1", "web2", "worker", "migrate"):
        value = compose["services"][name]["environment"]["FANOUT_SECRET_KEY"]
        assert re.fullmatch(r"\$\{FANOUT_SECRET_KEY:\?[^}]+\}", value), value
        assert compose["services"][name]["environment"]["FANOUT_DEBUG"] == "0"


# -- the websocket Origin: scheme, host and port ------------------------------------------------

def scope(origin: str | None, host: str = "testserver", scheme: str = "ws", **headers: str) -> dict[str, Any]:
    raw = [(b"host", host.encode())] + ([(b"origin", origin.encode())] if origin else [])
    raw += [(k.replace("_", "-").encode(), v.encode()) for k, v in headers.items()]
    return {"type": "websocket", "scheme": scheme, "headers": raw}


@pytest.mark.parametrize(("origin", "host", "scheme", "allowed"), [
    ("http://testserver", "testserver", "ws", True),
    ("http://127.0.0.1:8000", "127.0.0.1:8000", "ws", True),
    ("http://LOCALHOST:8000", "localhost:8000", "ws", True),
    ("http://127.0.0.1:80", "127.0.0.1", "ws", True),  # the default port, written or not
    ("http://127.0.0.1:9000", "127.0.0.1:8000", "ws", False),  # another port: another site
    ("http://127.0.0.1", "127.0.0.1:8000", "ws", False),
    ("https://testserver", "testserver", "ws", False),  # another scheme
    ("http://testserver", "testserver", "wss", False),
    ("https://testserver", "testserver", "wss", True),
    ("http://evil.example", "testserver", "ws", False),
    ("http://evil.example", "evil.example", "ws", False),  # a Host we do not serve
    ("null", "testserver", "ws", False),
    (None, "testserver", "ws", False),
    ("http://testserver:notaport", "testserver", "ws", False),
])
def test_the_origin_must_be_the_pages_own(origin, host, scheme, allowed) -> None:
    assert origin_allowed(scope(origin, host, scheme)) is allowed


def test_behind_the_https_proxy_the_forwarded_scheme_counts(settings: Any) -> None:
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    assert origin_allowed(scope("https://testserver", x_forwarded_proto="https"))
    assert not origin_allowed(scope("http://testserver", x_forwarded_proto="https"))
    settings.SECURE_PROXY_SSL_HEADER = None
    assert not origin_allowed(scope("https://testserver", x_forwarded_proto="https"))


def test_trusted_origins_are_allowed_with_their_port(settings: Any) -> None:
    settings.CSRF_TRUSTED_ORIGINS = ["https://fanout.example.org:8443"]
    assert origin_allowed(scope("https://fanout.example.org:8443"))
    assert not origin_allowed(scope("https://fanout.example.org"))


@pytest.mark.django_db(transaction=True)
async def test_a_websocket_from_another_port_is_refused_at_the_handshake() -> None:
    from playground.asgi import application

    comm = WebsocketCommunicator(application, "/ws/rooms/room-alice-1/",
                                 headers=[(b"origin", b"http://testserver:8001"), (b"host", b"testserver")])
    connected, _ = await comm.connect(timeout=10)
    assert connected is False  # closed before accept: Daphne answers the handshake with 403
