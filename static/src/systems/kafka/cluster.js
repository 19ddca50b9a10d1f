// The Kafka Cluster card: each broker up, down, slow or cut off (with how many partitions it
// leads), and per partition its leader and ISR as chips. Also the replication strip under a
// clustered topic's log: leader, ISR, and the high watermark against the leader's LEO.
// Commands (kill, restart, slow, isolate, reconnect a broker) come from the generic controls.
//
// Test hooks: [data-testid=broker][data-broker=<id>][data-state=up|slow|isolated|down] on the
// cluster card; [data-testid=cluster-partition] (cluster card) and [data-testid=replica-row]
// (topic card) per partition, with data-partition (<topic>/<p>, or <p> on the topic card),
// data-leader (a broker id, empty when it has none) and data-isr (ids, comma-separated).
import { h, fmtCompact } from "../../dom.js";
import { partitionColor } from "../../colors.js";

const MAX_PARTITION_ROWS = 24;

function brokerChip(id, state, inIsr, leader) {
  const cls = ["kc-chip", `is-${state || "up"}`];
  if (inIsr === false) cls.push("is-out");
  if (leader) cls.push("is-leader");
  return h("span", { class: cls.join(" "), title: leader ? `broker ${id}: leader` : `broker ${id}` }, String(id));
}

/** A topic's name cut to fit the partition chip (the whole name is its tooltip). */
function shortName(name, max = 9) {
  const text = String(name);
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

function partitionHooks(name, part) {
  return { "data-partition": name, "data-leader": part.leader ?? "", "data-isr": (part.isr || []).join(",") };
}

export const clusterCard = {
  summary(p) {
    const parts = [`${p.brokers} broker${p.brokers === 1 ? "" : "s"}`, `RF ${p.default_replication_factor}`,
      `min ISR ${p.min_insync_replicas}`];
    if (p.unclean_leader_election_enable) parts.push("unclean elections");
    return parts.join(" · ");
  },
  size(params, state) {
    const rows = Math.min(MAX_PARTITION_ROWS, state?.partitions?.length || 0);
    return { width: 300, height: 110 + rows * 22 };
  },
  preview(slot, data) {
    const n = Math.max(1, Number(data.params?.brokers) || 1);
    const chips = [];
    const racks = Number(data.params?.racks) || 0;
    for (let b = 1; b <= n; b++) {
      chips.push(h("span", { class: "kc-broker is-up" }, `broker ${b}`,
        racks ? h("small", {}, ` rack ${"abcdefghi"[(b - 1) % racks]}`) : null));
    }
    slot.replaceChildren(h("div", { class: "kc-brokers" }, chips));
  },
  live(slot) {
    const brokers = h("div", { class: "kc-brokers" });
    const status = h("div", { class: "kc-status" });
    const parts = h("div", { class: "kc-parts" });
    slot.replaceChildren(brokers, status, parts);
    return {
      update(state, ctx) {
        if (!state) return;
        brokers.replaceChildren(
          ...(state.brokers || []).map((b) =>
            h("span", { class: `kc-broker is-${b.state}`, "data-testid": "broker", "data-broker": b.id, "data-state": b.state,
              title: b.slow > 1 ? `replication ×${b.slow}` : b.fenced ? "fenced by the controller" : b.state },
            `broker ${b.id}`, h("small", {}, `${b.rack ? ` rack ${b.rack} ·` : ""}${b.state === "up" ? ` ${b.leaders} led` : ` ${b.state}`}`)),
          ),
        );
        const bits = [];
        if (state.offline_partitions) bits.push(h("span", { class: "kc-bad" }, `${state.offline_partitions} offline`));
        if (state.under_replicated) bits.push(h("span", { class: "kc-warn" }, `${state.under_replicated} under-replicated`));
        if (state.unclean_elections) bits.push(h("span", { class: "kc-bad" }, `${state.unclean_elections} unclean elections`));
        bits.push(h("span", {}, `${state.elections || 0} elections`));
        status.replaceChildren(...bits);
        const brokerState = new Map((state.brokers || []).map((b) => [b.id, b.state]));
        parts.replaceChildren(
          ...(state.partitions || []).slice(0, MAX_PARTITION_ROWS).map((part) =>
            h("div", { class: "kc-row", "data-testid": "cluster-partition", ...partitionHooks(`${part.topic}/${part.p}`, part) },
              h("span", { class: "kc-p", style: { background: partitionColor(part.p) }, title: `${part.topic}/${part.p}` },
                `${shortName(ctx?.labelOf?.(part.topic) ?? part.topic)} P${part.p}`),
              h("span", { class: "kc-chips" },
                part.replicas.map((r) => brokerChip(r, brokerState.get(r), part.isr.includes(r), r === part.leader))),
              h("span", { class: "kc-hw", title: "high watermark / leader's log end offset" },
                `${fmtCompact(part.hw)}/${fmtCompact(part.leo)}`),
            ),
          ),
        );
      },
    };
  },
};

/** Under a clustered topic's log: per partition the leader, the ISR, HW against LEO, lost records. */
export class ReplicationStrip {
  constructor(el) {
    this.el = el;
  }

  update(state) {
    const parts = (state?.partitions || []).filter((p) => p.replicas);
    this.el.hidden = !parts.length;
    if (!parts.length) return;
    this.el.replaceChildren(
      ...parts.slice(0, MAX_PARTITION_ROWS).map((part) =>
        h("div", { class: `kc-row ${part.offline ? "is-offline" : ""}`, "data-testid": "replica-row", ...partitionHooks(part.p, part) },
          h("span", { class: "kc-p", style: { background: partitionColor(part.p) } }, `P${part.p}`),
          h("span", { class: "kc-chips" },
            part.replicas.map((r) => brokerChip(r, part.offline && r === part.leader ? "down" : "up",
              part.isr.includes(r), r === part.leader))),
          h("span", { class: "kc-hw", title: "high watermark (what consumers may read) / leader's LEO" },
            part.offline ? "offline" : `HW ${fmtCompact(part.hw)} · LEO ${fmtCompact(part.leo)}`,
            part.lost ? h("span", { class: "kc-bad" }, ` · lost ${fmtCompact(part.lost)}`) : null),
        ),
      ),
    );
  }
}
