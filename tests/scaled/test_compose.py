"""docker-compose.yml checked against the settings (no Docker engine runs on the build machine)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
APP_SERVICES = ("web1", "web2", "worker", "migrate")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def settings_env_names() -> set[str]:
    """Every environment variable playground/settings.py reads."""
    source = (ROOT / "playground/settings.py").read_text()
    return set(re.findall(r'(?:environ(?:\.get)?|_env_\w+)\(\s*"([A-Z_]+)"', source)) | set(
        re.findall(r'os\.environ\["([A-Z_]+)"\]', source)
    )


def test_compose_runs_two_daphnes_behind_a_proxy_a_worker_redis_postgres_and_a_migration(compose):
    services = compose["services"]
    assert set(services) == {"proxy", "web1", "web2", "worker", "migrate", "redis", "postgres"}
    for name in ("web1", "web2"):
        command = services[name]["command"]
        assert command[0] == "daphne" and command[-1] == "playground.asgi:application"
        assert command[command.index("-p") + 1] == "8000" and "8000" in services[name]["expose"]
        assert services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert services["worker"]["command"][:4] == ["celery", "-A", "playground", "worker"]
    migrate = " ".join(services["migrate"]["command"])
    assert "manage.py migrate" in migrate and "manage.py collectstatic" in migrate
    assert services["migrate"]["restart"] == "no"


def test_every_long_running_service_has_a_health_check_and_waits_for_what_it_needs(compose):
    services = compose["services"]
    for name, service in services.items():
        if name != "migrate":
            assert service["healthcheck"]["test"], name
    for name in ("web1", "web2", "worker"):
        assert services[name]["depends_on"]["redis"]["condition"] == "service_healthy"
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert {d: c["condition"] for d, c in services["proxy"]["depends_on"].items()} == {
        "web1": "service_healthy",
        "web2": "service_healthy",
    }


def test_the_proxy_serves_collected_static_files_and_forwards_to_both_daphnes(compose):
    services = compose["services"]
    caddyfile = (ROOT / "deploy/Caddyfile").read_text()
    static_root = services["migrate"]["environment"]["FANOUT_STATIC_ROOT"]
    assert f"static:{static_root}" in services["migrate"]["volumes"]
    assert any(v.startswith("static:/srv/static") for v in services["proxy"]["volumes"])
    assert "handle_path /static/*" in caddyfile and "root * /srv/static" in caddyfile
    assert re.search(r"reverse_proxy web1:8000 web2:8000", caddyfile)
    published = services["proxy"]["ports"][0]
    assert published.endswith(":80")


def test_environment_names_are_settings_and_point_at_the_compose_services(compose):
    services = compose["services"]
    known = settings_env_names()
    assert {"REDIS_URL", "DATABASE_URL", "FANOUT_RUNNER"} <= known
    for name in APP_SERVICES:
        env = services[name]["environment"]
        unknown = set(env) - known
        assert not unknown, f"{name}: {unknown} are not read by playground/settings.py"
        database = urlparse(env["DATABASE_URL"])
        postgres = services["postgres"]["environment"]
        assert (database.scheme, database.hostname, database.port) == ("postgres", "postgres", 5432)
        assert (database.username, database.password, database.path) == (
            postgres["POSTGRES_USER"],
            postgres["POSTGRES_PASSWORD"],
            "/" + postgres["POSTGRES_DB"],
        )
        assert urlparse(env["REDIS_URL"]).hostname == "redis"
        assert env["FANOUT_RUNNER"] == "celery"


def test_the_readme_documents_every_setting():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Embedded and scaled", 1)[1]
    missing = [name for name in sorted(settings_env_names()) if f"`{name}`" not in section]
    assert not missing, f"settings missing from the README table: {missing}"
