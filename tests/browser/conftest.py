"""End-to-end fixtures: a real Daphne on a free port and Debian's Chromium through Playwright.

The server runs in its own process exactly as a person starts it (embedded mode: SQLite, the
in-memory channel layer, the in-process runner), on a throwaway database migrated first. The
browser is the system's `chromium` (never a Playwright download). Without it the tests skip,
unless FANOUT_REQUIRE_BROWSER=1 or CI=true, where a skipped browser test would hide a broken
install, so they fail instead.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


def _must_run() -> bool:
    return os.environ.get("FANOUT_REQUIRE_BROWSER") == "1" or os.environ.get("CI") == "true"


def _unavailable(reason: str) -> None:
    if _must_run():
        pytest.fail(reason)
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_for_port(
    port: int, proc: subprocess.Popen[bytes], log: Path, timeout: float = 30
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"daphne exited with {proc.returncode}:\n{log.read_text()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"daphne did not listen on {port} within {timeout}s:\n{log.read_text()}")


def _ensure_bundle() -> None:
    if (ROOT / "static/dist/main.js").exists():
        return
    npm = shutil.which("npm")
    if npm and (ROOT / "node_modules").exists():
        subprocess.run([npm, "run", "build"], cwd=ROOT, check=True, capture_output=True)
    if not (ROOT / "static/dist/main.js").exists():
        _unavailable("static/dist/main.js is missing: run `npm ci && npm run build` first")


def migrated_env(tmp: Path) -> dict[str, str]:
    """The environment of a Daphne on a fresh, migrated SQLite file in ``tmp``."""
    env = {**os.environ, "FANOUT_SQLITE_PATH": str(tmp / "db.sqlite3"), "PYTHONUNBUFFERED": "1"}
    env.pop("DJANGO_SETTINGS_MODULE", None)  # manage.py and asgi.py set their own
    subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "migrate", "--noinput", "-v0"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    return env


def start_daphne(port: int, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """Daphne serving playground.asgi:application on 127.0.0.1:port, listening when this returns."""
    daphne = Path(sys.executable).parent / "daphne"
    if not daphne.exists():
        daphne = ROOT / ".venv/bin/daphne"
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [str(daphne), "-b", "127.0.0.1", "-p", str(port), "playground.asgi:application"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    _wait_for_port(port, proc, log)
    return proc


def stop_daphne(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


@pytest.fixture(scope="session")
def daphne_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Base URL of a Daphne serving playground.asgi:application on a fresh SQLite file."""
    _ensure_bundle()
    tmp = tmp_path_factory.mktemp("daphne")
    port = _free_port()
    proc = start_daphne(port, migrated_env(tmp), tmp / "daphne.log")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_daphne(proc)


@pytest.fixture(scope="module")
def chromium() -> Iterator[object]:
    """A headless Debian Chromium driven by Playwright's sync API (a plain, non-async fixture).

    Module-scoped: while Playwright's sync API is started it keeps an event loop running in this
    thread, and pytest-asyncio cannot run the websocket tests' loops until it has stopped.
    """
    executable = shutil.which("chromium")
    if not executable:
        _unavailable("Debian's chromium is not installed (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    pw = sync_playwright().start()
    try:
        browser = pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
    finally:
        pw.stop()


@pytest.fixture
def artifacts() -> Path:
    """test-artifacts/ (gitignored): screenshots to look at after a run."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
