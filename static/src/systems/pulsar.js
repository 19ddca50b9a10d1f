// Apache Pulsar cards. A topic shows its ledgers (open, closed, offloaded) and bytes resident in
// BookKeeper versus offloaded to tiered storage; a subscription its type, backlog, cursors and
// (key_shared) hash ranges; consumers each one's receiver queue and permits, failover
// active/standby, and a refused exclusive consumer's error. Also: deduplication and stored
// duplicates, delayed messages held, geo-replication (replicator backlog, cluster down), replicated
// subscription syncs, priority levels.
import { h, fmtInt, fmtCompact } from "../dom.js";
import { bar, put } from "../widgets.js";
import "./pulsar.css";

function note(cls = "", text = "") {
  return h("div", { class: `pls-note ${cls}` }, text);
}

function bytes(n) {
  if (n >= 1048576) return `${(n / 1048576).toFixed(1)} MB`;
  if (n >= 1024) return `${(n / 1024).toFixed(0)} KB`;
  return `${n} B`;
}

export const cards = {
  pulsar_producer: {
    summary(p) {
      const parts = [`${fmtInt(p.rate)} msg/s`];
      if (p.keys) parts.push(`${fmtInt(p.keys)} keys`);
      if (p.deliver_after_s) parts.push(`deliverAfter ${p.deliver_after_s} s`);
      if (p.resend_probability) parts.push(`${Math.round(p.resend_probability * 100)}% retried`);
      return parts.join(" · ");
    },
    preview(slot) {
      slot.replaceChildren();
    },
    live(slot) {
      const sent = h("span", { class: "pls-big" }, "0");
      const foot = note();
      const err = note("is-warn");
      slot.replaceChildren(h("div", { class: "pls-row" }, sent, h("span", { class: "pls-note" }, "sent")), foot, err);
      return {
        update(s) {
          if (!s) return;
          put(sent, fmtInt(s.sent));
          put(foot, s.resent ? `${fmtInt(s.resent)} sent again (same sequence id)` : "");
          put(err, s.failed ? `${fmtInt(s.failed)} sends failed: cluster down` : "");
        },
      };
    },
  },

  pulsar_topic: {
    summary(p) {
      const parts = [p.partitions ? `${p.partitions} partitions` : "non-partitioned"];
      if (p.offload_threshold_mb >= 0) parts.push(`offload > ${p.offload_threshold_mb} MB`);
      if (p.cluster) parts.push(`cluster ${p.cluster}`);
      if (p.deduplication) parts.push("dedup");
      return parts.join(" · ");
    },
    size() {
      return { width: 264 };
    },
    preview(slot, data) {
      const p = data.params || {};
      slot.replaceChildren(note("", `retention ${p.retention_minutes ?? 0} min / ${p.retention_mb ?? 0} MB`));
    },
    live(slot) {
      const bk = bar("pls", "BookKeeper", "is-bk");
      const tiered = bar("pls", "tiered", "is-tiered");
      const ledgers = h("div", { class: "pls-ledgers" });
      const foot = note();
      const dedup = note();
      const repl = h("div", { class: "pls-repl" });
      const down = note("is-warn");
      const dead = note("is-dead");
      slot.replaceChildren(bk.row, tiered.row, ledgers, foot, dedup, repl, down, dead);
      let sig = "";
      return {
        update(s) {
          if (!s) return;
          const max = Math.max(1, s.bookkeeper_bytes + s.offloaded_bytes);
          bk.set(s.bookkeeper_bytes, max, bytes(s.bookkeeper_bytes));
          tiered.set(s.offloaded_bytes, max, bytes(s.offloaded_bytes));
          const led = (s.partitions?.[0]?.ledgers || []);
          const next = JSON.stringify(led.map((l) => [l.id, l.state, l.in_bookkeeper]));
          if (next !== sig) {
            sig = next;
            ledgers.replaceChildren(...led.map((l) => h("span", {
              class: `pls-ledger is-${l.state} ${l.in_bookkeeper ? "" : "is-gone"}`,
              title: `ledger ${l.id}: ${l.entries} entries, ${bytes(l.bytes)}, ${l.state}${l.in_bookkeeper ? "" : ", deleted from BookKeeper"}`,
            })));
          }
          put(foot, `${fmtInt(s.stored_entries)} stored · ${fmtInt(s.deleted_ledgers)} ledgers deleted · backlog ${fmtCompact(s.backlog)}`);
          const d = [];
          if (s.deduplication) d.push(`dedup on · ${fmtInt(s.deduplicated)} deduplicated`);
          if (s.duplicates) d.push(`${fmtInt(s.duplicates)} retries stored twice`);
          put(dedup, d.join(" · "));
          const reps = s.replication || [];
          const text = reps.map((r) => `→ ${r.to}: backlog ${fmtCompact(r.backlog)} · ${fmtInt(r.written)} replicated`
            + `${r.subscription_syncs ? ` · ${fmtInt(r.subscription_syncs)} subscription syncs` : ""}`
            + `${r.connected ? "" : " · disconnected"}`).join("\n");
          put(repl, text);
          put(down, s.down ? `cluster ${s.cluster} is down` : "");
          put(dead, s.count ? `${fmtInt(s.count)} dead letters in` : "");
        },
      };
    },
  },

  pulsar_subscription: {
    summary(p) {
      const parts = [p.type || "exclusive", `${p.ack_mode || "individual"} ack`];
      if (p.ack_timeout_ms) parts.push(`ackTimeout ${p.ack_timeout_ms} ms`);
      return parts.join(" · ");
    },
    size() {
      return { width: 264 };
    },
    preview(slot, data) {
      const p = data.params || {};
      slot.replaceChildren(note("", `nack delay ${p.nack_redelivery_delay_ms ?? 60000} ms · DLQ after ${p.max_redeliver_count ?? 3} redeliveries`));
    },
    live(slot) {
      const waiting = bar("pls", "backlog", "is-ready");
      const unacked = bar("pls", "unacked", "is-unacked");
      const ranges = h("div", { class: "pls-ranges" });
      const foot = note();
      const err = note("is-warn");
      slot.replaceChildren(waiting.row, unacked.row, ranges, foot, err);
      let peak = 10;
      let sig = "";
      return {
        update(s) {
          if (!s) return;
          peak = Math.max(peak, s.backlog);
          waiting.set(s.waiting, peak);
          unacked.set(s.unacked, peak);
          const next = JSON.stringify(s.hash_ranges || []);
          if (next !== sig) {
            sig = next;
            ranges.replaceChildren(...(s.hash_ranges || []).map((r, i) => h("span", {
              class: `pls-range pls-c${i % 6}`,
              style: { flexGrow: String(Math.max(1, r.to - r.from)) },
              title: `${r.from}–${r.to}: ${r.consumer}`,
            }, r.consumer.split("/").pop())));
          }
          const parts = [`${fmtInt(s.acked)} acked`];
          if (s.duplicates) parts.push(`${fmtInt(s.duplicates)} redelivered`);
          if (s.rewinds) parts.push(`${fmtInt(s.rewinds)} rewinds`);
          if (s.dead_lettered) parts.push(`${fmtInt(s.dead_lettered)} to DLQ`);
          if (s.acked_unprocessed) parts.push(`${fmtInt(s.acked_unprocessed)} acked cumulatively unprocessed`);
          if (s.delayed) parts.push(`${fmtInt(s.delayed)} delayed`);
          if (s.replicated) parts.push(`replicated "${s.name}"${s.synced ? `: ${fmtInt(s.synced)} synced` : ""}`);
          put(foot, parts.join(" · "));
          const warn = s.paused ? "cluster down: nothing dispatched" : (s.errors?.length ? s.errors[s.errors.length - 1].error : "");
          put(err, warn);
        },
      };
    },
  },

  pulsar_consumer: {
    summary(p) {
      const level = p.priority_level ? ` · priority ${p.priority_level}` : "";
      return `${fmtInt(p.consumers)} × ${p.processing_ms} ms · queue ${fmtInt(p.receiver_queue_size)}${level}`;
    },
    preview(slot) {
      slot.replaceChildren();
    },
    live(slot) {
      const list = h("div", { class: "pls-members" });
      const foot = note();
      slot.replaceChildren(list, foot);
      const rows = new Map();
      return {
        update(s) {
          if (!s) return;
          const seen = new Set();
          for (const m of s.members || []) {
            if (m.state === "killed" || m.state === "closed") continue;
            seen.add(m.id);
            let row = rows.get(m.id);
            if (!row) {
              const b = bar("pls", m.id, "is-credit");
              const tag = h("span", { class: "pls-tag" });
              row = { b, tag, el: h("div", { class: "pls-member" }, b.row, tag) };
              rows.set(m.id, row);
              list.append(row.el);
            }
            row.b.set(m.queued, m.queue_size, `q ${m.queued} · permits ${m.permits}`);
            const label = m.state === "refused" ? m.error : m.state + (m.partitions.length ? ` ${m.partitions.join(" ")}` : "");
            put(row.tag, label);
            row.el.classList.toggle("is-refused", m.state === "refused");
            row.el.classList.toggle("is-standby", m.state === "standby" || m.state === "disconnected");
          }
          for (const [id, row] of rows) {
            if (!seen.has(id)) {
              row.el.remove();
              rows.delete(id);
            }
          }
          put(foot, `${fmtInt(s.acked)} acked${s.nacked ? ` · ${fmtInt(s.nacked)} nacked` : ""}`);
        },
      };
    },
  },
};

/** "DLQ" on a subscription's edge to its dead-letter topic; the subscription type on the way in;
 * "geo-replication" between topics of two clusters. */
export function edgeLabel(edge) {
  if (edge.sourceType === "pulsar_subscription" && edge.targetType === "pulsar_topic") return "DLQ";
  if (edge.sourceType === "pulsar_topic" && edge.targetType === "pulsar_topic") return "geo-replication";
  if (edge.sourceType === "pulsar_topic" && edge.targetType === "pulsar_subscription") return edge.targetParams?.type || "exclusive";
  return null;
}
