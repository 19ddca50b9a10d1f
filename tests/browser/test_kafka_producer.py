"""The Kafka producer's card in a real browser: a zombie instance fenced by the command button
(kafka-zombie-fencing), and the batching counters (kafka-batching-and-compression)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser.test_editor import VIEWPORT
from tests.browser.test_kafka_views import SPEED_10X, WAIT, open_example, run, select_node, wait_js

pytestmark = pytest.mark.browser


def card_text(node: str, testid: str) -> str:
    return f"""() => document.querySelector(".x6-node[data-cell-id='{node}'] [data-testid={testid}]")?.textContent"""


def test_start_a_second_instance_fences_the_zombie_and_its_transaction_is_aborted(
    daphne_url: str, chromium, artifacts: Path
) -> None:
    """The producer's side panel has a 'Start a second instance' button (its runtime's commands
    table); pressing it bumps the epoch shown on the card, the zombie is fenced, the open
    transaction aborted, and only the read_uncommitted dashboard counts duplicates."""
    context = chromium.new_context(viewport=VIEWPORT)
    page, errors = open_example(context, daphne_url, "kafka-zombie-fencing", SPEED_10X)
    run(page)
    wait_js(page, f"() => /[1-9][\\d,]* committed/.test(({card_text('payments', 'producer-txn')})() || '')")
    epoch = page.locator(".x6-node[data-cell-id='payments'] [data-testid=producer-epoch]")
    assert epoch.inner_text().strip().endswith("0")
    select_node(page, "payments")
    button = page.locator("#consumers").get_by_test_id("btn-start-instance")
    assert button.inner_text() == "Start a second instance"
    button.click()
    wait_js(page, f"() => /1 · fenced 1/.test(({card_text('payments', 'producer-epoch')})() || '')")
    wait_js(page, f"() => /[1-9][\\d,]* aborted/.test(({card_text('payments', 'producer-txn')})() || '')")
    card = """(id) => document.querySelector(`.x6-node[data-cell-id='${id}']`)?.textContent || ''"""
    wait_js(page, f"() => /end-to-end duplicates [1-9]/.test(({card})('dashboard'))", timeout=WAIT)
    assert "end-to-end duplicates 0" in page.evaluate(card, "ledger")
    page.screenshot(path=str(artifacts / "kafka-zombie-fencing.png"))
    assert errors == []
    context.close()


def test_the_batching_counters_show_records_per_batch_requests_and_bytes_on_the_wire(
    daphne_url: str, chromium, artifacts: Path
) -> None:
    context = chromium.new_context(viewport=VIEWPORT)
    page, errors = open_example(context, daphne_url, "kafka-batching-and-compression", SPEED_10X)
    run(page)
    for node in ("tiny-producer", "lingered-producer", "slow-none-producer"):
        wait_js(page, f"() => /rec · .*\\/s/.test(({card_text(node, 'producer-batching')})() || '')")
        wait_js(page, f"() => / B/.test(({card_text(node, 'producer-wire')})() || '')")
    wait_js(page, f"() => !!({card_text('slow-none-producer', 'producer-buffer')})()")
    page.screenshot(path=str(artifacts / "kafka-batching.png"))
    assert errors == []
    context.close()
