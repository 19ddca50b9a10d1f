// The stream-processing cards (engine/streams/): a windowed aggregate shows its clock (Kafka
// Streams' stream time or Flink's watermark), the open windows on a small time axis ending at that
// clock, and where every record went: in a window, late (dropped, side output), a late firing that
// updated a window already emitted, or in no window.
import { h, fmtInt } from "../dom.js";
import "./streams.css";

const MAX_ROWS = 8;

function put(el, text) {
  const s = String(text);
  if (el.textContent !== s) el.textContent = s;
}

function stat(label) {
  const value = h("span", { class: "stm-num" }, "0");
  return { row: h("div", { class: "stm-stat" }, value, h("span", { class: "stm-label" }, label)), value };
}

function secs(ms) {
  return ms == null ? "—" : `${(ms / 1000).toFixed(ms % 1000 ? 3 : 0)} s`;
}

function windowWords(p) {
  const size = `${fmtInt(p.size_ms)} ms`;
  if (p.window === "hopping") return `hopping ${size} / ${fmtInt(p.advance_ms || p.size_ms)} ms`;
  if (p.window === "sliding") return `sliding ±${size}`;
  if (p.window === "session") return `session gap ${fmtInt(p.gap_ms)} ms`;
  return `tumbling ${size}`;
}

export const cards = {
  windowed_aggregate: {
    summary(p) {
      const fw = p.framework === "flink" ? "Flink" : "Kafka Streams";
      return `${fw} · ${p.aggregate} · ${windowWords(p)} · emit on ${p.emit}`;
    },
    size() {
      return { width: 260 };
    },
    preview(slot) {
      slot.replaceChildren(h("div", { class: "stm-note" }, "connect a record source and a sink"));
    },
    live(slot) {
      const inWindow = stat("in a window");
      const late = stat("late");
      const updated = stat("late firings");
      const emitted = stat("emitted");
      const clock = h("div", { class: "stm-note", "data-testid": "stm-clock" });
      const where = h("div", { class: "stm-note" });
      const axis = h("div", { class: "stm-axis", "data-testid": "stm-windows" });
      slot.replaceChildren(
        h("div", { class: "stm-stats" }, inWindow.row, late.row, updated.row, emitted.row), clock, axis, where,
      );
      return {
        update(s) {
          if (!s) return;
          put(inWindow.value, fmtInt(s.in_window));
          put(late.value, fmtInt(s.late_dropped + s.side_output));
          late.row.classList.toggle("is-bad", s.late_dropped + s.side_output > 0);
          put(updated.value, fmtInt(s.updated_closed));
          put(emitted.value, fmtInt(s.emitted));
          put(clock, `${s.time_label} ${secs(s.time_ms)} · ${fmtInt(s.open_windows)} open windows`);
          const parts = [];
          if (s.late_dropped) parts.push(`${fmtInt(s.late_dropped)} dropped late`);
          if (s.side_output) parts.push(`${fmtInt(s.side_output)} to the side output`);
          if (s.dropped_records) parts.push(`dropped-records ${fmtInt(s.dropped_records)}`);
          if (s.unassigned) parts.push(`${fmtInt(s.unassigned)} in no window`);
          if (s.null_key) parts.push(`${fmtInt(s.null_key)} null keys`);
          if (s.invalid) parts.push(`${fmtInt(s.invalid)} without a number`);
          put(where, parts.join(" · "));
          // The open windows on an axis from the earliest start to the clock (or the last end).
          const rows = (s.windows || []).slice(-MAX_ROWS);
          const lo = Math.min(...rows.map((w) => w.start));
          const hi = Math.max(s.time_ms ?? -Infinity, ...rows.map((w) => w.end));
          const span = Math.max(1, hi - lo);
          const marks = rows.map((w) =>
            h(
              "div",
              { class: "stm-row", title: `${w.key ?? "no key"} [${w.start}, ${w.end}) · ${w.count} records` },
              h("span", { class: "stm-key" }, w.key ?? "—"),
              h(
                "span",
                { class: "stm-track" },
                h("span", {
                  class: "stm-bar",
                  style: `left:${((w.start - lo) / span) * 100}%;width:${Math.max(2, ((w.end - w.start) / span) * 100)}%`,
                }),
                s.time_ms == null
                  ? null
                  : h("span", { class: "stm-now", style: `left:${((s.time_ms - lo) / span) * 100}%` }),
              ),
              h("span", { class: "stm-count" }, fmtInt(w.count)),
            ),
          );
          axis.replaceChildren(...marks);
        },
      };
    },
  },
};
