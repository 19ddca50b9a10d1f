// The dead letter panel: the messages given up on, newest first, from every node whose type
// declares `dead_letter_store` (a Kafka DLQ topic, a RabbitMQ dead letter queue, ...). Each entry
// says why, after how many attempts, where the message was headed (`origin`, or Kafka's topic,
// partition, offset and group) and its key. Above them, one line per store that holds dead
// letters and whose type takes the `redrive` command: how many it got, how many were redriven
// (its metrics' `redriven`, when it reports one) and a Redrive button.
import { h, fmtInt, fmtSeconds } from "../dom.js";
import { partitionColor } from "../colors.js";

const KEEP = 200;
const SHOWN = 50;

function entryKey(e) {
  return [e.store, e.t, e.key, e.origin, e.reason, e.attempts, e.g, e.topic, e.p, e.o].join("|");
}

export class DlqPanel {
  /**
   * @param {{labelOf: (id) => string, command?: (cmd) => void, canRedrive?: (id) => boolean,
   *          isEnabled?: () => boolean}} options  command sends a sim command; canRedrive says
   *          whether a store's type takes `redrive`; isEnabled whether this tab holds the controls
   */
  constructor(root, countEl, { labelOf, command = null, canRedrive = () => false, isEnabled = () => false }) {
    this.root = root;
    this.countEl = countEl;
    this.labelOf = labelOf;
    this.command = command;
    this.canRedrive = canRedrive;
    this.isEnabled = isEnabled;
    this.summaries = []; // [{id, count, redriven}] of the stores that can be redriven
    this.storeRows = new Map(); // store id -> its line's elements
    this.storesEl = h("div", { class: "dlq-stores", hidden: true });
    this.listEl = h("div", { class: "dlq-list" });
    root.replaceChildren(this.storesEl, this.listEl);
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
    this.summaries = [];
    this.merge(entries);
    this.render(this.newest(), entries.length);
  }

  /** From the metrics of every dead letter store: [{id, state: {count, recent}}]. Frames carry
   * only the newest few entries and a snapshot up to 50, so entries are merged, never replaced. */
  update(stores) {
    let count = 0;
    const summaries = [];
    for (const { id, state } of stores) {
      count += state?.count || 0;
      this.stores.add(id);
      this.merge((state?.recent || []).map((e) => (e.store ? e : { ...e, store: id })));
      const redriven = Number.isFinite(state?.redriven) ? state.redriven : null;
      if (this.command && (state?.count || redriven) && this.canRedrive(id)) {
        summaries.push({ id, count: state?.count || 0, redriven });
      }
    }
    this.summaries = summaries;
    const enabled = this.command ? this.isEnabled() : false;
    const sig = `${count}:${this.entries.size}:${this.stores.size}:${enabled}:${JSON.stringify(summaries)}`;
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

  /** One line per redrivable store: its counts and the Redrive button. The lines are updated
   * in place (entries arrive every frame; a button replaced under the mouse cannot be clicked). */
  renderStores() {
    const enabled = this.isEnabled();
    const seen = new Set();
    for (const { id, count, redriven } of this.summaries) {
      seen.add(id);
      let row = this.storeRows.get(id);
      if (!row) {
        row = {
          count: h("span", { class: "dlq-store-count" }),
          redriven: h("span", { class: "dlq-redriven", "data-testid": "dlq-redriven" }),
          button: h(
            "button",
            {
              type: "button",
              class: "btn btn-small",
              "data-testid": "btn-dlq-redrive",
              title: "Send these dead letters back to where they came from",
              onclick: () => this.command({ op: "redrive", node: id }),
            },
            "Redrive",
          ),
        };
        row.el = h(
          "div",
          { class: "dlq-store", "data-testid": "dlq-store", "data-store": id },
          h("strong", { class: "dlq-store-name" }, this.labelOf(id)),
          row.count,
          row.redriven,
          row.button,
        );
        this.storeRows.set(id, row);
        this.storesEl.append(row.el);
      }
      row.count.textContent = `${fmtInt(count)} dead-lettered`;
      row.redriven.textContent = redriven != null ? `${fmtInt(redriven)} redriven` : "";
      row.redriven.hidden = redriven == null;
      row.button.disabled = !enabled;
    }
    for (const [id, row] of this.storeRows) {
      if (!seen.has(id)) {
        row.el.remove();
        this.storeRows.delete(id);
      }
    }
    this.storesEl.hidden = this.storeRows.size === 0;
  }

  render(entries, count) {
    if (this.countEl) this.countEl.textContent = fmtInt(count);
    this.renderStores();
    if (!entries.length) {
      this.listEl.replaceChildren(h("p", { class: "empty" }, "Nothing dead-lettered yet."));
      return;
    }
    this.listEl.replaceChildren(
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
