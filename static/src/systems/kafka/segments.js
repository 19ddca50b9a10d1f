// Under a Kafka Topic card: the log of one partition as its segments, oldest on the left. Each
// block is a segment file, its width its size in bytes (against segment.bytes); the active
// segment, the only one written to, is outlined; segments the cleaner rewrote are hatched and
// show how many records they still hold. A dashed "deleted" box before them stands for what
// retention deleted ("+N" for older segments that are kept but not drawn), and the last line
// counts what retention and compaction removed. Click a partition row in the card to show its
// log. Built once; updated in place every frame.
//
// Test hooks: [data-testid=segments][data-partition=<p>] the panel; [data-testid=segment] one
// per drawn block (data-base, data-end, data-records, data-active, data-cleaned);
// [data-testid=segments-deleted][data-log-start]; [data-testid=segments-removed]
// (data-retention, data-compaction: records removed so far).
import { h, fmtCompact, fmtInt } from "../../dom.js";
import { partitionColor } from "../../colors.js";

// Blocks drawn at most (the engine sends up to 16 a partition). Many make narrow blocks whose
// labels hide, but every segment is drawn, so the class sees the oldest ones go.
const MAX_BLOCKS = 16;
// Narrowest block (a share of a full segment): an emptied segment stays a visible, labelled block.
const MIN_BLOCK_SHARE = 0.25;
const DEFAULT_SEGMENT_BYTES = 1073741824;
export const SEGMENTS_PANEL_HEIGHT = 96;
/** Topic cards with a segments panel are this wide (others 276 px). */
export const SEGMENTS_CARD_WIDTH = 320;

/** The panel is shown for topics whose storage settings make segments worth watching. */
export function showsSegments(config) {
  if (!config) return false;
  const policy = config.cleanup_policy || "delete";
  return (
    policy !== "delete" ||
    Number(config.segment_bytes ?? DEFAULT_SEGMENT_BYTES) < DEFAULT_SEGMENT_BYTES ||
    Number(config.retention_bytes ?? -1) >= 0
  );
}

export class SegmentsView {
  constructor() {
    this.partition = 0;
    this.state = null;
    this.title = h("span", { class: "seg-title" });
    this.facts = h("span", { class: "seg-facts" });
    this.deleted = h("div", { class: "seg-deleted", "data-testid": "segments-deleted", hidden: true }, "deleted");
    this.older = h("div", { class: "seg-older", hidden: true });
    this.blocks = h("div", { class: "seg-blocks" });
    this.removed = h("div", { class: "seg-removed", "data-testid": "segments-removed" });
    this.el = h(
      "div",
      { class: "seg-panel", "data-testid": "segments", hidden: true },
      h("div", { class: "seg-head" }, this.title, this.facts),
      h("div", { class: "seg-track" }, this.deleted, this.older, this.blocks),
      this.removed,
    );
    this.blockEls = [];
  }

  /** Show partition p's log; at once, so a click while paused (no frames) still shows it. */
  select(p) {
    this.partition = p;
    if (this.state) this.update(this.state);
  }

  /** @param {object} state  the topic's metrics: partitions[] with the log view, storage {...} */
  update(state) {
    this.state = state;
    const storage = state?.storage;
    const show = showsSegments(storage);
    this.el.hidden = !show;
    if (!show) return;
    const parts = state.partitions || [];
    const part = parts[this.partition] || parts[0];
    if (!part || !part.segments) return;
    const segs = part.segments.slice(-MAX_BLOCKS);
    this.el.dataset.partition = String(part.p);
    this.title.textContent = `P${part.p} log`;
    this.title.style.color = partitionColor(part.p);
    const facts = [`start ${fmtInt(part.log_start_offset)}`, `${fmtInt(part.segment_count)} seg`];
    if (part.dirty_ratio != null) facts.push(`dirty ${Math.round(100 * part.dirty_ratio)}%`);
    this.facts.textContent = facts.join(" · ");

    const segmentBytes = Math.max(1, Number(storage.segment_bytes) || DEFAULT_SEGMENT_BYTES);
    this.deleted.hidden = !(part.log_start_offset > 0);
    this.deleted.dataset.logStart = String(part.log_start_offset);
    this.deleted.title = `offsets below ${fmtInt(part.log_start_offset)} were deleted by retention`;
    const hiddenOlder = part.segment_count - segs.length;
    this.older.hidden = !(hiddenOlder > 0);
    this.older.textContent = `+${hiddenOlder}`;
    this.older.title = `${hiddenOlder} older segments, kept but not drawn`;
    while (this.blockEls.length < segs.length) {
      const label = h("span", { class: "seg-label" });
      const el = h("div", { class: "seg-block", "data-testid": "segment" }, label);
      this.blocks.append(el);
      this.blockEls.push({ el, label });
    }
    this.blockEls.forEach(({ el, label }, i) => {
      const seg = segs[i];
      el.hidden = !seg;
      if (!seg) {
        el.removeAttribute("data-testid"); // a spare block is no segment
        return;
      }
      el.dataset.testid = "segment";
      const range = Math.max(1, seg.end - seg.base);
      // Width follows bytes, with a floor so an emptied segment stays visible.
      el.style.flexGrow = String(Math.max(MIN_BLOCK_SHARE, Math.min(1, seg.size / segmentBytes)));
      el.style.setProperty("--seg-color", partitionColor(part.p));
      el.classList.toggle("is-active", seg.active);
      el.classList.toggle("is-cleaned", seg.cleaned);
      Object.assign(el.dataset, {
        base: String(seg.base),
        end: String(seg.end),
        records: String(seg.records),
        active: String(!!seg.active),
        cleaned: String(!!seg.cleaned),
      });
      el.style.setProperty("--seg-fill", `${Math.round((100 * seg.records) / range)}%`);
      label.textContent = seg.active ? "active" : fmtCompact(seg.records);
      el.title =
        `segment ${seg.base}–${seg.end - 1}: ${fmtInt(seg.records)} records, ${fmtInt(seg.size)} bytes, ` +
        `${seg.index_entries} index entries` +
        (seg.cleaned ? `; compacted: ${fmtInt(range - seg.records)} offsets are gaps` : "") +
        (seg.active ? " (active: appended to, never cleaned or deleted while it has room)" : "");
    });

    const removed = [];
    if (part.removed_by_retention) removed.push(`retention −${fmtCompact(part.removed_by_retention)}`);
    if (part.removed_by_compaction) {
      let text = `compaction −${fmtCompact(part.removed_by_compaction)}`;
      if (part.tombstones_removed) text += ` (${fmtCompact(part.tombstones_removed)} tombstones)`;
      removed.push(text);
    }
    if (part.cleaner_runs) removed.push(`${fmtInt(part.cleaner_runs)} cleans`);
    this.removed.textContent = removed.length ? `removed: ${removed.join(" · ")}` : "nothing removed yet";
    this.removed.dataset.retention = String(part.removed_by_retention || 0);
    this.removed.dataset.compaction = String(part.removed_by_compaction || 0);
  }
}
