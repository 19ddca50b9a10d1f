"""The windowed aggregate's card (static/src/systems/streams.js) in a real browser: the ready
topology streams-windowed-counts runs, the Kafka Streams card shows its stream time and the Flink
card its watermark, each with its open windows on the time axis."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser.test_editor import VIEWPORT
from tests.browser.test_kafka_views import SPEED_5X, WAIT, open_example, run

pytestmark = pytest.mark.browser


def test_windowed_aggregate_cards_show_their_clock_and_open_windows(daphne_url: str, chromium, artifacts: Path) -> None:
    context = chromium.new_context(viewport=VIEWPORT)
    page, errors = open_example(context, daphne_url, "streams-windowed-counts", SPEED_5X)
    run(page)
    for node, clock in (("ks-count", "stream time"), ("flink-count", "watermark")):
        card = page.locator(f".x6-node[data-cell-id='{node}']")
        card.locator("[data-testid=stm-windows] .stm-row").first.wait_for(timeout=WAIT)
        page.wait_for_function(
            """([node, word]) => {
                const el = document.querySelector(`.x6-node[data-cell-id='${node}'] [data-testid=stm-clock]`);
                return el && el.textContent.startsWith(word) && /\\d s/.test(el.textContent);
            }""", arg=[node, clock], timeout=WAIT)
    page.screenshot(path=str(artifacts / "streams-cards.png"))
    assert errors == []
    context.close()
