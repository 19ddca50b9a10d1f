// Redis cards: Pub/Sub (publisher, channel, subscriber) and Streams (stream, consumer group,
// dead-letter stream). What to see at a glance: a channel's subscribers connected or not (a
// disconnected one misses messages for good), a stream's length and IDs with where each group
// has read up to, a group's Pending Entries List per consumer with its oldest idle time (past
// min-idle-time it is up for XAUTOCLAIM). See index.js for the API.
import { h, fmtInt, fmtCompact } from "../dom.js";
import { put } from "../widgets.js";
import "./redis.css";

const MAX_CONSUMER_ROWS = 12;
const MAX_SUB_ROWS = 8;

/** Write text only when it changed (no layout work for unchanged numbers). */

function kv(label, cls = "") {
  const value = h("span", { class: `kv-value ${cls}` });
  return [h("div", { class: "kv-line" }, h("span", { class: "kv-label" }, label), value), value];
}

function secs(ms) {
  if (ms == null) return "—";
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

export const cards = {
  redis_publisher: {
    summary(p) {
      return `${fmtInt(p.rate)} msg/s`;
    },
    size() {
      return { width: 236 };
    },
    preview(slot) {
      slot.replaceChildren();
    },
    live(slot) {
      const [line, sent] = kv("sent");
      slot.replaceChildren(line);
      return { update: (state) => put(sent, fmtInt(state?.sent ?? 0)) };
    },
  },

  redis_channel: {
    summary(p) {
      return `${p.channel ? `channel "${p.channel}"` : "channel named by its id"} · fire and forget`;
    },
    size() {
      return { width: 260 };
    },
    preview(slot) {
      slot.replaceChildren(h("div", { class: "rds-note" }, "keeps nothing: only connected subscribers get a message"));
    },
    live(slot) {
      const [pubLine, published] = kv("published");
      const status = h("div", { class: "rds-status" });
      const rows = h("div", { class: "rds-subs" });
      slot.replaceChildren(pubLine, status, rows);
      let sig = "";
      return {
        update(state, ctx) {
          put(published, fmtInt(state?.published ?? 0));
          put(status, `${state?.connected ?? 0} connected · ${state?.disconnected ?? 0} disconnected`);
          status.classList.toggle("is-bad", (state?.disconnected ?? 0) > 0);
          const subs = (state?.subscribers || []).slice(0, MAX_SUB_ROWS);
          const next = subs.map((s) => `${s.id}:${s.connected}:${s.matches}`).join("|");
          if (next === sig) return;
          sig = next;
          rows.replaceChildren(
            ...subs.map((s) =>
              h(
                "div",
                { class: `rds-sub ${s.connected ? "" : "is-off"} ${s.matches ? "" : "is-nomatch"}` },
                h("span", { class: "rds-dot" }),
                h("span", { class: "rds-sub-id" }, ctx?.labelOf?.(s.id) || s.id),
                h("span", { class: "rds-sub-state" }, !s.matches ? "no match" : s.connected ? "connected" : "disconnected"),
              ),
            ),
          );
        },
      };
    },
  },

  redis_subscriber: {
    summary(p) {
      const parts = [`${p.processing_ms} ms each`];
      if (p.disconnect_at_s) parts.push(`drops at ${p.disconnect_at_s} s`);
      return parts.join(" · ");
    },
    size() {
      return { width: 250 };
    },
    preview(slot) {
      slot.replaceChildren();
    },
    live(slot) {
      const state_ = h("div", { class: "rds-status" });
      const [recLine, received] = kv("received");
      const [missLine, missed] = kv("missed", "is-bad");
      const fill = h("div", { class: "rds-fill" });
      const buf = h("div", { class: "rds-bar", title: "output buffer against client-output-buffer-limit" }, fill);
      slot.replaceChildren(state_, recLine, missLine, buf);
      return {
        update(state) {
          const on = !!state?.connected;
          put(state_, on ? "● connected" : `○ disconnected${state?.why ? ` (${state.why})` : ""}`);
          state_.classList.toggle("is-bad", !on);
          put(received, fmtInt(state?.received ?? 0));
          put(missed, fmtInt(state?.missed ?? 0));
          const limit = state?.buffer_limit || 0;
          const used = state?.buffered || 0;
          fill.style.width = `${limit ? Math.min(100, (100 * used) / limit) : Math.min(100, used / 10)}%`;
        },
      };
    },
  },

  redis_stream: {
    summary(p) {
      return p.maxlen ? `MAXLEN ${p.trim === "approximate" ? "~" : "="} ${fmtInt(p.maxlen)}` : "no trimming";
    },
    size() {
      return { width: 290 };
    },
    preview(slot) {
      slot.replaceChildren(h("div", { class: "rds-bar rds-entries" }), h("div", { class: "rds-note" }, "empty"));
    },
    live(slot) {
      const [lenLine, length] = kv("length");
      const ids = h("div", { class: "rds-ids" });
      const band = h("div", { class: "rds-band" });
      const bar = h("div", { class: "rds-bar rds-entries" }, band);
      const marks = h("div", { class: "rds-marks" });
      const foot = h("div", { class: "rds-note" });
      slot.replaceChildren(lenLine, ids, bar, marks, foot);
      let sig = "";
      return {
        update(state, ctx) {
          const len = state?.length ?? 0;
          put(length, fmtInt(len));
          put(ids, `${state?.first_id ?? "…"} → ${state?.last_id ?? "0-0"}`);
          // The bar is the stream's entries, oldest left; its scale is MAXLEN (or the length).
          const scale = Math.max(len, state?.maxlen || 0, 1);
          band.style.width = `${(100 * len) / scale}%`;
          const first = state?.first ?? 0;
          const groups = state?.groups || [];
          const next = groups.map((g) => g.id).join("|");
          if (next !== sig) {
            sig = next;
            marks.replaceChildren(...groups.map((g) => h("span", { class: "rds-mark", "data-group": g.id })));
            bar.querySelectorAll(".rds-tick").forEach((el) => el.remove());
            for (const g of groups) bar.append(h("span", { class: "rds-tick", "data-group": g.id }));
          }
          for (const g of groups) {
            const unread = g.unread ?? Math.max(0, (state?.entries_added ?? 0) - Math.max(g.delivered_upto, first));
            const at = Math.max(0, Math.min(len, len - unread));
            const tick = bar.querySelector(`.rds-tick[data-group="${CSS.escape(g.id)}"]`);
            if (tick) tick.style.left = `${(100 * at) / scale}%`;
            const mark = marks.querySelector(`.rds-mark[data-group="${CSS.escape(g.id)}"]`);
            if (mark) put(mark, `${ctx?.labelOf?.(g.id) || g.id}: ${fmtCompact(unread)} unread`);
          }
          const gone = [];
          if (state?.trimmed) gone.push(`${fmtCompact(state.trimmed)} trimmed`);
          if (state?.minid_trimmed) gone.push(`${fmtCompact(state.minid_trimmed)} MINID-trimmed`);
          if (state?.deleted) gone.push(`${fmtCompact(state.deleted)} XDELed (max ${state.max_deleted_id})`);
          put(foot, gone.join(" · "));
        },
      };
    },
  },

  redis_consumer_group: {
    summary(p) {
      const parts = [`${fmtInt(p.consumers)} consumer${p.consumers === 1 ? "" : "s"}`, `COUNT ${p.count}`];
      if (p.claim_interval_ms) parts.push(`XAUTOCLAIM > ${secs(p.min_idle_ms)}`);
      if (p.max_deliveries) parts.push(`DLQ after ${p.max_deliveries}`);
      return parts.join(" · ");
    },
    size(params, state) {
      const n = Math.min(MAX_CONSUMER_ROWS, Math.max(Number(params.consumers) || 1, state?.consumers?.length || 0));
      return { width: 300, height: 150 + n * 30 };
    },
    preview(slot, data) {
      const n = Math.min(MAX_CONSUMER_ROWS, Math.max(1, Number(data.params?.consumers) || 1));
      const rows = [];
      for (let i = 1; i <= n; i++) {
        rows.push(h("div", { class: "rds-cons" }, h("span", { class: "rds-cons-id" }, `consumer-${i}`),
          h("span", { class: "rds-cons-pel" }, "—")));
      }
      const start = data.params?.start_id ?? "$";
      const mk = data.params?.mkstream === false ? "" : " MKSTREAM";
      slot.replaceChildren(h("div", { class: "rds-status" }, `XGROUP CREATE … ${start}${mk} when the run starts`), ...rows);
    },
    live(slot) {
      const head = h("div", { class: "rds-ids" });
      const [pelLine, pending] = kv("pending (PEL)");
      const error = h("div", { class: "rds-status is-bad", "data-testid": "rds-create-error" });
      const foot = h("div", { class: "rds-note" });
      const rows = h("div", { class: "rds-consumers" });
      slot.replaceChildren(error, head, pelLine, rows, foot);
      const byName = new Map();
      return {
        update(state) {
          // XINFO GROUPS lag is null when an XDEL lies ahead of the group: Redis cannot tell.
          const xlag = state?.xinfo_lag === null && state?.last_delivered_id ? " (XINFO: unknown)" : "";
          put(head, `last-delivered-id ${state?.last_delivered_id ?? "0-0"} · lag ${fmtCompact(state?.lag ?? 0)}${xlag}`);
          put(error, state?.create_error ? `XGROUP CREATE failed: ${state.create_error}` : "");
          error.hidden = !state?.create_error;
          const notes = [];
          if (state?.replayed) notes.push(`${fmtCompact(state.replayed)} replayed (SETID)`);
          if (state?.deleted_consumers) notes.push(`${fmtInt(state.deleted_consumers)} consumer(s) deleted`);
          put(foot, notes.join(" · "));
          put(pending, fmtInt(state?.pending ?? 0));
          const names = new Set((state?.consumers || []).map((c) => c.name));
          for (const [name, row] of byName) {
            if (!names.has(name)) {
              row.el.remove(); // XGROUP DELCONSUMER
              byName.delete(name);
            }
          }
          const minIdle = state?.min_idle_ms ?? Infinity;
          for (const c of (state?.consumers || []).slice(0, MAX_CONSUMER_ROWS)) {
            let row = byName.get(c.name);
            if (!row) {
              row = {
                el: h("div", { class: "rds-cons" }),
                id: h("span", { class: "rds-cons-id" }, c.name),
                pel: h("span", { class: "rds-cons-pel" }),
              };
              row.el.append(row.id, row.pel);
              rows.append(row.el);
              byName.set(c.name, row);
            }
            row.el.classList.toggle("is-dead", c.state === "dead" || c.state === "stopped");
            const stale = c.oldest_idle_ms != null && c.oldest_idle_ms >= minIdle;
            row.el.classList.toggle("is-stale", stale);
            const idle = c.pending ? ` · oldest idle ${secs(c.oldest_idle_ms)}` : "";
            put(row.pel, `${c.state === "dead" ? "crashed · " : c.state === "stopped" ? "stopped · " : ""}${fmtInt(c.pending)} pending${idle}`);
          }
        },
      };
    },
  },

  redis_dead_letter_stream: {
    summary() {
      return "entries the application gave up on (XADD + XACK)";
    },
    size() {
      return { width: 250 };
    },
    preview(slot) {
      slot.replaceChildren();
    },
    live(slot) {
      const [line, count] = kv("entries", "is-bad");
      const foot = h("div", { class: "rds-note" });
      slot.replaceChildren(line, foot);
      return {
        update(state) {
          put(count, fmtInt(state?.count ?? 0));
          put(foot, state?.redriven ? `${fmtInt(state.redriven)} redriven` : "");
        },
      };
    },
  },
};

/** The Redis command each connection stands for. */
export function edgeLabel(edge) {
  const { sourceType: s, targetType: t } = edge;
  if (s === "redis_channel" && t === "redis_subscriber") {
    const pattern = edge.params?.pattern;
    return pattern ? `PSUBSCRIBE ${pattern}` : "SUBSCRIBE";
  }
  if (s === "redis_publisher" && t === "redis_channel") return "PUBLISH";
  if (s === "redis_publisher" && t === "redis_stream") return "XADD";
  if (s === "redis_stream" && t === "redis_consumer_group") return "XREADGROUP";
  if (s === "redis_consumer_group" && t === "redis_dead_letter_stream") return "dead letters";
  return null;
}
