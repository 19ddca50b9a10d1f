"""Three Kafka views, used as a class would use them in a real browser against a real Daphne:
the cluster card with its broker controls (kill a broker, see its leaderships move, restart it),
a consumer group's lag chart with its alert threshold, and a topic's partition log as segments
(what retention deleted, what compaction removed).

The runs go faster than real time through the page's own speed slider, and every wait is on the
DOM the page draws from the server's frames, never on a fixed sleep."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser.test_editor import VIEWPORT, collect_errors, wait_for_inspector_param

pytestmark = pytest.mark.browser

# Indexes of the speed slider (SPEEDS in static/src/controls.js).
SPEED_1X = "3"
SPEED_5X = "5"
SPEED_10X = "6"
SPEED_20X = "7"

WAIT = 15_000  # ms: generous, a loaded CI machine runs these at a fraction of the speed


def open_example(context, base_url: str, name: str, speed: str):
    page = context.new_page()
    errors = collect_errors(page)
    page.goto(f"{base_url}/new/?example={name}")
    page.wait_for_selector("body[data-ready='true']")
    page.wait_for_selector("body[data-ws='open']")
    for dismiss in page.get_by_test_id("banner-dismiss").all():
        dismiss.click()
    page.get_by_test_id("speed").fill(speed)
    return page, errors


def run(page) -> None:
    page.get_by_test_id("btn-run").click()
    page.wait_for_selector("body[data-running='true']")


def select_node(page, node_id: str) -> None:
    """Click a node's card: the inspector and the side panel of actions turn to it."""
    page.locator(f".x6-node[data-cell-id='{node_id}'] .node-head").click()
    page.locator(f"#consumers [data-testid=commands-node][data-node='{node_id}']").wait_for(timeout=WAIT)


def wait_js(page, predicate: str, arg: object = None, timeout: int = WAIT) -> None:
    page.wait_for_function(predicate, arg=arg, timeout=timeout)


# -- 1. the cluster card and its broker controls ---------------------------------------------

LEADERS = """() => [...document.querySelectorAll(
    '[data-testid=cluster-partition], [data-testid=replica-row]')].map(
    (row) => [row.dataset.leader, row.dataset.isr.split(',').filter(Boolean)])"""


def test_killed_broker_loses_its_leaderships_and_restart_brings_it_back_into_the_isr(
    daphne_url: str, chromium, artifacts: Path
) -> None:
    context = chromium.new_context(viewport=VIEWPORT)
    page, errors = open_example(context, daphne_url, "kafka-acks-1-vs-all", SPEED_10X)
    run(page)
    # Two topics of three partitions on one cluster: six rows on the cluster card, three on
    # each topic card's replication strip.
    wait_js(page, "document.querySelectorAll('[data-testid=cluster-partition][data-leader]').length === 6")
    wait_js(page, "document.querySelectorAll('[data-testid=replica-row]').length === 6")
    page.get_by_test_id("btn-fit").click()
    select_node(page, "kafka")
    panel = page.locator("#consumers")
    rows = panel.get_by_test_id("broker-row")
    assert rows.count() == 3
    assert [rows.nth(i).get_attribute("data-state") for i in range(3)] == ["up", "up", "up"]

    # The victim: the broker leading the first partition shown.
    leaders = page.evaluate(LEADERS)
    victim = leaders[0][0]
    assert victim in {"1", "2", "3"}
    led_before = sum(1 for leader, _ in leaders if leader == victim)
    assert led_before >= 1
    victim_row = panel.locator(f"[data-testid=broker-row][data-broker='{victim}']")
    assert f"leads {led_before // 2}" in victim_row.inner_text()  # each partition is on two cards
    victim_chip = page.locator(f"[data-testid=broker][data-broker='{victim}']")

    # Slow another broker with the panel's factor: the factor reaches the engine.
    other = next(b for b in ("1", "2", "3") if b != victim)
    other_row = panel.locator(f"[data-testid=broker-row][data-broker='{other}']")
    panel.get_by_test_id("arg-factor").fill("500")
    other_row.get_by_test_id("btn-slow-broker").click()
    page.locator(f"[data-testid=broker-row][data-broker='{other}'][data-state=slow]").wait_for(timeout=WAIT)
    other_chip = page.locator(f"[data-testid=broker][data-broker='{other}']")
    assert other_chip.get_attribute("data-state") == "slow"
    assert other_chip.get_attribute("title") == "replication ×500"
    normal = other_row.get_by_test_id("btn-restart-broker")
    assert normal.inner_text() == "Restart"  # the same label in every state (its help: back to normal speed)
    normal.click()
    page.locator(f"[data-testid=broker-row][data-broker='{other}'][data-state=up]").wait_for(timeout=WAIT)

    # Kill the victim: it shows as down at once, on the panel and on the cluster card, and the
    # only thing left to do with it is to restart it.
    victim_row.get_by_test_id("btn-kill-broker").click()
    page.locator(f"[data-testid=broker-row][data-broker='{victim}'][data-state=down]").wait_for(timeout=WAIT)
    assert victim_chip.get_attribute("data-state") == "down"
    assert "down" in victim_chip.inner_text()
    assert victim_row.get_by_test_id("btn-kill-broker").count() == 0
    assert victim_row.get_by_test_id("btn-restart-broker").is_enabled()

    # Once its session lapses (broker.session.timeout.ms, 9 s simulated) the controller moves
    # its leaderships to the other brokers and drops it from every ISR: no partition shown on
    # the cluster card or a topic card is led by it, and none is left without a leader.
    wait_js(
        page,
        f"""() => {{
            const rows = ({LEADERS})();
            return rows.length === 12 && rows.every(([leader, isr]) =>
                leader !== '' && leader !== {victim!r} && !isr.includes({victim!r}));
        }}""",
    )
    assert "6 under-replicated" in page.get_by_test_id("node-kafka_cluster").inner_text()
    assert victim_row.inner_text().split()[-2:] == ["down", "Restart"]
    page.wait_for_timeout(300)  # let the cards settle for the picture
    page.screenshot(path=str(artifacts / "kafka-broker-killed.png"))
    page.locator(".panel-consumers").screenshot(path=str(artifacts / "kafka-broker-killed-panel.png"))

    # Restart it: up again on the panel and the card, a follower that catches up and rejoins
    # the ISR of every partition it holds (all six: replication factor 3 on 3 brokers).
    victim_row.get_by_test_id("btn-restart-broker").click()
    page.locator(f"[data-testid=broker-row][data-broker='{victim}'][data-state=up]").wait_for(timeout=WAIT)
    assert victim_chip.get_attribute("data-state") == "up"
    assert victim_row.get_by_test_id("btn-kill-broker").is_enabled()
    wait_js(
        page,
        f"""() => {{
            const rows = ({LEADERS})();
            return rows.length === 12 && rows.every(([leader, isr]) => isr.includes({victim!r}));
        }}""",
    )
    assert "under-replicated" not in page.get_by_test_id("node-kafka_cluster").inner_text()
    page.wait_for_timeout(300)
    page.screenshot(path=str(artifacts / "kafka-broker-restarted.png"))

    context.close()
    assert errors == []


# -- 2. a group's lag chart and its alert threshold ------------------------------------------

# Pixels of the group's lag chart: the lag line (#7c3aed), the dashed threshold (#dc2626), and
# the rows they reach. The canvas is the chart's plot; the card around it is HTML.
CHART_PIXELS = """(root) => {
    const canvas = root.querySelector('canvas');
    if (!canvas || !canvas.width) return null;
    const {data, width, height} = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height);
    const out = {width, height, painted: 0, lag: 0, lagTop: height, threshold: 0, thresholdRows: []};
    const rows = new Set();
    for (let i = 0; i < data.length; i += 4) {
        const [r, g, b, a] = [data[i], data[i + 1], data[i + 2], data[i + 3]];
        if (a === 0) continue;
        out.painted++;
        const y = Math.floor(i / 4 / width);
        if (r > 180 && g < 100 && b < 100) { out.threshold++; rows.add(y); }
        else if (b > 180 && r > 90 && r < 170 && g < 110) { out.lag++; out.lagTop = Math.min(out.lagTop, y); }
    }
    out.thresholdRows = [...rows].sort((a, b) => a - b);
    return out;
}"""


def test_group_lag_chart_draws_the_threshold_and_the_lag_label_turns_into_an_alert(
    daphne_url: str, chromium, artifacts: Path
) -> None:
    """The starter's group made slow (400 ms a record for 20 records/s) with a lag alert at 30
    records: its lag climbs past the line."""
    context = chromium.new_context(viewport=VIEWPORT)
    page, errors = open_example(context, daphne_url, "starter", SPEED_5X)
    page.locator(".x6-node[data-cell-id='billing'] .node-head").click()
    page.locator("#inspector-form[data-node-type='consumer_group']").wait_for()
    for name, value in (("processing_ms", 400), ("lag_alert", 30)):
        field = page.locator(f"#inspector-{name}")
        field.fill(str(value))
        field.press("Tab")
        wait_for_inspector_param(page, name, value)

    card = page.locator(".x6-node[data-cell-id='billing'] .node-card")
    lag = card.get_by_test_id("group-lag")
    chart = card.get_by_test_id("group-lag-chart")

    # One step (0.1 s simulated): a lag far below the threshold, no alert yet.
    page.get_by_test_id("btn-step").click()
    lag.wait_for(timeout=WAIT)
    assert "is-alert" not in (lag.get_attribute("class") or "")
    assert "is-alerting" not in (card.get_attribute("class") or "")
    assert not lag.inner_text().startswith("⚠")

    # Run: the lag goes over 30 and the label says so, in red, as does the card's frame.
    run(page)
    page.locator(".x6-node[data-cell-id='billing'] [data-testid=group-lag].is-alert").wait_for(timeout=WAIT)
    assert "is-alerting" in (card.get_attribute("class") or "")
    text = lag.inner_text()
    assert text.startswith("⚠ lag ") and text.endswith("> 30"), text
    assert int(text.split()[2].replace(",", "")) > 30

    # The chart has drawn both series: the lag line, and the threshold as one horizontal dashed
    # line, with the lag line reaching above it. Let a few more frames in so the line is long.
    wait_js(
        page,
        f"""() => {{
            const px = ({CHART_PIXELS})(document.querySelector(
                ".x6-node[data-cell-id='billing'] [data-testid=group-lag-chart]"));
            return px && px.threshold > 40 && px.lag > 40 && px.lagTop < px.thresholdRows[0];
        }}""",
    )
    px = chart.evaluate(CHART_PIXELS)
    assert px["painted"] > 0.02 * px["width"] * px["height"]  # axes, grid, series: not blank
    rows = px["thresholdRows"]
    assert rows[-1] - rows[0] <= 4, rows  # one horizontal line, not a curve
    assert px["lagTop"] < rows[0]  # the lag went over the threshold, on the chart too
    page.get_by_test_id("btn-pause").click()
    page.wait_for_selector("body[data-running='false']")
    chart.screenshot(path=str(artifacts / "kafka-group-lag-chart.png"))
    card.screenshot(path=str(artifacts / "kafka-group-lag-alert.png"))

    # The same chart per consumer and per partition: one line each, with their history.
    members = card.get_by_test_id("group-member").count()
    partitions = page.locator(".x6-node[data-cell-id='orders'] [data-testid=partition-row]").count()
    assert members >= 1 and partitions >= 1
    card.get_by_test_id("lag-view-consumers").click()
    assert chart.get_attribute("data-mode") == "consumers"
    assert chart.get_attribute("data-series") == str(members)
    card.get_by_test_id("lag-view-partitions").click()
    assert chart.get_attribute("data-series") == str(partitions)
    assert chart.evaluate(CHART_PIXELS)["painted"] > 0.02 * px["width"] * px["height"]
    chart.screenshot(path=str(artifacts / "kafka-group-lag-partitions.png"))
    card.get_by_test_id("lag-view-group").click()
    assert chart.get_attribute("data-series") == "2"

    context.close()
    assert errors == []


# -- 3. a topic's partition log as segments --------------------------------------------------

SEGMENTS = """(panel) => ({
    partition: panel.dataset.partition,
    hidden: panel.hidden,
    title: panel.querySelector('.seg-title').textContent,
    logStart: Number(panel.querySelector('[data-testid=segments-deleted]').dataset.logStart || 0),
    deletedShown: !panel.querySelector('[data-testid=segments-deleted]').hidden,
    removed: panel.querySelector('[data-testid=segments-removed]').textContent,
    retention: Number(panel.querySelector('[data-testid=segments-removed]').dataset.retention || 0),
    compaction: Number(panel.querySelector('[data-testid=segments-removed]').dataset.compaction || 0),
    segments: [...panel.querySelectorAll('[data-testid=segment]')].map((s) => ({
        base: Number(s.dataset.base), end: Number(s.dataset.end), records: Number(s.dataset.records),
        active: s.dataset.active === 'true', cleaned: s.dataset.cleaned === 'true',
        width: s.getBoundingClientRect().width,
        label: s.querySelector('.seg-label').textContent,
    })),
})"""


def segments_of(page, topic: str) -> dict:
    return page.locator(f".x6-node[data-cell-id='{topic}'] [data-testid=segments]").evaluate(SEGMENTS)


def wait_segments(page, topic: str, predicate: str) -> dict:
    """Wait until ``predicate`` (JS, over the SEGMENTS view as ``s``) holds; return the view."""
    wait_js(
        page,
        f"""() => {{
            const panel = document.querySelector(".x6-node[data-cell-id='{topic}'] [data-testid=segments]");
            if (!panel) return false;
            const s = ({SEGMENTS})(panel);
            return {predicate};
        }}""",
    )
    return segments_of(page, topic)


def assert_one_active_segment_last(view: dict) -> None:
    segs = view["segments"]
    assert [s["active"] for s in segs] == [False] * (len(segs) - 1) + [True], segs
    assert segs[-1]["label"] == "active"
    assert not segs[-1]["cleaned"]  # the cleaner never touches the active segment
    assert all(a["end"] == b["base"] for a, b in zip(segs, segs[1:], strict=False)), segs  # contiguous


def test_retention_deletes_whole_segments_from_the_tail_of_the_partition_log(
    daphne_url: str, chromium, artifacts: Path
) -> None:
    """150 records/s into 3 partitions of 8 KiB segments kept 10 s (kafka-retention)."""
    context = chromium.new_context(viewport=VIEWPORT)
    page, errors = open_example(context, daphne_url, "kafka-retention", SPEED_1X)
    run(page)
    # At 1x, a second in: segments have rolled and retention (10 s) cannot have deleted any.
    view = wait_segments(page, "clicks", "!s.hidden && s.segments.length >= 2")
    assert view["title"] == "P0 log" and view["partition"] == "0"
    assert_one_active_segment_last(view)
    assert view["segments"][0]["base"] == 0
    assert not view["deletedShown"] and view["retention"] == 0
    assert view["removed"] == "nothing removed yet"
    assert view["segments"][-1]["width"] >= 40  # "active" stays readable however many segments

    # 20x: past 10 s whole segments go from the tail, the log start jumps to a segment's base.
    page.get_by_test_id("speed").fill(SPEED_20X)
    view = wait_segments(page, "clicks", "s.deletedShown && s.logStart > 0 && s.retention > 0")
    assert view["removed"].startswith("removed: retention −")
    assert view["retention"] == view["logStart"]  # everything below the start, nothing else
    assert view["segments"][0]["base"] >= view["logStart"]
    assert_one_active_segment_last(view)
    # And again: the log start moves on while the head keeps rolling.
    first_start = view["logStart"]
    first_active = view["segments"][-1]["base"]
    view = wait_segments(page, "clicks", f"s.logStart > {first_start} && s.segments.at(-1).base > {first_active}")
    assert_one_active_segment_last(view)
    page.get_by_test_id("btn-pause").click()
    page.wait_for_selector("body[data-running='false']")

    # Clicking a partition's row shows its log, even while paused (no frame comes to redraw).
    page.locator(".x6-node[data-cell-id='clicks'] [data-testid=partition-row][data-partition='2']").click()
    view = segments_of(page, "clicks")
    assert view["title"] == "P2 log" and view["partition"] == "2"
    assert len(view["segments"]) >= 2
    assert_one_active_segment_last(view)
    row = page.locator(".x6-node[data-cell-id='clicks'] [data-testid=partition-row][data-partition='2']")
    assert "is-selected" in (row.get_attribute("class") or "")
    page.locator(".x6-node[data-cell-id='clicks'] .node-card").screenshot(path=str(artifacts / "kafka-retention.png"))

    context.close()
    assert errors == []


def test_compaction_leaves_cleaned_segments_with_gaps_and_never_touches_the_active_one(
    daphne_url: str, chromium, artifacts: Path
) -> None:
    """100 updates/s over 12 keys into a compacted topic of 4 KiB segments (kafka-compaction-changelog)."""
    context = chromium.new_context(viewport=VIEWPORT)
    page, errors = open_example(context, daphne_url, "kafka-compaction-changelog", SPEED_20X)
    run(page)
    view = wait_segments(
        page, "user-profiles", "s.compaction > 0 && s.segments.some((seg) => seg.cleaned && seg.records > 0)"
    )
    assert_one_active_segment_last(view)
    assert view["removed"].startswith("removed: compaction −")
    assert "cleans" in view["removed"]
    # Compaction keeps offsets: a cleaned segment holds fewer records than offsets (the gaps),
    # and it shrinks on the card next to a full closed or the active one.
    cleaned = [s for s in view["segments"] if s["cleaned"]]
    assert all(s["records"] < s["end"] - s["base"] for s in cleaned), cleaned
    assert min(s["width"] for s in cleaned) < view["segments"][-1]["width"]
    # Nothing was deleted by retention: the log still starts at offset 0.
    assert view["logStart"] == 0 and not view["deletedShown"] and view["retention"] == 0
    assert view["segments"][0]["base"] == 0
    page.get_by_test_id("btn-pause").click()
    page.wait_for_selector("body[data-running='false']")
    page.locator(".x6-node[data-cell-id='user-profiles'] .node-card").screenshot(
        path=str(artifacts / "kafka-compaction.png")
    )

    context.close()
    assert errors == []


# -- 4. transactions: the LSO, markers, isolation levels and end-to-end duplicates -------------

E2E = """(id) => {
    const el = document.querySelector(`.x6-node[data-cell-id='${id}'] [data-testid=group-e2e-dups]`);
    return el ? Number(el.dataset.count) : null;
}"""


def test_transactional_pipeline_shows_markers_lso_and_duplicates_only_for_read_uncommitted(
    daphne_url: str, chromium, artifacts: Path
) -> None:
    """The transactional pipeline: the producer card tells its transactions, the payments topic
    its committed and aborted transactions and markers, and of the two readers counting
    duplicates by origin only the read_uncommitted one sees any (the aborted payments)."""
    context = chromium.new_context(viewport=VIEWPORT)
    page, errors = open_example(context, daphne_url, "kafka-transactional-pipeline", SPEED_10X)
    run(page)
    txn = page.locator(".x6-node[data-cell-id='payments'] [data-testid=producer-txn]")
    txn.wait_for(timeout=WAIT)
    wait_js(page, """() => /[1-9][\\d,]* aborted/.test(
        document.querySelector(".x6-node[data-cell-id='payments'] [data-testid=producer-txn]").textContent)""")
    topic = page.locator(".x6-node[data-cell-id='payments-topic'] [data-testid=topic-txn]")
    topic.wait_for(timeout=WAIT)
    assert "markers" in topic.inner_text() and "aborted" in topic.inner_text()
    # Every partition row carries its LSO, never past the high watermark it shows.
    lsos = page.locator(".x6-node[data-cell-id='payments-topic'] [data-testid=partition-row]")
    wait_js(page, """() => [...document.querySelectorAll(
        ".x6-node[data-cell-id='payments-topic'] [data-testid=partition-row]")].every((r) => r.dataset.lso !== '')""")
    assert lsos.count() == 3
    wait_js(page, f"() => ({E2E})('dashboard') > 0")
    assert page.evaluate(E2E, "ledger") == 0
    assert "read_committed" in page.locator(".x6-node[data-cell-id='ledger'] [data-testid=group-txn]").inner_text()
    fraud = page.locator(".x6-node[data-cell-id='fraud-check'] [data-testid=group-txn]").inner_text()
    assert fraud.startswith("exactly once → checked")
    page.screenshot(path=str(artifacts / "kafka-transactions.png"))
    assert errors == []
    context.close()
