// The HTML body of each node on the canvas (an X6 HTML shape renders it in a foreignObject).
// One long-lived element per node id: the live panels write into its `.node-live` slot every
// frame without touching the X6 cell, so live updates never enter undo history or re-render
// the graph.
import { h, fmtInt } from "../dom.js";
import { partitionColor } from "../colors.js";

const cards = new Map(); // node id -> {el, head, label, summary, live}

export function cardFor(cell, typeInfo) {
  let card = cards.get(cell.id);
  if (!card) {
    card = build(cell, typeInfo);
    cards.set(cell.id, card);
  }
  return card.el;
}

export function liveSlot(nodeId) {
  return cards.get(nodeId)?.live || null;
}

export function refreshCard(cell, typeInfo) {
  const card = cards.get(cell.id);
  if (!card) return;
  const data = cell.getData() || {};
  card.data = data;
  card.label.textContent = data.label || typeInfo?.label || data.type;
  card.summary.textContent = summarize(data.type, data.params || {}, typeInfo);
  if (card.live.dataset.live !== "1") preview(card.live, data);
}

/** Give a live slot back to the static preview (the live widgets were cleared). */
export function restorePreview(nodeId) {
  const card = cards.get(nodeId);
  if (!card) return;
  delete card.live.dataset.live;
  preview(card.live, card.data || {});
}

/**
 * Before a run, show the shape of what will move: a topic's empty partition logs, a group's
 * members waiting to join. The live widgets take the slot over at the first frame.
 */
function preview(slot, data) {
  const p = data.params || {};
  if (data.type === "kafka_topic") {
    const n = Math.max(1, Number(p.partitions) || 1);
    const rows = [];
    for (let i = 0; i < Math.min(n, 24); i++) {
      rows.push(
        h(
          "div",
          { class: "plog-row" },
          h("span", { class: "plog-p", style: { background: partitionColor(i) } }, `P${i}`),
          h("div", { class: "plog-track" }),
          h("span", { class: "plog-nums" }, h("span", { class: "plog-lagtext" }, "empty")),
        ),
      );
    }
    if (n > 24) rows.push(h("div", { class: "plog-more" }, `+ ${n - 24} more partitions`));
    slot.replaceChildren(h("div", { class: `plog is-preview ${n > 12 ? "plog-compact" : ""}` }, rows));
  } else if (data.type === "consumer_group") {
    const n = Math.min(16, Math.max(1, Number(p.consumers) || 1));
    const rows = [];
    for (let i = 1; i <= n; i++) {
      rows.push(
        h(
          "div",
          { class: "grp-member" },
          h("span", { class: "grp-member-id" }, `C${i}`),
          h("span", { class: "grp-chips" }, h("span", { class: "grp-idle" }, "joins when the run starts")),
        ),
      );
    }
    slot.replaceChildren(
      h("div", { class: "grp-status" }, h("span", { class: "grp-state is-idle" }, "Not running")),
      h("div", { class: "grp-members" }, rows),
    );
  } else {
    slot.replaceChildren();
  }
}

export function forgetCard(id) {
  cards.delete(id);
}

function build(cell, typeInfo) {
  const data = cell.getData() || {};
  const label = h("span", { class: "node-label" });
  const summary = h("div", { class: "node-summary" });
  const live = h("div", { class: "node-live" });
  const el = h(
    "div",
    {
      class: `node-card node-${data.type}`,
      "data-testid": `node-${data.type}`,
      "data-node-id": cell.id,
      style: { "--accent": typeInfo?.color || "#64748b" },
    },
    h(
      "div",
      { class: "node-head" },
      h("span", { class: "node-kind" }, typeInfo?.label || data.type),
      label,
    ),
    summary,
    live,
  );
  const card = { el, label, summary, live };
  cards.set(cell.id, card);
  refreshCard(cell, typeInfo);
  return card;
}

/** A one-line description of the node's settings, readable at a glance from the back row. */
export function summarize(type, params, typeInfo) {
  const p = params;
  switch (type) {
    case "producer":
      return `${fmtInt(p.rate)} msg/s · ${fmtInt(p.keys)} keys${p.key_skew ? ` · skew ${p.key_skew}` : ""}`;
    case "kafka_topic":
      return `${fmtInt(p.partitions)} partition${p.partitions === 1 ? "" : "s"}`;
    case "consumer_group": {
      const parts = [`${fmtInt(p.consumers)} consumer${p.consumers === 1 ? "" : "s"}`];
      if (p.processing_ms != null) parts.push(`${fmtMs(p.processing_ms)} each`);
      if (p.poison_rate) parts.push(`${pct(p.poison_rate)} poison`);
      if (p.failure_rate) parts.push(`${pct(p.failure_rate)} flaky`);
      return parts.join(" · ");
    }
    case "dlq":
      return "records the group gave up on";
    default: {
      const decl = typeInfo?.params || [];
      return decl
        .slice(0, 2)
        .map((d) => `${d.label}: ${p[d.name]}${d.unit ? " " + d.unit : ""}`)
        .join(" · ");
    }
  }
}

function pct(x) {
  return `${+(x * 100).toFixed(2)}%`;
}

function fmtMs(ms) {
  if (ms < 1) return `${+(ms * 1000).toFixed(1)} µs`;
  if (ms >= 1000) return `${+(ms / 1000).toFixed(2)} s`;
  return `${+ms.toFixed(2)} ms`;
}
