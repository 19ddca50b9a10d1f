// The big numbers: produced, consumed (acknowledged), in flight, retried, dead-lettered, lag,
// duplicates, simulated time. Each value element has data-testid="counter-<name>" and holds the
// number as text (thousands separated by commas).
import { fmtInt, fmtSeconds } from "../dom.js";

const FIELDS = [
  ["produced", (m) => m.produced],
  ["consumed", (m) => m.acknowledged],
  ["in-flight", (m) => m.in_flight],
  ["retried", (m) => m.retried],
  ["dead-lettered", (m) => m.dead_lettered],
  ["lag", (m) => m.lag],
  ["duplicates", (m) => m.duplicates],
];

export class Counters {
  constructor(root) {
    this.els = new Map();
    for (const [name] of FIELDS) this.els.set(name, root.querySelector(`[data-testid="counter-${name}"]`));
    this.time = root.querySelector('[data-testid="counter-sim-time"]');
    this.reset();
  }

  reset() {
    for (const el of this.els.values()) if (el) el.textContent = "0";
    if (this.time) this.time.textContent = fmtSeconds(0);
  }

  update(metrics, t) {
    if (!metrics) return;
    for (const [name, get] of FIELDS) {
      const el = this.els.get(name);
      if (!el) continue;
      const text = fmtInt(get(metrics) ?? 0);
      if (el.textContent !== text) {
        el.textContent = text;
        // Long numbers get a smaller font (styles.css): every digit stays visible.
        el.style.setProperty("--len", String(Math.max(5, text.length)));
      }
    }
    if (this.time) this.time.textContent = fmtSeconds(t ?? metrics.t ?? 0);
  }
}
