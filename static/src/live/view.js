// Applies what the server streams (snapshot, frame) to every live widget: counters, the live
// body of each node's card (its system's `live` widget, see systems/index.js), the dots, the
// chart, the rebalance timeline and the DLQ panel. The server owns the state; this only renders
// it. A node's type comes from the document being simulated, never from the shape of its state.
import { liveSlot, cardType, restorePreview } from "../editor/cards.js";
import { cardFor } from "../systems/index.js";
import { frameMetrics } from "./delta.js";

export class LiveView {
  /**
   * @param {{editor, overlay, counters, chart, timeline, dlq, onState, types: Map<string, object>,
   *          labelOf: (id: string) => string}} parts  types: node type name -> declaration
   */
  constructor({ editor, overlay, counters, chart, timeline, dlq, onState, types, labelOf }) {
    Object.assign(this, { editor, overlay, counters, chart, timeline, dlq, onState, types, labelOf });
    this.widgets = new Map(); // node id -> {slot, type, widget}
    this.metrics = null;
    this.document = null; // the document the room simulates
    this.nodeTypes = new Map(); // node id -> type name, from that document
    this.state = { running: false, speed: 1, tick: 0 };
    this.t = 0;
  }

  /** The document the room runs (from a snapshot, or the one this tab just loaded). */
  setDocument(doc) {
    if (!doc) return;
    this.document = doc;
    this.nodeTypes = new Map((doc.nodes || []).map((n) => [n.id, n.type]));
  }

  typeOf(id) {
    return this.nodeTypes.get(id) ?? cardType(id);
  }

  snapshot(msg) {
    this.setDocument(msg.document);
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
    // A frame carries only what changed (msg.delta): merged into the metrics held.
    this.apply(frameMetrics(this.metrics, msg), msg.t);
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
    for (const [id] of this.widgets) {
      restorePreview(id);
      const node = this.editor.graph.getCellById(id);
      if (node?.isNode()) this.editor.resizeToFit(node, null);
    }
    this.widgets.clear();
    this.counters.reset();
    this.chart.reset();
    this.timeline.reset([]);
    this.dlq.reset([]);
    this.overlay.clear();
  }

  context(metrics) {
    const nodes = metrics.nodes || {};
    return {
      t: this.t,
      metrics,
      document: this.document,
      typeOf: (id) => this.typeOf(id),
      nodesOfType: (type) => Object.entries(nodes).filter(([id]) => this.typeOf(id) === type),
      labelOf: (id) => this.labelOf?.(id) ?? id,
    };
  }

  apply(metrics, t, { keepChart = false } = {}) {
    if (!metrics) return;
    this.metrics = metrics;
    this.t = t ?? metrics.t ?? 0;
    this.counters.update(metrics, this.t);
    if (!keepChart) this.chart.update({ ...metrics, t: this.t });
    const ctx = this.context(metrics);

    const stores = [];
    for (const [id, state] of Object.entries(metrics.nodes || {})) {
      const type = this.typeOf(id);
      if (this.types?.get(type)?.dead_letter_store) stores.push({ id, state });
      // Any node that reports rebalances feeds the timeline (events may have been sampled away).
      if (Array.isArray(state?.rebalances)) this.timeline.fromMetrics(id, state.rebalances);
      this.updateCard(id, type, state, ctx);
    }
    this.dlq.update(stores);
  }

  updateCard(id, type, state, ctx) {
    const slot = liveSlot(id);
    // The canvas may have changed since the run was loaded: only a card of the same type.
    if (!slot || !type || cardType(id) !== type) return;
    let w = this.widgets.get(id);
    if (!w || w.slot !== slot || w.type !== type) {
      slot.dataset.live = "1";
      const hooks = cardFor(type);
      w = { slot, type, widget: hooks.live(slot, id, this.types?.get(type)) };
      this.widgets.set(id, w);
    }
    try {
      w.widget?.update?.(state, ctx);
    } catch (err) {
      // One system's broken widget must not stop the others' (nor the counters).
      console.error(`live card of ${type} ${id}:`, err);
    }
    const node = this.editor.graph.getCellById(id);
    if (node?.isNode()) this.editor.resizeToFit(node, state);
  }
}
