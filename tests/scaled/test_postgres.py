"""The scaled mode's database: migrations and checks run on a real PostgreSQL.

Service: PostgreSQL (127.0.0.1:5432, trust auth, user postgres). A database of its own is
created for the test and dropped after it. (CI also runs the database tests themselves on
PostgreSQL: .ci/run's second pass with DATABASE_URL.)
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import pytest

from tests.scaled.conftest import POSTGRES_URL, unavailable

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.service


def test_migrations_and_checks_pass_on_postgresql():
    """Service: PostgreSQL."""
    import psycopg

    name = f"fanout_check_{uuid.uuid4().hex[:8]}"
    try:
        admin = psycopg.connect(POSTGRES_URL, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        unavailable(f"PostgreSQL is not reachable at {POSTGRES_URL}: {exc}")
    try:
        admin.execute(f'CREATE DATABASE "{name}"')
        url = urlunparse(urlparse(POSTGRES_URL)._replace(path=f"/{name}"))
        env = {k: v for k, v in os.environ.items() if not k.startswith(("FANOUT_", "REDIS_URL", "DATABASE_URL"))}
        env.update(DATABASE_URL=url, DJANGO_SETTINGS_MODULE="playground.settings", PYTHONPATH=str(ROOT))
        for args in (["migrate", "--noinput"], ["check", "--database", "default"], ["showmigrations", "topologies"]):
            done = subprocess.run(
                [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
            )
            assert done.returncode == 0, done.stderr
        assert "[X] 0001_initial" in done.stdout
        with psycopg.connect(url) as conn:
            tables = {r[0] for r in conn.execute("select tablename from pg_tables where schemaname='public'")}
        assert any(t.startswith("topologies_") for t in tables)
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()
