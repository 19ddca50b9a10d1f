// The dead letter panel: the records a group gave up on, newest first, each with why, after how
// many attempts, and where it came from (topic, partition, offset) and its key.
import { h, fmtInt, fmtSeconds } from "../dom.js";
import { partitionColor } from "../colors.js";

export class DlqPanel {
  constructor(root, countEl, { labelOf }) {
    this.root = root;
    this.countEl = countEl;
    this.labelOf = labelOf;
    this.signature = "";
    this.entries = new Map();
    this.render([], 0);
  }

  reset(entries = []) {
    this.signature = "";
    this.entries = new Map();
    this.merge(entries);
    this.render(this.newest(), entries.length);
  }

  /** From the metrics of every DLQ node: {count, recent}. Frames carry only the newest few
   * entries and a snapshot the last 50, so entries are merged, never replaced. */
  update(dlqStates) {
    let count = 0;
    const all = [];
    for (const s of dlqStates) {
      count += s.count || 0;
      all.push(...(s.recent || []));
    }
    this.merge(all);
    const sig = `${count}:${this.entries.size}`;
    if (sig === this.signature) return;
    this.signature = sig;
    this.render(this.newest(), count);
  }

  merge(entries) {
    for (const e of entries) {
      this.entries.set(`${e.g}|${e.topic}|${e.p}|${e.o}|${e.t}`, e);
    }
    if (this.entries.size > 200) {
      this.entries = new Map(this.newest().map((e) => [`${e.g}|${e.topic}|${e.p}|${e.o}|${e.t}`, e]));
    }
  }

  newest() {
    return [...this.entries.values()].sort((a, b) => (b.t ?? 0) - (a.t ?? 0)).slice(0, 50);
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
            h("span", { class: "chip", style: { background: partitionColor(e.p) } }, `P${e.p}`),
            h("span", { class: "dlq-offset" }, `offset ${fmtInt(e.o)}`),
            h("span", { class: "dlq-key" }, e.key ?? "(no key)"),
            h("span", { class: "dlq-time" }, e.t != null ? fmtSeconds(e.t) : ""),
          ),
          h(
            "div",
            { class: "dlq-line dlq-why" },
            h("span", { class: "dlq-reason" }, e.reason || "failed"),
            h("span", { class: "dlq-attempts" }, `after ${e.attempts ?? "?"} attempt${e.attempts === 1 ? "" : "s"}`),
          ),
          h("div", { class: "dlq-from" }, `from ${this.labelOf(e.topic)} · group ${this.labelOf(e.g)}`),
        ),
      ),
    );
  }
}
