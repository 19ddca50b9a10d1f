// Inside each Kafka Topic card: one row per partition, a bar whose length is the partition's
// log end offset (relative to the longest partition, so a hot key's partition visibly runs
// ahead), a tick for each consumer group's committed offset, the lag between them hatched, and
// the numbers. Rows are built once and updated in place every frame.
import { h, fmtCompact } from "../../dom.js";
import { partitionColor } from "../../colors.js";
import { SegmentsView } from "./segments.js";

const MAX_ROWS = 24;

export class TopicLog {
  constructor(slot) {
    this.slot = slot;
    this.rows = [];
    this.count = -1;
    this.segments = new SegmentsView(); // one partition's segments, below the rows
  }

  build(n) {
    this.count = n;
    this.rows = [];
    const shown = Math.min(n, MAX_ROWS);
    const list = h("div", { class: `plog ${n > 12 ? "plog-compact" : ""}` });
    for (let p = 0; p < shown; p++) {
      const fill = h("div", { class: "plog-fill", style: { background: partitionColor(p) } });
      const lag = h("div", { class: "plog-lag" });
      const marks = h("div", { class: "plog-marks" });
      // The last stable offset, when a transaction is open: read_committed readers stop here.
      const lso = h("div", { class: "plog-lso", hidden: true, "data-testid": "partition-lso" });
      marks.append(lso);
      const leo = h("span", { class: "plog-leo" });
      const lagText = h("span", { class: "plog-lagtext" });
      const row = h(
        "div",
        { class: "plog-row", "data-testid": "partition-row", "data-partition": p, onclick: () => this.select(p) },
        h("span", { class: "plog-p", style: { background: partitionColor(p) } }, `P${p}`),
        h("div", { class: "plog-track" }, fill, lag, marks),
        h("span", { class: "plog-nums" }, leo, lagText),
      );
      list.append(row);
      this.rows.push({ row, fill, lag, marks, lso, leo, lagText, markEls: [] });
    }
    if (n > shown) list.append(h("div", { class: "plog-more" }, `+ ${n - shown} more partitions`));
    this.txn = h("div", { class: "plog-txn", hidden: true, "data-testid": "topic-txn" });
    this.slot.replaceChildren(list, this.txn, this.segments.el);
    this.markSelected();
  }

  /** Show partition p's segments (when the topic has the segments panel) and mark its row. */
  select(p) {
    this.segments.select(p);
    this.markSelected();
  }

  markSelected() {
    const withSegments = !this.segments.el.hidden;
    this.rows.forEach(({ row }, p) => row.classList.toggle("is-selected", withSegments && p === this.segments.partition));
  }

  /**
   * @param {{partitions: {p:number, leo:number}[]}} state  the topic's metrics
   * @param {{committed:number, lag:number}[][]} groupsByPartition  per partition, one entry per group
   */
  update(state, groupsByPartition) {
    const parts = state?.partitions || [];
    if (parts.length !== this.count) this.build(parts.length);
    const hadSegments = !this.segments.el.hidden;
    this.segments.update(state);
    if (hadSegments !== !this.segments.el.hidden) this.markSelected();
    let maxLeo = 1;
    for (const part of parts) maxLeo = Math.max(maxLeo, part.leo || 0);
    for (const part of parts) {
      const row = this.rows[part.p];
      if (!row) continue;
      const leo = part.leo || 0;
      row.fill.style.width = `${(100 * leo) / maxLeo}%`;
      row.leo.textContent = fmtCompact(leo);
      const groups = groupsByPartition.get(part.p) || [];
      // Lag shown for the slowest group reading this partition.
      let minCommitted = leo;
      let maxLag = 0;
      for (const g of groups) {
        minCommitted = Math.min(minCommitted, g.committed ?? 0);
        maxLag = Math.max(maxLag, g.lag ?? 0);
      }
      row.lag.style.left = `${(100 * minCommitted) / maxLeo}%`;
      row.lag.style.width = `${(100 * Math.max(0, leo - minCommitted)) / maxLeo}%`;
      row.lagText.textContent = maxLag > 0 ? `lag ${fmtCompact(maxLag)}` : "";
      row.lagText.classList.toggle("is-high", maxLag > 0);
      while (row.markEls.length < groups.length) {
        const mark = h("div", { class: "plog-mark" });
        row.marks.append(mark);
        row.markEls.push(mark);
      }
      row.markEls.forEach((mark, i) => {
        const g = groups[i];
        mark.hidden = !g;
        if (g) {
          mark.style.left = `${(100 * (g.committed ?? 0)) / maxLeo}%`;
          mark.title = `committed offset ${g.committed}`;
        }
      });
      const txn = part.txn;
      const unstable = txn && txn.lso < leo;
      row.lso.hidden = !unstable;
      row.row.dataset.lso = txn ? String(txn.lso) : "";
      if (unstable) {
        row.lso.style.left = `${(100 * txn.lso) / maxLeo}%`;
        row.lso.title = `last stable offset ${txn.lso}: read_committed readers stop here (${txn.open} open transaction${txn.open === 1 ? "" : "s"})`;
      }
    }
    // Transactions on this topic: how they ended, and the markers they left in the log.
    const t = state?.transactions;
    const note = t
      ? `transactions: ${fmtCompact(t.commits)} committed · ${fmtCompact(t.aborts)} aborted (${fmtCompact(t.aborted_records)} records) · ${fmtCompact(t.markers)} markers`
      : "";
    if (this.txn.textContent !== note) {
      this.txn.textContent = note;
      this.txn.hidden = !note;
    }
  }
}
