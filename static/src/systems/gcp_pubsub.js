// Google Cloud Pub/Sub cards. A subscription shows its backlog and outstanding leases, blocked
// ordering keys, redeliveries and, for push, the push window against what is in flight (and a
// pause when push backoff is on); subscribers show each client's outstanding messages against
// its flow-control limit. A topic used as a dead-letter topic counts its dead letters. A
// subscription with a filter shows it and how many messages Pub/Sub acked for not matching;
// after a seek, what was replayed and what was marked acknowledged; a snapshot, when taken.
import { h, fmtInt, fmtCompact } from "../dom.js";
import { bar, put } from "../widgets.js";
import "./gcp_pubsub.css";

function note(cls = "", text = "") {
  return h("div", { class: `gps-note ${cls}` }, text);
}

export const cards = {
  pubsub_publisher: {
    summary(p) {
      const parts = [`${fmtInt(p.rate)} msg/s`];
      if (p.ordering_keys) parts.push(`${fmtInt(p.ordering_keys)} ordering keys`);
      return parts.join(" · ");
    },
    preview(slot, data) {
      const attrs = Object.entries(data.params?.attributes || {});
      slot.replaceChildren(note("", attrs.map(([k, v]) => `${k}=${v}`).join(", ")));
    },
    live(slot) {
      const sent = h("span", { class: "gps-big" }, "0");
      const state = h("span", { class: "gps-note" });
      slot.replaceChildren(h("div", { class: "gps-row" }, sent, h("span", { class: "gps-note" }, "published"), state));
      return {
        update(s) {
          if (!s) return;
          put(sent, fmtInt(s.sent));
          put(state, s.blocked ? "flow control: blocked" : "");
        },
      };
    },
  },

  pubsub_topic: {
    summary(p) {
      return p.message_retention_s ? `retention ${Math.round(p.message_retention_s / 60)} min` : "topic";
    },
    preview(slot) {
      slot.replaceChildren(note());
    },
    live(slot) {
      const line = note();
      const dead = note("is-dead");
      slot.replaceChildren(line, dead);
      return {
        update(s) {
          if (!s) return;
          const parts = [`${fmtInt(s.published)} published → ${s.subscriptions} subscription${s.subscriptions === 1 ? "" : "s"}`];
          if (s.lost) parts.push(`${fmtInt(s.lost)} lost (no subscription)`);
          if (s.retention_s) parts.push(`retained ${fmtCompact(s.retained)}`);
          put(line, parts.join(" · "));
          put(dead, s.count ? `${fmtInt(s.count)} dead letters in${s.redriven ? ` · ${fmtInt(s.redriven)} redriven` : ""}` : "");
        },
      };
    },
  },

  pubsub_subscription: {
    summary(p) {
      const parts = [p.delivery || "pull", `ack ${p.ack_deadline_s ?? 10} s`];
      if (p.message_ordering) parts.push("ordered");
      if (p.exactly_once) parts.push("exactly-once");
      if (p.retry_policy === "exponential") parts.push(`backoff ${p.min_backoff_s}–${p.max_backoff_s} s`);
      if (p.retain_acked_messages) parts.push("retains acked");
      return parts.join(" · ");
    },
    size() {
      return { width: 264 };
    },
    preview(slot, data) {
      const p = data.params || {};
      slot.replaceChildren(
        p.filter ? note("gps-filter", `filter: ${p.filter}`) : note(),
        note("", p.max_delivery_attempts
          ? `dead letter after ${p.max_delivery_attempts} attempts (if a topic is connected)` : "no dead-letter policy"),
      );
    },
    live(slot) {
      const backlog = bar("gps", "backlog", "is-ready");
      const out = bar("gps", "out", "is-unacked");
      const window = bar("gps", "window", "is-credit");
      const keys = note();
      const filter = note("gps-filter");
      const foot = note();
      const seekNote = note();
      const warn = note("is-warn");
      slot.replaceChildren(filter, backlog.row, out.row, window.row, keys, foot, seekNote, warn);
      let peak = 10;
      return {
        update(s) {
          if (!s) return;
          peak = Math.max(peak, s.backlog + s.outstanding);
          backlog.set(s.backlog, peak);
          out.set(s.outstanding, s.delivery === "push" ? s.push_window : peak,
            s.delivery === "push" ? `${fmtCompact(s.outstanding)}/${fmtCompact(s.push_window)}` : undefined);
          window.row.style.display = s.delivery === "push" ? "" : "none";
          if (s.delivery === "push") window.set(s.push_window, 1000, `${s.push_window}`);
          put(keys, s.ordering ? `${s.keys_blocked} of ${s.keys_waiting} keys blocked by a redelivery` : "");
          const parts = [`${fmtInt(s.acked)} acked`];
          if (s.duplicates) parts.push(`${fmtInt(s.duplicates)} dup (deadline)`);
          if (s.retried) parts.push(`${fmtInt(s.retried)} nack retries`);
          if (s.modacks) parts.push(`${fmtInt(s.modacks)} modacks`);
          if (s.dead_lettered) parts.push(`${fmtInt(s.dead_lettered)} dead-lettered`);
          put(foot, parts.join(" · "));
          put(filter, s.filter ? `filter ${s.filter} · ${fmtInt(s.filtered)} not matching (acked by Pub/Sub)` : "");
          const sk = [];
          if (s.snapshot) sk.push(`snapshot at ${s.snapshot.created.toFixed(1)} s (${fmtInt(s.snapshot.unacked)} unacked then)`);
          if (s.last_seek) {
            const to = s.last_seek.to === "snapshot" ? "snapshot" : `${s.last_seek.time.toFixed(1)} s`;
            sk.push(`seek to ${to}: ${fmtInt(s.last_seek.replayed)} replayed, ${fmtInt(s.last_seek.acked)} acked`);
          }
          if (s.retain_acked) sk.push(`${fmtCompact(s.retained_acked)} acked kept for seek`);
          put(seekNote, sk.join(" · "));
          const w = [];
          if (s.late_acks) w.push(`${fmtInt(s.late_acks)} late acks (no error: at-least-once)`);
          if (s.lost_acks) w.push(`${fmtInt(s.lost_acks)} lost acks`);
          if (s.push_paused_s > 0) w.push(`push backoff ${s.push_paused_s.toFixed(1)} s`);
          if (s.acks_failed) w.push(`${fmtInt(s.acks_failed)} acks failed (INVALID_ACK_ID)`);
          if (s.redelivered_after_ack) w.push(`${fmtInt(s.redelivered_after_ack)} redelivered after ack`);
          put(warn, w.join(" · "));
        },
      };
    },
  },

  pubsub_subscriber: {
    summary(p) {
      return `${fmtInt(p.consumers)} × ${p.threads} threads · ${p.processing_ms} ms`;
    },
    preview(slot, data) {
      const p = data.params || {};
      slot.replaceChildren(note("", `flow control ${p.max_outstanding_messages || "∞"} msgs${p.lease_management === false ? " · no lease extension" : ""}`));
    },
    live(slot) {
      const list = h("div", { class: "gps-members" });
      const foot = note();
      slot.replaceChildren(list, foot);
      const rows = new Map();
      return {
        update(s) {
          if (!s) return;
          const seen = new Set();
          for (const m of (s.members || []).filter((x) => x.state === "active")) {
            seen.add(m.id);
            let b = rows.get(m.id);
            if (!b) {
              b = bar("gps", m.id.replace(/^(subscriber|instance)-/, "#"), "is-credit");
              rows.set(m.id, b);
              list.append(b.row);
            }
            const limit = s.mode === "push" ? s.threads : s.max_outstanding_messages;
            b.set(m.outstanding, limit || Math.max(10, m.outstanding), limit ? `${m.outstanding}/${limit}` : `${m.outstanding}`);
          }
          for (const [id, b] of rows) {
            if (!seen.has(id)) {
              b.row.remove();
              rows.delete(id);
            }
          }
          const parts = [`${fmtInt(s.acked)} acked`];
          if (s.failed) parts.push(`${fmtInt(s.failed)} failed`);
          if (s.ack_failures) parts.push(`${fmtInt(s.ack_failures)} ack failures`);
          put(foot, parts.join(" · "));
        },
      };
    },
  },
};

/** "dead letter" on a subscription's edge to its dead-letter topic. */
export function edgeLabel(edge) {
  if (edge.sourceType === "pubsub_subscription" && edge.targetType === "pubsub_topic") return "dead letter";
  if (edge.sourceType === "pubsub_subscription" && edge.targetType === "pubsub_subscriber") {
    return edge.sourceParams?.delivery === "push" ? "push" : "pull";
  }
  return null;
}
