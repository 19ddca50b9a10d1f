"""Kafka consumer groups in a real browser against a real Daphne: the static and rack badges, the
cross-rack share, and the offset reset buttons (stop the group, reset it to a time, replay)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser.test_editor import VIEWPORT
from tests.browser.test_kafka_views import SPEED_10X, WAIT, open_example, run, select_node

pytestmark = pytest.mark.browser


def card(page, node_id: str):
    return page.locator(f".x6-node[data-cell-id='{node_id}'] .node-card")


def test_replay_stop_reset_to_a_time_and_start_again(daphne_url: str, chromium, artifacts: Path) -> None:
    """kafka-replay: audit dies of NoOffsetForPartitionException; billing's reset is refused while
    it runs, then, stopped and Empty, it is reset to 30 s ago and replays."""
    context = chromium.new_context(viewport=VIEWPORT)
    page, errors = open_example(context, daphne_url, "kafka-replay", SPEED_10X)
    run(page)
    audit, billing = card(page, "audit"), card(page, "billing")
    audit.get_by_test_id("group-offset-error").wait_for(timeout=WAIT)
    assert "NoOffsetForPartitionException" in audit.get_by_test_id("group-offset-error").inner_text()
    assert billing.get_by_test_id("member-static").count() == 1

    select_node(page, "billing")
    page.get_by_test_id("btn-stop-consumers").click()
    page.wait_for_function(
        """() => document.querySelector(".x6-node[data-cell-id='billing'] .grp-state")
                 ?.textContent.startsWith("Empty")""", timeout=WAIT)
    page.get_by_test_id("arg-t").fill("5")
    page.get_by_test_id("btn-reset-to-datetime").click()
    reset = billing.get_by_test_id("group-reset")
    reset.wait_for(timeout=WAIT)
    assert reset.inner_text().startswith("reset to datetime t=5")
    page.get_by_test_id("btn-start-consumers").click()
    page.wait_for_function(
        """() => document.querySelectorAll(
            ".x6-node[data-cell-id='billing'] [data-testid=group-member]").length === 3""",
        timeout=WAIT)
    billing.screenshot(path=str(artifacts / "kafka-replay-billing.png"))
    assert not errors, errors


def test_rack_aware_groups_show_racks_and_cross_rack_share(daphne_url: str, chromium, artifacts: Path) -> None:
    """kafka-rack-aware: every member shows its rack; the groups show their cross-rack share."""
    context = chromium.new_context(viewport=VIEWPORT)
    page, errors = open_example(context, daphne_url, "kafka-rack-aware", SPEED_10X)
    run(page)
    for node in ("aware", "sticky", "blind"):
        line = card(page, node).get_by_test_id("group-racks")
        line.wait_for(timeout=WAIT)
        assert line.inner_text().startswith("cross-rack ")
        assert card(page, node).get_by_test_id("member-rack").count() == 3
    page.wait_for_function(
        """() => /^cross-rack 0%/.test(document.querySelector(
            ".x6-node[data-cell-id='sticky'] [data-testid=group-racks]")?.textContent || "")""", timeout=WAIT)
    card(page, "sticky").screenshot(path=str(artifacts / "kafka-rack-aware-sticky.png"))
    assert not errors, errors
