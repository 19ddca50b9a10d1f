// Amazon SQS / SNS cards and edge labels. A queue shows its visible, in-flight and delayed
// counts as bars, the age of its oldest message, and (FIFO) the message groups locked by a
// message in flight; consumers show each polling worker and what it holds; a topic lists its
// subscriptions with their filter policies. The edge from a topic to a queue carries a summary of
// its filter policy; a queue's edge to its dead-letter queue says after how many receives.
import { h, fmtCompact, fmtInt, fmtSeconds } from "../dom.js";
import { DEAD_COLOR } from "../colors.js";
import { bar } from "../widgets.js";
import "./sqs.css";

function chip(text, cls = "") {
  return h("span", { class: `sqs-chip ${cls}` }, text);
}

function note(text = "", cls = "") {
  return h("span", { class: `sqs-note ${cls}` }, text);
}

function fmtNum(v) {
  return typeof v === "number" ? String(+v.toFixed(5)) : String(v);
}

/** A filter policy (JSON text) as one short line: `event=order_placed · price≥100`. */
export function policySummary(text) {
  if (!text || !String(text).trim()) return null;
  let policy;
  try {
    policy = typeof text === "string" ? JSON.parse(text) : text;
  } catch {
    return "filter: invalid JSON";
  }
  if (!policy || typeof policy !== "object") return null;
  const parts = Object.entries(policy).map(([name, conds]) => {
    const alts = (Array.isArray(conds) ? conds : [conds]).map((c) => {
      if (typeof c === "string") return c;
      if (typeof c === "number") return fmtNum(c);
      if (!c || typeof c !== "object") return String(c);
      const [op, arg] = Object.entries(c)[0] || [];
      if (op === "numeric" && Array.isArray(arg)) {
        const out = [];
        for (let i = 0; i + 1 < arg.length; i += 2) out.push(`${arg[i].replace(">=", "≥").replace("<=", "≤")}${fmtNum(arg[i + 1])}`);
        return out.join(" ");
      }
      if (op === "exists") return arg ? "present" : "absent";
      if (op === "prefix") return `${arg}*`;
      if (op === "suffix") return `*${arg}`;
      if (op === "equals-ignore-case") return `~${arg}`;
      if (op === "anything-but") {
        if (arg && typeof arg === "object" && !Array.isArray(arg)) return `not ${arg.prefix}*`;
        return `not ${(Array.isArray(arg) ? arg : [arg]).map(fmtNum).join("|")}`;
      }
      return op;
    });
    const joined = alts.join("|");
    return /^[<>≤≥=]/.test(joined) ? `${name}${joined}` : `${name}=${joined}`;
  });
  return parts.join(" · ");
}

const QUEUE_ARGS = (p) => {
  const args = [];
  args.push(`visibility ${p.visibility_timeout_s ?? 30} s`);
  if (p.delay_seconds) args.push(`delay ${p.delay_seconds} s`);
  args.push(p.receive_wait_s ? `long poll ${p.receive_wait_s} s` : "short poll");
  if (p.queue_type === "fifo" && p.content_based_dedup) args.push("content dedup");
  return args;
};

export const cards = {
  sqs_producer: {
    summary(p) {
      const parts = [`${fmtInt(p.rate)} msg/s`];
      if (p.message_groups) parts.push(`${p.message_groups} groups`);
      if (p.resend_probability) parts.push(`${Math.round(p.resend_probability * 100)}% retried`);
      if (p.delay_seconds) parts.push(`timer ${p.delay_seconds} s`);
      return parts.join(" · ");
    },
    size() {
      return { width: 240 };
    },
    preview(slot, data) {
      const attrs = Object.entries(data.params?.attributes || {});
      slot.replaceChildren(h("div", { class: "sqs-keys" },
        attrs.length ? attrs.slice(0, 5).map(([k, v]) => chip(`${k}=${v}`, "sqs-attr")) : note("no attributes")));
    },
    live(slot) {
      const sent = h("span", { class: "sqs-big" }, "0");
      const resent = note();
      slot.replaceChildren(h("div", { class: "sqs-row" }, sent, note("sent"), resent));
      return {
        update(s) {
          if (!s) return;
          sent.textContent = fmtInt(s.sent);
          resent.textContent = s.resent ? `${fmtInt(s.resent)} retried sends` : "";
        },
      };
    },
  },

  sns_topic: {
    summary(p) {
      if (p?.topic_type === "fifo") {
        return `FIFO topic · ${p.fifo_throughput_scope === "message_group" ? "high throughput" : "topic scope"}`
          + `${p.content_based_dedup ? " · content dedup" : ""}`;
      }
      return "standard topic · fan-out";
    },
    size() {
      return { width: 250 };
    },
    preview(slot, data) {
      const fifo = data?.params?.topic_type === "fifo";
      slot.replaceChildren(note(fifo ? "each FIFO queue gets its own copy, in order per group"
        : "each subscription gets its own copy"));
    },
    live(slot, nodeId, typeInfo) {
      const head = note();
      const fifo = note();
      const subs = h("div", { class: "sqs-subs" });
      slot.replaceChildren(head, fifo, subs);
      let sig = "";
      return {
        update(s, ctx) {
          if (!s) return;
          head.textContent = `${fmtInt(s.published)} published${s.no_match ? ` · ${fmtInt(s.no_match)} no matching subscription` : ""}`;
          head.classList.toggle("is-dead", !!s.no_match);
          fifo.textContent = s.topic_type === "fifo"
            ? `${fmtInt(s.deduplicated)} deduplicated (5 min) · ${fmtInt(s.throttled)} throttled` : "";
          fifo.classList.toggle("is-dead", !!s.throttled);
          const next = JSON.stringify(s.subscriptions);
          if (next === sig) return;
          sig = next;
          subs.replaceChildren(...(s.subscriptions || []).map((x) => h("div", { class: "sqs-sub" },
            h("span", { class: "sqs-sub-q" }, ctx?.labelOf?.(x.queue) || x.queue),
            note(`${fmtCompact(x.matched)} in · ${fmtCompact(x.filtered_out)} filtered${x.raw ? " · raw" : ""}`),
            h("div", { class: "sqs-filter", title: x.filter }, x.filter))));
        },
      };
    },
  },

  sqs_queue: {
    summary(p) {
      return p.queue_type === "fifo" ? "FIFO queue" : "standard queue";
    },
    size() {
      return { width: 264 };
    },
    preview(slot, data) {
      const p = data.params || {};
      slot.replaceChildren(
        h("div", { class: "sqs-row" }, chip(p.queue_type === "fifo" ? "FIFO" : "standard", `sqs-type sqs-type-${p.queue_type || "standard"}`)),
        h("div", { class: "sqs-keys" }, QUEUE_ARGS(p).map((a) => chip(a, "sqs-arg"))),
      );
    },
    live(slot) {
      const visible = bar("sqs", "visible", "is-visible");
      const inflight = bar("sqs", "in flight", "is-inflight");
      const delayed = bar("sqs", "delayed", "is-delayed");
      const age = note();
      const groups = h("div", { class: "sqs-groups" });
      const foot = note();
      slot.replaceChildren(visible.row, inflight.row, delayed.row, h("div", { class: "sqs-row" }, age), groups,
        h("div", { class: "sqs-row" }, foot));
      let peak = 10;
      let sig = "";
      return {
        update(s) {
          if (!s) return;
          peak = Math.max(peak, s.visible + s.in_flight + s.delayed);
          visible.set(s.visible, peak);
          inflight.set(s.in_flight, peak);
          delayed.set(s.delayed, peak);
          delayed.row.hidden = !s.delayed;
          age.textContent = s.oldest_age != null ? `oldest message ${fmtSeconds(s.oldest_age)}` : "empty";
          if (s.queue_type === "fifo") {
            const next = JSON.stringify(s.locked || []);
            if (next !== sig) {
              sig = next;
              groups.replaceChildren(
                note(`${fmtInt(s.locked_groups || 0)} of ${fmtInt(s.groups || 0)} groups locked`),
                ...(s.locked || []).map((g) => h("span", { class: "sqs-group", title: `${g.group}: ${g.in_flight} in flight, ${g.queued} in the group` },
                  `🔒 ${g.group}${g.queued > g.in_flight ? ` +${g.queued - g.in_flight}` : ""}`)));
            }
          }
          const parts = [];
          if (s.duplicates) parts.push(`${fmtInt(s.duplicates)} redelivered`);
          if (s.deduplicated) parts.push(`${fmtInt(s.deduplicated)} deduplicated`);
          if (s.count) parts.push(`${fmtInt(s.count)} dead letters in`);
          if (s.dead_lettered) parts.push(`${fmtInt(s.dead_lettered)} to DLQ`);
          const dropped = Object.values(s.dropped || {}).reduce((a, b) => a + b, 0);
          if (dropped - (s.deduplicated || 0) > 0) parts.push(`${fmtInt(dropped - (s.deduplicated || 0))} dropped`);
          if (s.empty_receives) parts.push(`${fmtCompact(s.empty_receives)} empty receives`);
          foot.textContent = parts.join(" · ") || `${fmtInt(s.deleted)} deleted`;
          foot.classList.toggle("is-dead", !!(s.count || s.dead_lettered));
          foot.style.color = s.count ? DEAD_COLOR : "";
        },
      };
    },
  },

  sqs_consumer: {
    summary(p) {
      const parts = [`${fmtInt(p.consumers)} × ${p.processing_ms} ms`, `up to ${p.max_messages || 1}/receive`];
      if (p.extend_visibility) parts.push("heartbeat");
      if (p.poison_rate) parts.push(`${+(p.poison_rate * 100).toFixed(1)}% poison`);
      return parts.join(" · ");
    },
    size() {
      return { width: 240 };
    },
    preview(slot, data) {
      const p = data.params || {};
      const n = Math.min(16, Math.max(0, Number(p.consumers) || 0));
      const rows = [];
      for (let i = 1; i <= n; i++) rows.push(h("div", { class: "sqs-row" }, h("span", { class: "sqs-cid" }, `c${i}`), note("polls")));
      slot.replaceChildren(...rows);
    },
    live(slot) {
      const list = h("div", { class: "sqs-workers" });
      const foot = note();
      slot.replaceChildren(list, h("div", { class: "sqs-row" }, foot));
      const rows = new Map();
      return {
        update(s) {
          if (!s) return;
          const seen = new Set();
          for (const w of s.workers || []) {
            seen.add(w.id);
            let row = rows.get(w.id);
            if (!row) {
              row = bar("sqs", w.id, "is-held");
              rows.set(w.id, row);
              list.append(row.row);
            }
            row.set(w.held, s.max_messages || 1, w.state === "waiting" ? "long poll" : w.state === "polling" ? "poll" : `${w.held}`);
            row.row.classList.toggle("is-leaving", w.state === "stopping");
          }
          for (const [id, row] of rows) {
            if (!seen.has(id)) {
              row.row.remove();
              rows.delete(id);
            }
          }
          const parts = [`${fmtInt(s.deleted)} deleted`];
          if (s.failed) parts.push(`${fmtInt(s.failed)} failed`);
          if (s.late) parts.push(`${fmtInt(s.late)} past their visibility timeout`);
          foot.textContent = parts.join(" · ");
          foot.classList.toggle("is-warn", !!s.late);
        },
      };
    },
  },
};

/** A subscription's filter policy (and raw delivery); a redrive policy's maxReceiveCount. */
export function edgeLabel(edge) {
  const p = edge.params || {};
  if (edge.sourceType === "sns_topic") {
    const text = policySummary(p.filter_policy) || "all messages";
    return p.raw_message_delivery ? `${text} · raw` : text;
  }
  if (edge.sourceType === "sqs_queue" && edge.targetType === "sqs_queue") {
    return `DLQ after ${edge.sourceParams?.max_receive_count ?? 10} receives`;
  }
  return null;
}
