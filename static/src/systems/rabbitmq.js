// RabbitMQ (AMQP 0-9-1) cards and edge labels. Exchanges show their type; queues their ready
// and unacknowledged depth as two bars plus the next messages to be delivered (coloured by
// priority, ↻ when redelivered, red when a dead letter); consumers the prefetch credit each one
// uses. Built once per node and updated in place every frame.
import { h, fmtCompact, fmtInt } from "../dom.js";
import { partitionColor, DEAD_COLOR } from "../colors.js";
import { bar } from "../widgets.js";
import "./rabbitmq.css";

const TYPE_HELP = {
  direct: "key = binding key",
  topic: "* one word · # any words",
  fanout: "every binding",
  headers: "x-match on headers",
};

function chip(text, cls = "", style) {
  return h("span", { class: `amqp-chip ${cls}`, style }, text);
}

function keysOf(text) {
  return String(text || "").split(/[,\n]/).map((k) => k.trim()).filter(Boolean);
}

/** A policy's definition as short "key value" texts (what it sets). */
function policyDefinition(p) {
  const out = [];
  if (p.dead_letter_exchange) out.push(`DLX ${p.dead_letter_exchange}`);
  if (p.dead_letter_routing_key) out.push(`dl key ${p.dead_letter_routing_key}`);
  if (p.message_ttl_ms) out.push(`ttl ${p.message_ttl_ms} ms`);
  if (p.max_length) out.push(`max-length ${fmtInt(p.max_length)}`);
  if (p.max_length_bytes) out.push(`max ${fmtCompact(p.max_length_bytes)} B`);
  if (p.overflow && p.overflow !== "unset") out.push(p.overflow);
  if (p.expires_ms) out.push(`expires ${p.expires_ms} ms`);
  if (p.delivery_limit >= 0) out.push(`delivery-limit ${p.delivery_limit}`);
  if (p.dead_letter_strategy && p.dead_letter_strategy !== "unset") out.push(p.dead_letter_strategy);
  if (p.max_age_s) out.push(`max-age ${p.max_age_s} s`);
  if (p.alternate_exchange) out.push(`AE ${p.alternate_exchange}`);
  return out.length ? out : ["(empty definition)"];
}

/** What a queue's type adds to its card: the policy, replicas (quorum), offsets (stream). */
function queueExtras(s) {
  const out = [];
  if (s.policy) out.push(h("div", { class: "amqp-note" }, `policy ${s.policy}`));
  if (s.deleted) out.push(h("div", { class: "amqp-note is-dead" }, "deleted (x-expires)"));
  if (s.replicas) {
    out.push(h("div", { class: "amqp-row amqp-replicas" }, s.replicas.map((r) =>
      chip(`${r.id}${r.state === "leader" ? " ★" : ""}`, `amqp-replica is-${r.state}`))));
    const notes = [s.available ? `term ${s.term}` : "no leader: electing…"];
    if (s.delivery_limit != null) notes.push(`delivery-limit ${s.delivery_limit}`);
    if (s.dlx_held) notes.push(`${fmtInt(s.dlx_held)} dead letters held (at-least-once)`);
    if (s.publish_blocked) notes.push("publishers refused (over max-length)");
    out.push(h("div", { class: `amqp-note ${s.available ? "" : "is-warn"}` }, notes.join(" · ")));
  }
  if (s.queue_type === "stream") {
    out.push(h("div", { class: "amqp-note" },
      `offsets ${fmtInt(s.first_offset)}–${fmtInt(Math.max(s.first_offset, s.next_offset - 1))} · ${s.segments} segment${s.segments === 1 ? "" : "s"} · ${fmtCompact(s.bytes)} B`));
    for (const r of s.readers || []) {
      out.push(h("div", { class: "amqp-note" }, `${r.consumer}/${r.id} at ${fmtInt(r.offset)} (${r.spec}) · lag ${fmtInt(r.lag)}`));
    }
  }
  const got = s.got?.[s.got.length - 1];
  if (got) {
    const hd = got.headers || {};
    const bits = [`got ${got.key}`];
    if (hd["x-delivery-count"] != null) bits.push(`x-delivery-count ${hd["x-delivery-count"]}`);
    if (hd["x-first-death-queue"]) bits.push(`first death: ${hd["x-first-death-reason"]} in ${hd["x-first-death-queue"]}`);
    out.push(h("div", { class: "amqp-note", "data-testid": "amqp-got" }, bits.join(" · ")));
  }
  return out;
}

export const cards = {
  amqp_publisher: {
    summary(p) {
      const parts = [`${fmtInt(p.rate)} msg/s`];
      if (p.priorities) parts.push(`priorities ${p.priorities}`);
      if (p.message_ttl_ms) parts.push(`ttl ${p.message_ttl_ms} ms`);
      if (p.delay_ms) parts.push(`x-delay ${p.delay_ms} ms`);
      if (p.mandatory) parts.push("mandatory");
      return parts.join(" · ");
    },
    size() {
      return { width: 240 };
    },
    preview(slot, data) {
      const p = data.params || {};
      const keys = keysOf(p.routing_keys);
      slot.replaceChildren(
        h("div", { class: "amqp-keys" }, keys.slice(0, 6).map((k) => chip(k, "amqp-key")),
          keys.length > 6 ? chip(`+${keys.length - 6}`) : null),
        p.reply_to ? h("div", { class: "amqp-note" }, `reply_to ${p.reply_to}`) : null,
      );
    },
    live(slot) {
      const sent = h("span", { class: "amqp-big" }, "0");
      const state = h("span", { class: "amqp-note" });
      slot.replaceChildren(h("div", { class: "amqp-row" }, sent, h("span", { class: "amqp-note" }, "sent"), state));
      return {
        update(s) {
          if (!s) return;
          sent.textContent = fmtInt(s.sent);
          const notes = [];
          if (s.blocked) notes.push("blocked: memory alarm");
          if (s.direct_reply_to) {
            notes.push(`${fmtInt(s.replies)} direct replies${s.rtt_ms != null ? ` · rtt ${s.rtt_ms.toFixed(1)} ms` : ""}`);
            if (s.replies_lost) notes.push(`${fmtInt(s.replies_lost)} lost (channel closed)`);
          }
          state.textContent = notes.join(" · ");
          state.classList.toggle("is-warn", !!s.blocked || !!s.replies_lost);
        },
      };
    },
  },

  amqp_exchange: {
    summary(p) {
      return `${p.type || "direct"} exchange${p.delayed ? " · delayed" : ""}`;
    },
    size() {
      return { width: 220 };
    },
    preview(slot, data) {
      const p = data.params || {};
      slot.replaceChildren(
        h("div", { class: "amqp-row" }, chip(p.type || "direct", `amqp-xtype amqp-xtype-${p.type || "direct"}`),
          p.delayed ? chip("x-delayed-message", "amqp-delayed") : null),
        h("div", { class: "amqp-note" }, TYPE_HELP[p.type] || ""),
      );
    },
    live(slot, nodeId, typeInfo) {
      const type = chip("", "amqp-xtype");
      const routed = h("span", { class: "amqp-note" });
      const unroutable = h("span", { class: "amqp-note" });
      const holding = h("span", { class: "amqp-note" });
      slot.replaceChildren(h("div", { class: "amqp-row" }, type, holding), h("div", { class: "amqp-row" }, routed, unroutable));
      return {
        update(s) {
          if (!s) return;
          type.textContent = s.type;
          type.className = `amqp-chip amqp-xtype amqp-xtype-${s.type}`;
          routed.textContent = `${fmtInt(s.routed)} routed`;
          unroutable.textContent = s.unroutable ? `${fmtInt(s.unroutable)} unroutable` : "";
          unroutable.classList.toggle("is-dead", !!s.unroutable);
          holding.textContent = s.delayed ? `holding ${fmtInt(s.holding)}` : "";
        },
      };
    },
  },

  amqp_queue: {
    summary(p) {
      const type = p.queue_type || "classic";
      if (type === "quorum") return `quorum · ${p.replicas || 3} replicas${p.delivery_limit >= 0 ? ` · delivery-limit ${p.delivery_limit}` : ""}`;
      if (type === "stream") return "stream · read by offset";
      return p.max_priority ? `classic · priority 0–${p.max_priority}` : "classic queue";
    },
    size() {
      return { width: 264 };
    },
    preview(slot, data) {
      const p = data.params || {};
      const args = [];
      if (p.message_ttl_ms) args.push(`ttl ${p.message_ttl_ms} ms`);
      if (p.max_length) args.push(`max ${fmtInt(p.max_length)} · ${p.overflow}`);
      if (p.max_priority) args.push(`priority 0–${p.max_priority}`);
      if (p.dead_letter_routing_key) args.push(`dl key ${p.dead_letter_routing_key}`);
      if (p.max_length_bytes) args.push(`max ${fmtCompact(p.max_length_bytes)} B`);
      if (p.expires_ms) args.push(`expires ${p.expires_ms} ms`);
      if (p.queue_type === "quorum" && p.dead_letter_strategy === "at-least-once") args.push("at-least-once DLX");
      if (p.queue_type === "stream" && p.max_age_s) args.push(`max-age ${p.max_age_s} s`);
      slot.replaceChildren(
        h("div", { class: "amqp-keys" }, chip(p.queue_type || "classic", `amqp-qtype amqp-qtype-${p.queue_type || "classic"}`),
          args.map((a) => chip(a, "amqp-arg"))),
        h("div", { class: "amqp-note" }, "empty"),
      );
    },
    live(slot) {
      const ready = bar("amqp", "ready", "is-ready");
      const unacked = bar("amqp", "unacked", "is-unacked");
      const head = h("div", { class: "amqp-head", "data-testid": "amqp-head" });
      const extra = h("div", { class: "amqp-extra", "data-testid": "amqp-queue-extra" });
      const foot = h("div", { class: "amqp-note" });
      slot.replaceChildren(ready.row, unacked.row, head, extra, foot);
      let peak = 10;
      let sig = "";
      return {
        update(s) {
          if (!s) return;
          peak = Math.max(peak, s.max_length || 0, s.ready + s.unacked);
          const cap = s.max_length || peak;
          ready.set(s.ready, cap, s.max_length ? `${fmtCompact(s.ready)}/${fmtCompact(s.max_length)}` : undefined);
          unacked.set(s.unacked, cap);
          const next = JSON.stringify(s.head || []);
          if (next !== sig) {
            sig = next;
            head.replaceChildren(...(s.head || []).map((m) =>
              h("span", {
                class: `amqp-msg ${m.r ? "is-redelivered" : ""} ${m.dead ? "is-dead" : ""}`,
                style: { background: m.dead ? DEAD_COLOR : partitionColor(m.p || 0) },
                title: `${m.key}${m.p ? ` · priority ${m.p}` : ""}${m.r ? " · redelivered" : ""}${m.dead ? ` · dead letter (${m.dead})` : ""}`,
              }, m.r ? "↻" : m.p ? String(m.p) : "")));
          }
          const parts = [];
          if (s.count) {
            const reasons = Object.entries(s.dead_letter_reasons || {}).map(([r, n]) => `${r} ${fmtCompact(n)}`).join(", ");
            parts.push(`${fmtInt(s.count)} dead letters in (${reasons})`);
          }
          if (s.dead_lettered) parts.push(`${fmtInt(s.dead_lettered)} dead-lettered out`);
          const dropped = Object.values(s.dropped || {}).reduce((a, b) => a + b, 0);
          if (dropped) parts.push(`${fmtInt(dropped)} dropped`);
          if (s.duplicates) parts.push(`${fmtInt(s.duplicates)} redelivered`);
          foot.textContent = parts.join(" · ") || `${fmtInt(s.acked)} acked`;
          extra.replaceChildren(...queueExtras(s));
        },
      };
    },
  },

  amqp_policy: {
    summary(p) {
      return `/${p.pattern}/ → ${p.apply_to} · priority ${p.priority}`;
    },
    size() {
      return { width: 240 };
    },
    preview(slot, data) {
      const p = data.params || {};
      slot.replaceChildren(
        h("div", { class: "amqp-keys" }, policyDefinition(p).map((a) => chip(a, "amqp-arg"))),
        h("div", { class: "amqp-note" }, `pattern ${p.pattern} · ${p.apply_to}`),
      );
    },
    live(slot) {
      const applies = h("div", { class: "amqp-note", "data-testid": "amqp-policy-applies" });
      const overridden = h("div", { class: "amqp-note" });
      slot.replaceChildren(applies, overridden);
      return {
        update(s) {
          if (!s) return;
          applies.textContent = s.applies_to?.length ? `applies to ${s.applies_to.join(", ")}` : "applies to nothing";
          overridden.textContent = s.overridden?.length ? `outranked on ${s.overridden.join(", ")}` : "";
        },
      };
    },
  },

  amqp_consumer: {
    summary(p) {
      const mode = p.ack_mode === "auto" ? "auto-ack" : `prefetch ${p.prefetch || "∞"}`;
      const offset = p.stream_offset && p.stream_offset !== "next" ? ` · offset ${p.stream_offset}` : "";
      return `${fmtInt(p.consumers)} × ${p.processing_ms} ms · ${mode}${p.poison_rate ? ` · ${+(p.poison_rate * 100).toFixed(1)}% poison` : ""}${offset}`;
    },
    size() {
      return { width: 240 };
    },
    preview(slot, data) {
      const p = data.params || {};
      const n = Math.min(16, Math.max(0, Number(p.consumers) || 0));
      const rows = [];
      for (let i = 1; i <= n; i++) rows.push(h("div", { class: "amqp-consumer" }, h("span", { class: "amqp-cid" }, `c${i}`),
        h("span", { class: "amqp-note" }, p.ack_mode === "auto" ? "auto-ack" : `prefetch ${p.prefetch || "∞"}`)));
      slot.replaceChildren(...rows);
    },
    live(slot) {
      const list = h("div", { class: "amqp-consumers" });
      const foot = h("div", { class: "amqp-note" });
      slot.replaceChildren(list, foot);
      const rows = new Map();
      return {
        update(s) {
          if (!s) return;
          const seen = new Set();
          for (const c of s.channels || []) {
            seen.add(c.id);
            let row = rows.get(c.id);
            if (!row) {
              const b = bar("amqp", c.id, "is-credit");
              row = { b };
              rows.set(c.id, row);
              list.append(b.row);
            }
            const limit = s.prefetch || 0;
            row.b.set(c.unacked, limit || Math.max(10, c.unacked), limit ? `${c.unacked}/${limit}` : `${c.unacked}`);
            row.b.row.classList.toggle("is-full", limit > 0 && c.unacked >= limit);
            row.b.row.classList.toggle("is-leaving", c.state !== "active");
          }
          for (const [id, row] of rows) {
            if (!seen.has(id)) {
              row.b.row.remove();
              rows.delete(id);
            }
          }
          const parts = [`${fmtInt(s.acked)} acked`];
          if (s.requeued) parts.push(`${fmtInt(s.requeued)} requeued`);
          if (s.rejected) parts.push(`${fmtInt(s.rejected)} rejected`);
          if (s.rtt_ms != null) parts.push(`reply rtt ${s.rtt_ms.toFixed(1)} ms`);
          if (s.errors?.length) parts.push(`channel error: ${s.errors[s.errors.length - 1]}`);
          foot.textContent = parts.join(" · ");
          foot.classList.toggle("is-dead", !!s.errors?.length);
        },
      };
    },
  },
};

/** Bindings on the edges out of an exchange; "DLX" on a queue's edge to its dead-letter exchange. */
export function edgeLabel(edge) {
  const p = edge.params || {};
  if (edge.sourceType === "amqp_queue" && edge.targetType === "amqp_exchange") return "DLX";
  if (edge.sourceType !== "amqp_exchange") return null;
  if (p.alternate) return "alternate-exchange";
  const type = edge.sourceParams?.type;
  const headers = Object.entries(p.binding_headers || {});
  if (type === "fanout") return null; // a fanout binding has no key that matters
  const present = String(p.binding_present || "").split(",").map((k) => k.trim()).filter(Boolean);
  if (type === "headers" || (!type && (headers.length || present.length))) {
    const args = [...headers.map(([k, v]) => `${k}=${v}`), ...present.map((k) => `${k} present`)];
    return `x-match ${p.x_match || "all"}${args.length ? ": " : ""}${args.join(", ")}`;
  }
  if (edge.targetType === "amqp_exchange" && !p.binding_key) return null;
  return p.binding_key ? p.binding_key : '""';
}
