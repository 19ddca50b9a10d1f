// The dead letter panel: the messages given up on, newest first, from every node whose type
// declares `dead_letter_store` (a Kafka DLQ topic, a RabbitMQ dead letter queue, ...). Each entry
// says why, after how many attempts, where the message was headed (`origin`, or Kafka's topic,
// partition, offset and group) and its key.
import { h, fmtInt, fmtSeconds } from "../dom.js";
import { partitionColor } from "../colors.js";

const KEEP = 200;
const SHOWN = 50;

function entryKey(e) {
  return [e.store, e.t, e.key, e.origin, e.reason, e.attempts, e.g, e.topic, e.p, e.o].join("|");
}

export class DlqPanel {
  constructor(root, countEl, { labelOf }) {
    this.root = root;
    this.countEl = countEl;
    this.labelOf = labelOf;
    this.signature = "";
    this.entries = new Map();
    this.stores = new Set();
    this.render([], 0);
  }

  /** From a snapshot's `recent.dlq` (entries of every store). */
  reset(entries = []) {
    this.signature = "";
    this.entries = new Map();
    this.stores = new Set();
    this.merge(entries);
    this.render(this.newest(), entries.length);
  }

  /** From the metrics of every dead letter store: [{id, state: {count, recent}}]. Frames carry
   * only the newest few entries and a snapshot up to 50, so entries are merged, never replaced. */
  update(stores) {
    let count = 0;
    for (const { id, state } of stores) {
      count += state?.count || 0;
      this.stores.add(id);
      this.merge((state?.recent || []).map((e) => (e.store ? e : { ...e, store: id })));
    }
    const sig = `${count}:${this.entries.size}:${this.stores.size}`;
    if (sig === this.signature) return;
    this.signature = sig;
    this.render(this.newest(), count);
  }

  merge(entries) {
    for (const e of entries) {
      const entry = e.store || !e.dlq ? e : { ...e, store: e.dlq };
      this.entries.set(entryKey(entry), entry);
    }
    if (this.entries.size > KEEP) {
      this.entries = new Map(this.newest(KEEP).map((e) => [entryKey(e), e]));
    }
  }

  newest(n = SHOWN) {
    return [...this.entries.values()].sort((a, b) => (b.t ?? 0) - (a.t ?? 0)).slice(0, n);
  }

  origin(e) {
    const parts = [];
    if (e.origin) parts.push(`from ${e.origin}`);
    else if (e.topic != null) parts.push(`from ${this.labelOf(e.topic)}${e.g != null ? ` · group ${this.labelOf(e.g)}` : ""}`);
    else if (e.g != null) parts.push(`from ${this.labelOf(e.g)}`);
    if (this.stores.size > 1 && e.store) parts.push(`→ ${this.labelOf(e.store)}`);
    return parts.join(" ");
  }

  render(entries, count) {
    if (this.countEl) this.countEl.textContent = fmtInt(count);
    if (!entries.length) {
      this.root.replaceChildren(h("p", { class: "empty" }, "Nothing dead-lettered yet."));
      return;
    }
    this.root.replaceChildren(
      ...entries.map((e) =>
        h(
          "div",
          { class: "dlq-entry", "data-testid": "dlq-entry" },
          h(
            "div",
            { class: "dlq-line" },
            e.p != null ? h("span", { class: "chip", style: { background: partitionColor(e.p) } }, `P${e.p}`) : null,
            e.o != null ? h("span", { class: "dlq-offset" }, `offset ${fmtInt(e.o)}`) : null,
            h("span", { class: "dlq-key" }, e.key ?? "(no key)"),
            h("span", { class: "dlq-time" }, e.t != null ? fmtSeconds(e.t) : ""),
          ),
          h(
            "div",
            { class: "dlq-line dlq-why" },
            h("span", { class: "dlq-reason" }, e.reason || "failed"),
            e.attempts != null
              ? h("span", { class: "dlq-attempts" }, `after ${e.attempts} attempt${e.attempts === 1 ? "" : "s"}`)
              : null,
          ),
          h("div", { class: "dlq-from" }, this.origin(e)),
        ),
      ),
    );
  }
}
