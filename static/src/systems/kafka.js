// Kafka's cards: a producer's send rate, a topic's partition logs filling up, a group's members
// with their partitions, a dead letter topic's count. See index.js for the API.
import { h, fmtInt, fmtCompact } from "../dom.js";
import { partitionColor } from "../colors.js";
import { TopicLog } from "./kafka/topic.js";
import { SEGMENTS_CARD_WIDTH, SEGMENTS_PANEL_HEIGHT, showsSegments } from "./kafka/segments.js";
import { GroupMembers, memberBadges } from "./kafka/group.js";
import { clusterCard, ReplicationStrip } from "./kafka/cluster.js";
import "./kafka.css";

const MAX_PARTITION_ROWS = 24;
const MAX_MEMBER_ROWS = 16;

export const cards = {
  producer: {
    summary(p) {
      return `${fmtInt(p.rate)} msg/s · ${fmtInt(p.keys)} keys${p.key_skew ? ` · skew ${p.key_skew}` : ""}`;
    },
    size() {
      return { width: 236 }; // height: measured from the content
    },
    preview(slot) {
      slot.replaceChildren();
    },
    live(slot) {
      const sent = h("span", { class: "kv-value" });
      const line = (label, testid, bad = false) => {
        const value = h("span", { class: "kv-value" });
        const row = h("div", { class: `kv-line kv-minor${bad ? " is-bad" : ""}`, "data-testid": testid, hidden: true },
          h("span", { class: "kv-label" }, label), value);
        return { row, value };
      };
      // Batching and the wire: records per batch, requests a second (one per batch here), bytes
      // sent (compressed batches with their headers); the accumulator and blocked send() calls;
      // a transactional producer's epoch and the instances it fenced; drops by reason.
      const batching = line("per batch", "producer-batching");
      const wire = line("on the wire", "producer-wire");
      const buffer = line("accumulator", "producer-buffer");
      const epoch = line("epoch", "producer-epoch");
      const dropped = line("dropped", "producer-dropped", true);
      const txn = h("div", { class: "kv-note", "data-testid": "producer-txn", hidden: true });
      slot.replaceChildren(h("div", { class: "kv-line" }, h("span", { class: "kv-label" }, "sent"), sent),
        batching.row, wire.row, buffer.row, epoch.row, dropped.row, txn);
      const show = (item, text, title = "") => {
        if (item.value.textContent !== text) item.value.textContent = text;
        item.row.hidden = !text;
        if (title !== item.row.title) item.row.title = title;
      };
      return {
        update(state) {
          const text = fmtInt(state?.sent ?? 0);
          if (sent.textContent !== text) sent.textContent = text;
          show(batching, state?.batches ? `${state.records_per_batch} rec · ${fmtCompact(state.requests_per_s)}/s` : "");
          show(wire, state?.batches ? `${fmtCompact(state.wire_bytes)} B${state.compression_ratio < 1
            ? ` (×${state.compression_ratio})` : ""}` : "");
          const waiting = (state?.accumulated ?? 0) + (state?.blocked ?? 0);
          show(buffer, waiting ? `${fmtCompact(state.accumulated)}${state.blocked
            ? ` · ${fmtCompact(state.blocked)} blocked` : ""}` : "");
          const f = state?.fenced;
          show(epoch, state?.transactions ? `${state.epoch}${f?.instances ? ` · fenced ${f.instances}` : ""}` : "",
            f?.instances ? `older instances fenced (ProducerFencedException): ${f.instances}` : "");
          const reasons = Object.entries(state?.dropped ?? {});
          const lost = reasons.reduce((sum, [, n]) => sum + n, 0);
          show(dropped, lost ? fmtCompact(lost) : "", reasons.map(([r, n]) => `${fmtInt(n)}: ${r}`).join("\n"));
          // A transactional producer: the open transaction and how the previous ones ended.
          const t = state?.transactions;
          const note = t ? `txn #${fmtInt(t.open)} ${t.state} · ${fmtInt(t.commits)} committed · ${fmtInt(t.aborts)} aborted` : "";
          if (txn.textContent !== note) {
            txn.textContent = note;
            txn.hidden = !note;
          }
        },
      };
    },
  },

  kafka_topic: {
    summary(p) {
      return `${fmtInt(p.partitions)} partition${p.partitions === 1 ? "" : "s"}`;
    },
    size(params, state) {
      const p = Math.max(1, Number(params.partitions) || 1);
      const shown = Math.min(p, MAX_PARTITION_ROWS);
      const row = p <= 12 ? 24 : 17;
      const segments = showsSegments(params);
      return {
        width: segments ? SEGMENTS_CARD_WIDTH : 276,
        height: 96 + shown * row + (p > shown ? 18 : 0) + (segments ? SEGMENTS_PANEL_HEIGHT : 0)
          + (state?.transactions ? 22 : 0),
      };
    },
    /** Before a run: the empty logs, one row per partition. */
    preview(slot, data) {
      const n = Math.max(1, Number(data.params?.partitions) || 1);
      const rows = [];
      for (let i = 0; i < Math.min(n, MAX_PARTITION_ROWS); i++) {
        rows.push(
          h(
            "div",
            { class: "plog-row" },
            h("span", { class: "plog-p", style: { background: partitionColor(i) } }, `P${i}`),
            h("div", { class: "plog-track" }),
            h("span", { class: "plog-nums" }, h("span", { class: "plog-lagtext" }, "empty")),
          ),
        );
      }
      if (n > MAX_PARTITION_ROWS) rows.push(h("div", { class: "plog-more" }, `+ ${n - MAX_PARTITION_ROWS} more partitions`));
      slot.replaceChildren(h("div", { class: `plog is-preview ${n > 12 ? "plog-compact" : ""}` }, rows));
    },
    live(slot, nodeId) {
      const logSlot = h("div");
      const strip = h("div", { class: "kc-strip", hidden: true });
      slot.replaceChildren(logSlot, strip);
      const log = new TopicLog(logSlot);
      const replication = new ReplicationStrip(strip);
      return {
        update(state, ctx) {
          log.update(state, committedByPartition(nodeId, ctx));
          replication.update(state);
        },
      };
    },
  },

  kafka_cluster: clusterCard,

  consumer_group: {
    summary(p) {
      const parts = [`${fmtInt(p.consumers)} consumer${p.consumers === 1 ? "" : "s"}`];
      if (p.processing_ms != null) parts.push(`${fmtMs(p.processing_ms)} each`);
      if (p.poison_rate) parts.push(`${pct(p.poison_rate)} poison`);
      if (p.failure_rate) parts.push(`${pct(p.failure_rate)} flaky`);
      const statics = p.static_membership ? p.consumers : Math.min(p.static_consumers || 0, p.consumers);
      if (statics) parts.push(`${statics} static`);
      if (p.consumer_racks) parts.push(`racks ${p.consumer_racks}${p.client_rack === false ? " (no client.rack)" : ""}`);
      return parts.join(" · ");
    },
    /** One row per member: the card grows when a consumer is added during a run. */
    size(params, state) {
      const live = state?.members?.length || 0;
      const m = Math.min(MAX_MEMBER_ROWS, Math.max(Number(params.consumers) || 1, live));
      // Extra status lines: order counts, transactions (output or read_committed), duplicates.
      const txn = state?.output || params.isolation_level === "read_committed" ? 1 : 0;
      const extra = (params.check_order ? 1 : 0) + txn + (params.count_duplicates ? 1 : 0)
        + (state?.racks ? 1 : 0) + (state?.offset_resets || params.auto_offset_reset !== "earliest" ? 1 : 0)
        + (state?.offset_errors ? 1 : 0);
      // Badges (static, rack) take room on each member's line: its chips wrap sooner.
      const badges = params.consumer_racks || params.static_membership || params.static_consumers ? 12 : 0;
      return { width: 276, height: 144 + m * (32 + badges) + extra * 20 }; // 22: the lag chart's view buttons
    },
    preview(slot, data) {
      const n = Math.min(MAX_MEMBER_ROWS, Math.max(1, Number(data.params?.consumers) || 1));
      const rows = [];
      for (let i = 1; i <= n; i++) {
        rows.push(
          h(
            "div",
            { class: "grp-member" },
            h("span", { class: "grp-member-id" }, `C${i}`),
            h("span", { class: "grp-chips" }, ...memberBadges(previewMember(data.params || {}, i)),
              h("span", { class: "grp-idle" }, "joins when the run starts")),
          ),
        );
      }
      slot.replaceChildren(
        h("div", { class: "grp-status" }, h("span", { class: "grp-state is-idle" }, "Not running")),
        h("div", { class: "grp-members" }, rows),
      );
    },
    live(slot, nodeId) {
      const members = new GroupMembers(slot, nodeId);
      return { update: (state, ctx) => members.update(state, ctx?.t) };
    },
  },

  dlq: {
    summary() {
      return "records the group gave up on";
    },
    size() {
      return { width: 236 }; // height: measured from the content
    },
    preview(slot) {
      slot.replaceChildren();
    },
    live(slot) {
      const count = h("span", { class: "kv-value is-bad" });
      slot.replaceChildren(h("div", { class: "kv-line" }, h("span", { class: "kv-label" }, "records"), count));
      return {
        update(state) {
          const text = fmtInt(state?.count ?? 0);
          if (count.textContent !== text) count.textContent = text;
        },
      };
    },
  },
};

/** Kafka connections carry no settings. */
export function edgeLabel() {
  return null;
}

/** Per partition of this topic, each group's committed offset and lag (for the log's ticks). */
function committedByPartition(topicId, ctx) {
  const byP = new Map();
  for (const [groupId, group] of ctx.nodesOfType("consumer_group")) {
    for (const part of group?.partitions || []) {
      if (part.topic !== topicId) continue;
      if (!byP.has(part.p)) byP.set(part.p, []);
      byP.get(part.p).push({ group: groupId, committed: part.committed, lag: part.lag });
    }
  }
  return byP;
}

function pct(x) {
  return `${+(x * 100).toFixed(2)}%`;
}

function fmtMs(ms) {
  if (ms < 1) return `${+(ms * 1000).toFixed(1)} µs`;
  if (ms >= 1000) return `${+(ms / 1000).toFixed(2)} s`;
  return `${+ms.toFixed(2)} ms`;
}

/** What consumer number i will be, from the group's parameters: static or not, and its rack. */
function previewMember(p, i) {
  const racks = String(p.consumer_racks || "").split(",").map((r) => r.trim()).filter(Boolean);
  const isStatic = p.static_membership || i <= (Number(p.static_consumers) || 0);
  return { instance_id: isStatic ? `consumer-${i}` : null, rack: racks.length ? racks[(i - 1) % racks.length] : null };
}
