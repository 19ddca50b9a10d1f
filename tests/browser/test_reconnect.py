"""A browser whose websocket drops reconnects by itself, with backoff, and resyncs from the
server's snapshot: the server process is stopped under a running page and started again."""

from __future__ import annotations

import pytest

from tests.browser.conftest import (
    _ensure_bundle,
    _free_port,
    migrated_env,
    start_daphne,
    stop_daphne,
)
from tests.browser.test_editor import VIEWPORT, number

pytestmark = pytest.mark.browser


def test_page_reconnects_after_the_server_restarts_and_keeps_the_users_graph(chromium, tmp_path):
    _ensure_bundle()
    env = migrated_env(tmp_path)
    port = _free_port()
    log = tmp_path / "daphne.log"
    proc = start_daphne(port, env, log)
    context = chromium.new_context(viewport=VIEWPORT)
    page = context.new_page()
    try:
        page.goto(f"http://127.0.0.1:{port}/new/?example=starter")
        page.wait_for_function("document.body.dataset.ws === 'open'")
        nodes_before = page.locator(".x6-node").count()
        page.get_by_test_id("btn-run").click()
        page.wait_for_function("() => Number(document.querySelector('[data-testid=counter-produced]')"
                               ".innerText.replace(/\\D/g, '')) > 0", timeout=15_000)

        stop_daphne(proc)
        page.wait_for_function("document.body.dataset.wsState === 'reconnecting'", timeout=15_000)
        proc = start_daphne(port, env, log)
        page.wait_for_function("document.body.dataset.ws === 'open'", timeout=30_000)

        # Nothing the person built is lost, and the run can go on: Run loads the graph again
        # into the new server's (empty) room.
        assert page.locator(".x6-node").count() == nodes_before
        page.get_by_test_id("btn-run").click()
        page.wait_for_function("() => Number(document.querySelector('[data-testid=counter-produced]')"
                               ".innerText.replace(/\\D/g, '')) > 0", timeout=15_000)
        assert number(page, "counter-produced") > 0
    finally:
        context.close()
        stop_daphne(proc)
