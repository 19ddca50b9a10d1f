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


def _sim_seconds(page) -> float:
    return float(page.get_by_test_id("counter-sim-time").inner_text().split()[0])


def test_a_reload_keeps_the_tabs_run_and_opening_another_topology_starts_its_own(chromium, daphne_url):
    """The tab's room survives a reload with its run going on; going to another topology in the
    same tab loads that topology (paused at 0) instead of showing the old run's figures."""
    context = chromium.new_context(viewport=VIEWPORT)
    page = context.new_page()
    page.goto(f"{daphne_url}/new/?example=starter")
    page.wait_for_function("document.body.dataset.ws === 'open'")
    page.get_by_test_id("btn-run").click()
    page.wait_for_function("() => parseFloat(document.querySelector('[data-testid=counter-sim-time]').innerText) >= 1",
                           timeout=15_000)
    page.reload()
    page.wait_for_function("document.body.dataset.ws === 'open' && document.body.dataset.running === 'true'",
                           timeout=15_000)
    assert _sim_seconds(page) >= 1
    page.goto(f"{daphne_url}/new/?example=kafka-retention")
    page.wait_for_function("document.body.dataset.ws === 'open'")
    page.wait_for_function("() => document.querySelector('[data-testid=counter-sim-time]').innerText === '0.0 s'"
                           " && document.body.dataset.running === 'false'", timeout=15_000)
    # Enabled again once the server has the new topology loaded (its snapshot follows the load).
    page.wait_for_function("!document.querySelector('[data-testid=btn-run]').disabled", timeout=15_000)
    page.get_by_test_id("btn-run").click()
    page.wait_for_function("() => document.querySelectorAll(\"[data-cell-id='clicks'] [data-testid=partition-row]\")"
                           ".length > 0", timeout=15_000)
    context.close()
