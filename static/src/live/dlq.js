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
    this.render([], 0);
  }

  reset(entries = []) {
    this.signature = "";
    this.render(entries, entries.length);
  }

  /** From the metrics of every DLQ node: {count, recent: [...last 50]}. */
  update(dlqStates) {
    let count = 0;
    const all = [];
    for (const s of dlqStates) {
      count += s.count || 0;
      all.push(...(s.recent || []));
    }
    const sig = `${count}:${all.length}`;
    if (sig === this.signature) return;
    this.signature = sig;
    all.sort((a, b) => (b.t ?? 0) - (a.t ?? 0));
    this.render(all.slice(0, 50), count);
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
