"""The whole path a teacher takes, in a real browser against a real Daphne: build a topology by
dragging from the palette and connecting ports with the mouse, configure it in the inspector,
run it, watch counters and the DLQ fill, add a consumer and see the rebalance, save, and open
the share link (read-only, with Fork) and the live view in fresh browsers."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

VIEWPORT = {"width": 1600, "height": 1000}


def number(page, testid: str) -> int:
    text = page.get_by_test_id(testid).inner_text()
    return int(re.sub(r"[^\d]", "", text) or 0)


def center(locator) -> tuple[float, float]:
    box = locator.bounding_box()
    assert box is not None
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def drag(page, start: tuple[float, float], end: tuple[float, float]) -> None:
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move(*end, steps=12)
    page.mouse.up()


def node(page, node_type: str):
    """The X6 node (the <g>) whose card is of this type."""
    return page.locator(".x6-node", has=page.get_by_test_id(f"node-{node_type}"))


def port(page, node_type: str, group: str):
    return node(page, node_type).locator(f"circle[port-group='{group}']")


def wait_for_inspector_param(page, name: str, value: object) -> None:
    """Wait until the server sent the inspector form back valid with this param value."""
    page.wait_for_function(
        """([name, value]) => {
            const form = document.querySelector("#inspector-form");
            return form && form.dataset.valid === "true"
                && JSON.parse(form.dataset.params)[name] === value;
        }""",
        arg=[name, value],
    )


def collect_errors(page) -> list[str]:
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(f"page error: {exc}"))
    page.on(
        "console",
        lambda msg: (
            errors.append(f"console: {msg.text}")
            if msg.type == "error" and "favicon" not in msg.text
            else None
        ),
    )
    return errors


def test_build_run_rebalance_save_and_share(daphne_url: str, chromium, artifacts: Path) -> None:
    context = chromium.new_context(viewport=VIEWPORT)
    page = context.new_page()
    errors = collect_errors(page)
    page.goto(f"{daphne_url}/")
    page.wait_for_selector("body[data-ready='true']")
    page.wait_for_selector("body[data-ws='open']")

    # Start from an empty canvas: select everything the starter example drew and delete it.
    # On a loaded machine the first keys can arrive before the canvas has focus: try again.
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

    for _ in range(3):
        page.get_by_test_id("canvas").click(position={"x": 20, "y": 20})
        page.keyboard.press("Control+a")
        page.keyboard.press("Delete")
        try:
            page.wait_for_function("document.querySelectorAll('.x6-node').length === 0", timeout=3000)
            break
        except PlaywrightTimeoutError:
            continue
    assert page.locator(".x6-node").count() == 0
    page.get_by_test_id("btn-fit").click()  # empty canvas: back to 100 %
    page.get_by_test_id("btn-zoom-out").click()
    page.get_by_test_id("btn-zoom-out").click()

    # Drag the four node types from the palette onto the canvas, left to right.
    canvas = page.get_by_test_id("canvas").bounding_box()
    assert canvas is not None
    y = canvas["y"] + canvas["height"] * 0.4
    for i, node_type in enumerate(["producer", "kafka_topic", "consumer_group", "dlq"]):
        x = canvas["x"] + canvas["width"] * (0.12 + 0.25 * i)
        drag(page, center(page.get_by_test_id(f"palette-{node_type}")), (x, y))
        node(page, node_type).wait_for()
    assert page.locator(".x6-node").count() == 4

    # Connect them port to port with the mouse: out (right) -> in (left).
    chain = ["producer", "kafka_topic", "consumer_group", "dlq"]
    for source, target in zip(chain, chain[1:], strict=False):
        drag(page, center(port(page, source, "out")), center(port(page, target, "in")))
    page.wait_for_function("document.querySelectorAll('.x6-edge').length === 3")

    # A connection the declarations forbid (producer straight into a DLQ) is refused.
    producer_box = node(page, "producer").bounding_box()
    drag(page, center(port(page, "producer", "out")), center(port(page, "dlq", "in")))
    page.wait_for_timeout(300)  # X6 renders asynchronously
    assert page.locator(".x6-edge").count() == 3
    assert node(page, "producer").bounding_box() == producer_box  # no accidental node move
    page.get_by_test_id("banner-dismiss").first.click()

    # Configure the group in the inspector: many poison messages, quick retries.
    node(page, "consumer_group").get_by_test_id("node-consumer_group").click()
    form = page.locator("#inspector-form[data-node-type='consumer_group']")
    form.wait_for()
    page.locator("#inspector-poison_rate").fill("0.3")
    page.locator("#inspector-poison_rate").press("Tab")
    wait_for_inspector_param(page, "poison_rate", 0.3)
    page.wait_for_function(
        "document.querySelector('[data-testid=node-consumer_group] .node-summary')"
        ".textContent.includes('30% poison')"
    )
    # An out-of-range value is refused by the server and named under its field.
    page.locator("#inspector-max_attempts").fill("99")
    page.locator("#inspector-max_attempts").press("Tab")
    page.wait_for_selector(".field-error[data-field='max_attempts']")
    page.locator("#inspector-max_attempts").fill("2")
    page.locator("#inspector-max_attempts").press("Tab")
    wait_for_inspector_param(page, "max_attempts", 2)
    # Undo/redo and autosave see the edit.
    assert page.get_by_test_id("btn-undo").is_enabled()

    # Run it, faster than real time.
    page.get_by_test_id("speed").fill("5")  # index 5 = 5x
    page.get_by_test_id("btn-run").click()
    page.wait_for_selector("body[data-running='true']")
    page.wait_for_function(
        "Number(document.querySelector('[data-testid=counter-produced]').textContent"
        ".replace(/\\D/g, '')) > 20",
        timeout=20_000,
    )
    page.get_by_test_id("dlq-entry").first.wait_for(timeout=30_000)
    assert number(page, "counter-consumed") > 0
    assert number(page, "counter-dead-lettered") > 0
    assert page.get_by_test_id("partition-row").count() >= 1

    # Add a consumer: the group rebalances and the timeline lists it.
    before = page.get_by_test_id("rebalance-entry").count()
    page.get_by_test_id("btn-add-consumer").click()
    page.wait_for_function(
        f"document.querySelectorAll('[data-testid=rebalance-entry]').length > {before}",
        timeout=20_000,
    )
    page.wait_for_function(
        "document.querySelectorAll('[data-testid=node-consumer_group] [data-testid=group-member]')"
        ".length === 3",
        timeout=20_000,
    )
    page.wait_for_timeout(1500)
    page.screenshot(path=str(artifacts / "editor-running.png"))

    # Save: a new topology gets its short link, and this browser holds its edit key.
    page.get_by_test_id("btn-save").click()
    page.wait_for_url(re.compile(r"/t/[^/]+/$"))
    page.wait_for_selector("body[data-ready='true']")
    assert page.evaluate("document.body.dataset.mode") == "edit"
    assert page.locator(".x6-node").count() == 4
    share_link = page.url

    # The live view link, for students.
    page.get_by_test_id("btn-share-live").click()
    watch_url = page.get_by_test_id("share-live-url").input_value()
    assert re.search(r"/rooms/[A-Za-z0-9_-]{8,64}/$", watch_url)
    # The tab keeps its room across the navigation to the saved page: the run goes on.
    page.wait_for_selector("body[data-ws='open']")
    page.wait_for_selector("body[data-running='true']")

    # A fresh browser (no edit key) sees the saved topology read-only, with a Fork button.
    other = chromium.new_context(viewport=VIEWPORT)
    student = other.new_page()
    student_errors = collect_errors(student)
    student.goto(share_link)
    student.wait_for_selector("body[data-ready='true']")
    assert student.evaluate("document.body.dataset.mode") == "readonly"
    assert student.get_by_test_id("btn-fork").is_visible()
    assert student.get_by_test_id("btn-save").count() == 0
    assert student.get_by_test_id("palette-producer").count() == 0
    assert student.locator(".x6-node").count() == 4
    student.screenshot(path=str(artifacts / "shared-readonly.png"))

    # And the live view follows the teacher's run.
    student.goto(watch_url)
    student.wait_for_selector("body[data-ws='open']")
    student.get_by_test_id("node-kafka_topic").wait_for(timeout=10_000)
    student.wait_for_function(
        "Number(document.querySelector('[data-testid=counter-produced]').textContent"
        ".replace(/\\D/g, '')) > 0",
        timeout=10_000,
    )
    student.wait_for_timeout(1000)
    student.screenshot(path=str(artifacts / "watch-live.png"))
    assert student.evaluate("document.body.dataset.mode") == "watch"

    other.close()
    context.close()
    assert errors == []
    assert student_errors == []


def test_starter_scenario_kill_a_consumer_and_watch_the_session_timeout(
    daphne_url: str, chromium, artifacts: Path
) -> None:
    """A class opens a ready topology, reads what to watch for, runs it at 10x, kills a consumer
    from the Consumers panel, and sees the group rebalance once the session times out."""
    context = chromium.new_context(viewport=VIEWPORT)
    page = context.new_page()
    errors = collect_errors(page)
    page.goto(f"{daphne_url}/new/?example=starter")
    page.wait_for_selector("body[data-ready='true']")
    page.wait_for_selector("body[data-ws='open']")

    # What to watch for: the example's description, in a box that folds away.
    text = page.get_by_test_id("scenario-text")
    assert text.is_visible()
    assert "killing one and waiting out its session timeout" in text.inner_text()
    summary = page.get_by_test_id("scenario").locator("summary")
    summary.click()
    assert not text.is_visible()
    summary.click()
    assert text.is_visible()

    # The ready topologies, each with its title and what it shows.
    page.get_by_test_id("examples-menu").locator("summary").click()
    reference = page.get_by_test_id("example-reference")
    assert reference.is_visible()
    assert reference.get_attribute("href") == "/new/?example=reference"
    assert "20,000" in reference.inner_text()
    page.screenshot(path=str(artifacts / "examples-menu.png"))
    page.keyboard.press("Escape")
    assert not reference.is_visible()

    # Run at 10x until both consumers own partitions.
    page.get_by_test_id("speed").fill("6")  # index 6 = 10x
    page.get_by_test_id("btn-run").click()
    page.wait_for_selector("body[data-running='true']")
    assert page.get_by_test_id("speed-label").inner_text() == "10×"
    live_chips = (
        "document.querySelectorAll('[data-testid=node-consumer_group] "
        "[data-testid=group-member]:not(.is-dead) .chip').length"
    )
    page.wait_for_function(f"{live_chips} === 6", timeout=20_000)
    assert page.get_by_test_id("consumer-row").count() == 2

    # Kill the first consumer: no LeaveGroup, so nothing moves until its session times out.
    victim = page.get_by_test_id("consumer-row").first
    member = victim.get_attribute("data-member")
    assert member
    victim.get_by_test_id("btn-kill-consumer").click()
    entry = page.get_by_test_id("rebalance-entry").filter(has_text="session timeout")
    entry.first.wait_for(timeout=20_000)
    assert member in entry.first.locator(".rb-reason").inner_text()
    # The survivor takes over all six partitions.
    page.wait_for_function(f"{live_chips} === 6 && document.querySelectorAll("
                           "'[data-testid=node-consumer_group] [data-testid=group-member]"
                           ":not(.is-dead)').length === 1", timeout=20_000)
    page.get_by_test_id("dlq-entry").first.wait_for(timeout=30_000)
    dlq_card = page.get_by_test_id("node-dlq").locator(".kv-value")
    assert int(re.sub(r"[^\d]", "", dlq_card.inner_text()) or 0) > 0
    page.wait_for_timeout(800)
    page.screenshot(path=str(artifacts / "starter-session-timeout.png"))

    context.close()
    assert errors == []


def test_rabbitmq_dead_letters_are_redriven_from_the_dlq_panel(
    daphne_url: str, chromium, artifacts: Path
) -> None:
    """A class runs the dead-letter scenario at 5x, sees orders.dlq fill, presses Redrive and
    sees the messages counted as redriven; the side panel offers each selected node's own
    commands (a queue's redrive and purge, the channels of a RabbitMQ consumer node)."""
    context = chromium.new_context(viewport=VIEWPORT)
    page = context.new_page()
    errors = collect_errors(page)
    page.goto(f"{daphne_url}/new/?example=rabbitmq-dead-letters")
    page.wait_for_selector("body[data-ready='true']")
    page.wait_for_selector("body[data-ws='open']")

    page.get_by_test_id("speed").fill("5")  # index 5 = 5x
    page.get_by_test_id("btn-run").click()
    page.wait_for_selector("body[data-running='true']")
    page.get_by_test_id("dlq-entry").first.wait_for(timeout=30_000)
    store = page.locator("[data-testid=dlq-store][data-store=dlq]")
    store.wait_for(timeout=10_000)
    assert store.get_by_test_id("dlq-redriven").inner_text() == "0 redriven"
    store.get_by_test_id("btn-dlq-redrive").click()
    page.wait_for_function(
        "Number((document.querySelector('[data-testid=dlq-store][data-store=dlq] "
        "[data-testid=dlq-redriven]')?.textContent || '').replace(/\\D/g, '')) > 0",
        timeout=10_000,
    )

    # Select the DLQ's node: the side panel offers what its type's runtime takes.
    page.locator(".x6-node[data-cell-id='dlq'] .node-card").click()
    panel = page.locator("#consumers")
    panel.locator("[data-testid=commands-node][data-node=dlq]").wait_for(timeout=5_000)
    assert panel.get_by_test_id("btn-redrive").is_enabled()
    assert panel.get_by_test_id("btn-purge-queue").is_visible()
    # And a consumer node: one row per channel, each with its own Remove and Kill.
    page.locator(".x6-node[data-cell-id='workers'] .node-card").click()
    panel.locator("[data-testid=commands-node][data-node=workers]").wait_for(timeout=5_000)
    assert panel.get_by_test_id("consumer-row").count() == 2
    assert panel.get_by_test_id("consumer-row").first.get_by_test_id("btn-kill-consumer").is_enabled()
    panel.get_by_test_id("btn-add-consumer").click()
    page.wait_for_function("document.querySelectorAll('#consumers [data-testid=consumer-row]').length === 3",
                           timeout=10_000)
    page.wait_for_timeout(800)
    page.screenshot(path=str(artifacts / "rabbitmq-redrive.png"))

    context.close()
    assert errors == []
