// The HTML body of each node on the canvas (an X6 HTML shape renders it in a foreignObject).
// One long-lived element per node id: the live widgets write into its `.node-live` slot every
// frame without touching the X6 cell, so live updates never enter undo history or re-render
// the graph. What a card shows comes from its system's module (systems/index.js).
import { h } from "../dom.js";
import { cardFor } from "../systems/index.js";

const cards = new Map(); // node id -> {el, body, label, summary, live, data, typeInfo}
let onMounted = null;

/** Called (with the node id) once a new card is in the page and can be measured. */
export function onCardMounted(fn) {
  onMounted = fn;
}

export function cardElement(cell, typeInfo) {
  let card = cards.get(cell.id);
  if (!card) card = build(cell, typeInfo);
  return card.el;
}

export function liveSlot(nodeId) {
  return cards.get(nodeId)?.live || null;
}

/** The type the card was drawn for (the canvas may have changed since a run was loaded). */
export function cardType(nodeId) {
  return cards.get(nodeId)?.data?.type ?? null;
}

export function refreshCard(cell, typeInfo) {
  const card = cards.get(cell.id);
  if (!card) return;
  const data = cell.getData() || {};
  card.data = data;
  card.typeInfo = typeInfo;
  const hooks = cardFor(data.type);
  card.label.textContent = data.label || typeInfo?.label || data.type;
  card.summary.textContent = hooks.summary(data.params || {}, typeInfo) || "";
  if (card.live.dataset.live !== "1") hooks.preview(card.live, data, typeInfo);
}

/** Give a live slot back to the static preview (the live widgets were cleared). */
export function restorePreview(nodeId) {
  const card = cards.get(nodeId);
  if (!card) return;
  delete card.live.dataset.live;
  cardFor(card.data?.type).preview(card.live, card.data || {}, card.typeInfo);
}

/** Height the card's content needs (CSS pixels), or null while it is not laid out. */
export function naturalHeight(nodeId) {
  const card = cards.get(nodeId);
  if (!card?.el.isConnected || !card.body.offsetHeight) return null;
  const cs = getComputedStyle(card.el);
  const frame = ["paddingTop", "paddingBottom", "borderTopWidth", "borderBottomWidth"].reduce(
    (sum, k) => sum + (parseFloat(cs[k]) || 0),
    0,
  );
  return Math.ceil(card.body.offsetHeight + frame);
}

export function forgetCard(id) {
  cards.delete(id);
}

function build(cell, typeInfo) {
  const data = cell.getData() || {};
  const label = h("span", { class: "node-label" });
  const summary = h("div", { class: "node-summary" });
  const live = h("div", { class: "node-live" });
  const body = h(
    "div",
    { class: "node-body" },
    h("div", { class: "node-head" }, h("span", { class: "node-kind" }, typeInfo?.label || data.type), label),
    summary,
    live,
  );
  const el = h(
    "div",
    {
      class: `node-card node-${data.type}`,
      "data-testid": `node-${data.type}`,
      "data-node-id": cell.id,
      style: { "--accent": typeInfo?.color || "#64748b" },
    },
    body,
  );
  const card = { el, body, label, summary, live, data, typeInfo };
  cards.set(cell.id, card);
  refreshCard(cell, typeInfo);
  whenConnected(el, () => onMounted?.(cell.id));
  return card;
}

/** X6 mounts the card asynchronously: wait (a few frames at most) until it is in the page. */
function whenConnected(el, fn, tries = 30) {
  requestAnimationFrame(() => {
    if (el.isConnected) fn();
    else if (tries > 0) whenConnected(el, fn, tries - 1);
  });
}
