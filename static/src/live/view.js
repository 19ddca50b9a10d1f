// Applies what the server streams (snapshot, frame) to every live widget: counters, the log
// bars inside topic cards, the members inside group cards, the dots, the chart, the rebalance
// timeline and the DLQ panel. The server owns the state; this only renders it.
import { liveSlot, restorePreview } from "../editor/cards.js";
import { TopicLog } from "./topic.js";
import { GroupMembers } from "./group.js";

function kindOf(state) {
  if (!state || typeof state !== "object") return null;
  if (Array.isArray(state.members)) return "consumer_group";
  if (Array.isArray(state.partitions) && "leo" in state) return "kafka_topic";
  if ("recent" in state && "count" in state) return "dlq";
  return null;
}

export class LiveView {
  constructor({ editor, overlay, counters, chart, timeline, dlq, onState }) {
    Object.assign(this, { editor, overlay, counters, chart, timeline, dlq, onState });
    this.widgets = new Map(); // node id -> TopicLog | GroupMembers
    this.memberCounts = new Map();
    this.metrics = null;
    this.state = { running: false, speed: 1, tick: 0 };
    this.t = 0;
  }

  snapshot(msg) {
    this.overlay.clear();
    this.chart.reset();
    this.timeline.reset(msg.recent?.rebalances || []);
    this.dlq.reset(msg.recent?.dlq || []);
    this.apply(msg.metrics, msg.t);
    if (msg.state) this.state = msg.state;
    this.onState?.(this.state);
  }

  frame(msg) {
    this.overlay.push(msg.events || [], msg.t);
    this.timeline.events(msg.events);
    for (const e of msg.events || []) {
      if (e.k === "rebalance_start") this.overlay.flash(e.g, "#f59e0b");
      else if (e.k === "member" && (e.change === "killed" || e.change === "expired")) this.overlay.flash(e.g, "#dc2626");
    }
    this.apply(msg.metrics, msg.t);
    if (msg.state) {
      this.state = msg.state;
      this.onState?.(this.state);
    }
  }

  /** Re-draw the live widgets after the canvas was rebuilt (undo, new document). */
  refresh() {
    if (this.metrics) this.apply(this.metrics, this.t, { keepChart: true });
  }

  /** Empty every live widget (a new document was loaded locally, nothing runs yet). */
  clear() {
    this.metrics = null;
    for (const [id] of this.widgets) restorePreview(id);
    this.widgets.clear();
    this.counters.reset();
    this.chart.reset();
    this.timeline.reset([]);
    this.dlq.reset([]);
    this.overlay.clear();
  }

  apply(metrics, t, { keepChart = false } = {}) {
    if (!metrics) return;
    this.metrics = metrics;
    this.t = t ?? metrics.t ?? 0;
    this.counters.update(metrics, this.t);
    if (!keepChart) this.chart.update({ ...metrics, t: this.t });
    const nodes = metrics.nodes || {};

    // Committed offsets and lag per topic partition, from every group reading it.
    const byTopic = new Map();
    const dlqs = [];
    for (const [id, state] of Object.entries(nodes)) {
      const kind = kindOf(state);
      if (kind === "consumer_group") {
        for (const part of state.partitions || []) {
          if (!byTopic.has(part.topic)) byTopic.set(part.topic, new Map());
          const perP = byTopic.get(part.topic);
          if (!perP.has(part.p)) perP.set(part.p, []);
          perP.get(part.p).push({ group: id, committed: part.committed, lag: part.lag });
        }
        this.timeline.fromMetrics(id, state.rebalances);
      } else if (kind === "dlq") {
        dlqs.push(state);
      }
    }
    this.dlq.update(dlqs);

    for (const [id, state] of Object.entries(nodes)) {
      const kind = kindOf(state);
      const slot = liveSlot(id);
      if (!slot || (kind !== "kafka_topic" && kind !== "consumer_group")) continue;
      let w = this.widgets.get(id);
      if (!w || w.slot !== slot) {
        slot.dataset.live = "1";
        w = kind === "kafka_topic" ? new TopicLog(slot) : new GroupMembers(slot, id);
        this.widgets.set(id, w);
      }
      if (kind === "kafka_topic") {
        w.update(state, byTopic.get(id) || new Map());
      } else {
        w.update(state);
        const count = (state.members || []).length;
        if (this.memberCounts.get(id) !== count) {
          this.memberCounts.set(id, count);
          const node = this.editor.graph.getCellById(id);
          if (node?.isNode()) this.editor.resizeToFit(node, count);
        }
      }
    }
  }
}
