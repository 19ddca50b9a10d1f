"""Fixtures for the scaled mode against real services: Redis (127.0.0.1:6379) and PostgreSQL.

Each test uses its own Redis key prefix and Celery queue (``fanout-test-<random>``) on
database 9, so runs of other people on the same Redis never collide, and deletes its keys at
the end. Workers and Daphne processes are started by the tests as subprocesses, each stopped by
its PID. Without the services the tests skip, unless FANOUT_REQUIRE_SERVICES=1 or CI=true:
there a skipped service test would hide a broken set-up, so they fail instead.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
REDIS_URL = os.environ.get("FANOUT_TEST_REDIS_URL", "redis://127.0.0.1:6379/9")
POSTGRES_URL = os.environ.get("FANOUT_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
TICK_SECONDS = 0.05
LEASE_SECONDS = 1.5
START_TIMEOUT = 30.0


def must_run() -> bool:
    return os.environ.get("FANOUT_REQUIRE_SERVICES") == "1" or os.environ.get("CI") == "true"


def unavailable(reason: str) -> None:
    if must_run():
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def redis_url() -> str:
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.exceptions.RedisError as exc:
        unavailable(f"Redis is not reachable at {REDIS_URL}: {exc}")
    finally:
        client.close()
    return REDIS_URL


@pytest.fixture
def prefix(redis_url: str) -> Iterator[str]:
    """This test's key prefix and queue name; its keys are deleted at the end."""
    import redis

    name = f"fanout-test-{uuid.uuid4().hex[:10]}"
    yield name
    client = redis.Redis.from_url(redis_url)
    try:
        for pattern in (f"{name}*", f"_kombu.*{name}*"):
            batch = list(client.scan_iter(match=pattern, count=500))
            if batch:
                client.delete(*batch)
    finally:
        client.close()


@pytest.fixture
def scaled_env(redis_url: str, prefix: str, tmp_path: Path) -> dict[str, str]:
    """Environment of a scaled-mode process (worker or Daphne) of this test session."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("FANOUT_", "DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE"))
    }
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "playground.settings",
            "PYTHONPATH": str(ROOT),
            "REDIS_URL": redis_url,
            "FANOUT_REDIS_PREFIX": prefix,
            "FANOUT_CELERY_QUEUE": prefix,
            "FANOUT_TICK_SECONDS": str(TICK_SECONDS),
            "FANOUT_LEASE_SECONDS": str(LEASE_SECONDS),
            "FANOUT_CHECKPOINT_SECONDS": "1",
            "FANOUT_SQLITE_PATH": str(tmp_path / "db.sqlite3"),
            "FANOUT_SECRET_KEY": "tests-only-" + "k" * 50,
        }
    )
    return env


@pytest.fixture
def scaled_settings(settings: Any, redis_url: str, prefix: str) -> Any:
    """This process in the scaled mode, talking to this session's prefix and queue."""
    settings.FANOUT_RUNNER = "celery"
    settings.FANOUT_REDIS_URL = redis_url
    settings.FANOUT_REDIS_PREFIX = prefix
    settings.FANOUT_CELERY_QUEUE = prefix
    settings.CELERY_BROKER_URL = redis_url
    settings.FANOUT_TICK_SECONDS = TICK_SECONDS
    settings.FANOUT_LEASE_SECONDS = LEASE_SECONDS
    settings.FANOUT_CHECKPOINT_SECONDS = 1.0
    from playground.celery import app

    app.conf.broker_url = redis_url
    return settings


class Processes:
    """Subprocesses of one test, each stopped by its PID at the end."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env = env
        self.logs = logs
        self.procs: list[tuple[subprocess.Popen[bytes], Path]] = []

    def start(self, name: str, args: list[str]) -> subprocess.Popen[bytes]:
        log = self.logs / f"{name}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(args, cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT)
        self.procs.append((proc, log))
        return proc

    def worker(self, name: str) -> subprocess.Popen[bytes]:
        """A Celery worker with one room slot; returns once it has registered in Redis."""
        import redis

        proc = self.start(
            name,
            [
                str(BIN / "celery"),
                "-A",
                "playground",
                "worker",
                "--pool=solo",
                "--without-mingle",
                "--without-gossip",
                "-n",
                f"{name}@%h",
                "-Q",
                self.env["FANOUT_CELERY_QUEUE"],
                "--loglevel=INFO",
            ],
        )
        client = redis.Redis.from_url(self.env["REDIS_URL"])
        key = f"{self.env['FANOUT_REDIS_PREFIX']}:worker:{name}@{socket.gethostname()}:{proc.pid}"
        try:
            self._wait(proc, name, lambda: bool(client.exists(key)))
        finally:
            client.close()
        return proc

    def migrate(self) -> None:
        """Migrate this test's SQLite file once (control keys are checked in the database)."""
        if not getattr(self, "migrated", False):
            subprocess.run([str(BIN / "python"), "manage.py", "migrate", "--noinput", "-v", "0"],
                           cwd=ROOT, env=self.env, check=True, capture_output=True)
            self.migrated = True

    def issue_key(self, room: str, key: str) -> None:
        """Issue ``key`` for ``room`` as the server would have (manage.py room_key)."""
        self.migrate()
        subprocess.run([str(BIN / "python"), "manage.py", "room_key", "--replace", "--key", key, room],
                       cwd=ROOT, env=self.env, check=True, capture_output=True)

    def daphne(self, name: str) -> int:
        """A Daphne process in the scaled mode; returns its port once it listens."""
        self.migrate()
        port = free_port()
        proc = self.start(
            name,
            [str(BIN / "daphne"), "-b", "127.0.0.1", "-p", str(port), "playground.asgi:application"],
        )

        def listening() -> bool:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    return True
            except OSError:
                return False

        self._wait(proc, name, listening)
        return port

    def log(self, proc: subprocess.Popen[bytes]) -> str:
        for p, log in self.procs:
            if p is proc:
                return log.read_text(errors="replace")
        return ""

    def _wait(self, proc: subprocess.Popen[bytes], name: str, ready: Callable[[], bool]) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited with {proc.returncode}:\n{self.log(proc)}")
            if ready():
                return
            time.sleep(0.1)
        raise RuntimeError(f"{name} not ready within {START_TIMEOUT} s:\n{self.log(proc)}")

    def stop_all(self) -> None:
        for proc, _log in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 10
        for proc, _log in self.procs:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.fixture
def processes(scaled_env: dict[str, str], tmp_path: Path) -> Iterator[Processes]:
    procs = Processes(scaled_env, tmp_path)
    try:
        yield procs
    finally:
        procs.stop_all()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
