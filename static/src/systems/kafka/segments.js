// Under a Kafka Topic card: the log of one partition as its segments, oldest on the left. Each
// block is a segment file, its width its size in bytes (against segment.bytes); the active
// segment, the only one written to, is outlined; segments the cleaner rewrote are striped and
// show how many records they still hold. A grey block before them stands for what retention
// deleted, and the last line counts what retention and compaction removed. Click a partition
// row in the card to show its log. Built once; updated in place every frame.
import { h, fmtCompact, fmtInt } from "../../dom.js";
import { partitionColor } from "../../colors.js";

const MAX_BLOCKS = 16;
const DEFAULT_SEGMENT_BYTES = 1073741824;
export const SEGMENTS_PANEL_HEIGHT = 104;

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
    this.title = h("span", { class: "seg-title" });
    this.facts = h("span", { class: "seg-facts" });
    this.deleted = h("div", { class: "seg-deleted", hidden: true });
    this.blocks = h("div", { class: "seg-blocks" });
    this.removed = h("div", { class: "seg-removed" });
    this.el = h(
      "div",
      { class: "seg-panel", "data-testid": "segments", hidden: true },
      h("div", { class: "seg-head" }, this.title, this.facts),
      h("div", { class: "seg-track" }, this.deleted, this.blocks),
      this.removed,
    );
    this.blockEls = [];
  }

  select(p) {
    this.partition = p;
  }

  /** @param {object} state  the topic's metrics: partitions[] with the log view, storage {...} */
  update(state) {
    const storage = state?.storage;
    const show = showsSegments(storage);
    this.el.hidden = !show;
    if (!show) return;
    const parts = state.partitions || [];
    const part = parts[this.partition] || parts[0];
    if (!part || !part.segments) return;
    const segs = part.segments.slice(-MAX_BLOCKS);
    this.title.textContent = `P${part.p} log`;
    this.title.style.color = partitionColor(part.p);
    const facts = [`start ${fmtInt(part.log_start_offset)}`, `${fmtInt(part.segment_count)} seg`];
    if (part.dirty_ratio != null) facts.push(`dirty ${Math.round(100 * part.dirty_ratio)}%`);
    this.facts.textContent = facts.join(" · ");

    const segmentBytes = Math.max(1, Number(storage.segment_bytes) || DEFAULT_SEGMENT_BYTES);
    const hiddenOlder = part.segment_count - segs.length;
    this.deleted.hidden = !(part.log_start_offset > 0 || hiddenOlder > 0);
    this.deleted.textContent = hiddenOlder > 0 ? `+${hiddenOlder}` : "deleted";
    this.deleted.title =
      hiddenOlder > 0
        ? `${hiddenOlder} older segments not drawn`
        : `offsets below ${part.log_start_offset} were deleted by retention`;
    while (this.blockEls.length < segs.length) {
      const label = h("span", { class: "seg-label" });
      const el = h("div", { class: "seg-block" }, label);
      this.blocks.append(el);
      this.blockEls.push({ el, label });
    }
    this.blockEls.forEach(({ el, label }, i) => {
      const seg = segs[i];
      el.hidden = !seg;
      if (!seg) return;
      const range = Math.max(1, seg.end - seg.base);
      // Width follows bytes, with a floor so an emptied segment stays visible.
      el.style.flexGrow = String(Math.max(0.12, seg.size / segmentBytes));
      el.style.setProperty("--seg-color", partitionColor(part.p));
      el.classList.toggle("is-active", seg.active);
      el.classList.toggle("is-cleaned", seg.cleaned);
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
  }
}
