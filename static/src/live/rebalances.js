// The rebalance timeline: one entry per rebalance of any group, newest first, with why it
// happened, how long processing stopped, and each member's partitions before and after.
import { h, fmtSeconds } from "../dom.js";
import { partitionChip, shortMember } from "./chips.js";

const MAX_ENTRIES = 40;

export class RebalanceTimeline {
  constructor(root, { labelOf }) {
    this.root = root;
    this.labelOf = labelOf;
    this.entries = new Map(); // "g:generation" -> entry
    this.render();
  }

  reset(list = []) {
    this.entries.clear();
    for (const r of list) this.addEnd(r);
    this.render();
  }

  /** Entries from a frame's events (rebalance_start, rebalance_end). */
  events(events) {
    let changed = false;
    for (const e of events || []) {
      if (e.k === "rebalance_start") {
        const key = `${e.g}:${e.generation}`;
        const prev = this.entries.get(key) || {};
        this.entries.set(key, { ...prev, g: e.g, generation: e.generation, reason: e.reason, started: e.t });
        changed = true;
      } else if (e.k === "rebalance_end") {
        this.addEnd(e);
        changed = true;
      }
    }
    if (changed) this.render();
  }

  /** Fill from a group's metrics (`rebalances`: last 20), in case events were sampled away. */
  fromMetrics(groupId, list) {
    let changed = false;
    for (const r of list || []) {
      const key = `${r.g ?? groupId}:${r.generation}`;
      const have = this.entries.get(key);
      if (!have || (have.after == null && r.after != null)) {
        this.addEnd({ g: groupId, ...r });
        changed = true;
      }
    }
    if (changed) this.render();
  }

  addEnd(r) {
    const key = `${r.g}:${r.generation}`;
    const prev = this.entries.get(key) || {};
    this.entries.set(key, {
      ...prev,
      ...r,
      reason: r.reason ?? prev.reason,
      started: r.started ?? prev.started,
      ended: r.t ?? r.ended ?? prev.ended,
    });
    while (this.entries.size > MAX_ENTRIES) this.entries.delete(this.entries.keys().next().value);
  }

  render() {
    const list = [...this.entries.values()].sort(
      (a, b) => (b.started ?? b.ended ?? 0) - (a.started ?? a.ended ?? 0) || b.generation - a.generation,
    );
    if (!list.length) {
      this.root.replaceChildren(
        h("p", { class: "empty" }, "No rebalance yet. Add, remove or kill a consumer to trigger one."),
      );
      return;
    }
    this.root.replaceChildren(...list.map((r) => this.entry(r)));
  }

  /** Per member: how long each partition it stopped consuming waited for its next owner. */
  pauses(r) {
    const byMember = Object.entries(r.pauses || {});
    if (!byMember.length) return null;
    return h(
      "ul",
      { class: "rb-pauses", "data-testid": "rebalance-pauses" },
      byMember.sort().map(([m, list]) => {
        const longest = Math.max(...list.map((p) => p.to - p.from));
        return h("li", {}, `${shortMember(m, r.g)} paused ${list.length} partition${list.length > 1 ? "s" : ""}, up to ${fmtSeconds(longest)}`);
      }),
    );
  }

  entry(r) {
    const done = r.after != null;
    const took = done && r.started != null && r.ended != null ? r.ended - r.started : null;
    const members = new Set([...Object.keys(r.before || {}), ...Object.keys(r.after || {})]);
    const rows = [...members].sort().map((m) =>
      h(
        "tr",
        {},
        h("th", {}, shortMember(m, r.g)),
        h("td", {}, (r.before?.[m] || []).map((p) => partitionChip(p)), r.before?.[m]?.length ? null : h("span", { class: "none" }, "—")),
        h("td", { class: "arrow" }, "→"),
        h("td", {}, (r.after?.[m] || []).map((p) => partitionChip(p)), r.after?.[m]?.length ? null : h("span", { class: "none" }, "—")),
      ),
    );
    return h(
      "article",
      { class: `rb-entry ${done ? "" : "is-open"}`, "data-testid": "rebalance-entry", "data-generation": r.generation },
      h(
        "header",
        {},
        h("strong", {}, `Generation ${r.generation}`),
        r.protocol ? h("span", { class: "rb-protocol" }, r.protocol === "cooperative" ? `cooperative · round ${r.round ?? 1}` : "eager") : null,
        h("span", { class: "rb-group" }, this.labelOf(r.g)),
        h("span", { class: "rb-reason" }, r.reason || ""),
        h(
          "span",
          { class: "rb-time" },
          r.started != null ? `at ${fmtSeconds(r.started)}` : "",
          took != null ? ` · paused ${fmtSeconds(took)}` : done ? "" : " · in progress…",
        ),
      ),
      done ? this.pauses(r) : null,
      done && rows.length
        ? h("table", { class: "rb-table" }, h("thead", {}, h("tr", {}, h("th", {}, "member"), h("th", {}, "before"), h("th"), h("th", {}, "after"))), h("tbody", {}, rows))
        : null,
    );
  }
}
