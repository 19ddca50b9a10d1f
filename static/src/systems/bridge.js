// The bridge card (engine/bridge/): records taken from the source and written to the sink, the
// duplicates written again after a crash, what is written but not committed yet, its state, and
// the newest record it wrote (id, key and the hops of its origin).
import { h, fmtInt } from "../dom.js";
import { put } from "../widgets.js";
import "./bridge.css";

function stat(label) {
  const value = h("span", { class: "brg-num" }, "0");
  return { row: h("div", { class: "brg-stat" }, value, h("span", { class: "brg-label" }, label)), value };
}

export const cards = {
  bridge: {
    summary(p) {
      return `commit every ${fmtInt(p.commit_interval_ms)} ms · poll ${fmtInt(p.poll_interval_ms)} ms`;
    },
    preview(slot) {
      slot.replaceChildren(h("div", { class: "brg-note" }, "connect a record source and a sink"));
    },
    live(slot) {
      const written = stat("written");
      const uncommitted = stat("uncommitted");
      const duplicates = stat("duplicates");
      const state = h("div", { class: "brg-note" });
      const last = h("div", { class: "brg-record" });
      slot.replaceChildren(h("div", { class: "brg-stats" }, written.row, uncommitted.row, duplicates.row), state, last);
      return {
        update(s) {
          if (!s) return;
          put(written.value, fmtInt(s.written));
          put(uncommitted.value, fmtInt(s.uncommitted));
          put(duplicates.value, fmtInt(s.duplicates));
          duplicates.row.classList.toggle("is-bad", s.duplicates > 0);
          put(state, `${s.state}${s.attempt > 1 ? ` (attempt ${s.attempt})` : ""} · ${fmtInt(s.commits)} commits`);
          state.classList.toggle("is-bad", s.state !== "running");
          const r = (s.recent || [])[s.recent.length - 1];
          put(last, r ? `${r.id} · ${r.key ?? "no key"} · ${r.origin.map((o) => o.node).join(" → ")}` : "");
        },
      };
    },
  },
};
