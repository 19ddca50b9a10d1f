// Throughput and lag over simulated time (uPlot): produced/s and acknowledged/s on the left
// axis, total lag on the right. Rates are measured over the last simulated second, so a 0.1 s
// tick's Poisson noise does not make the lines jitter.
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { fmtCompact } from "./dom.js";

const MAX_POINTS = 600;
const WINDOW = 1.0; // simulated seconds per rate measurement

export class ThroughputChart {
  constructor(root) {
    this.root = root;
    this.reset();
    const axisFont = "600 13px system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif";
    this.plot = new uPlot(
      {
        width: Math.max(200, root.clientWidth),
        height: this.plotHeight(),
        legend: { show: true, live: false },
        cursor: { show: false },
        scales: { x: { time: false }, rate: { range: (u, min, max) => [0, Math.max(10, max * 1.1)] }, lag: { range: (u, min, max) => [0, Math.max(10, max * 1.1)] } },
        axes: [
          { stroke: "#334155", font: axisFont, grid: { stroke: "#e2e8f0" }, values: (u, v) => v.map((s) => `${s}s`) },
          { scale: "rate", stroke: "#334155", font: axisFont, grid: { stroke: "#e2e8f0" }, values: (u, v) => v.map(fmtCompact), size: 56 },
          { scale: "lag", side: 1, stroke: "#b91c1c", font: axisFont, grid: { show: false }, values: (u, v) => v.map(fmtCompact), size: 56 },
        ],
        series: [
          { label: "sim time" },
          { label: "produced/s", scale: "rate", stroke: "#2563eb", width: 3 },
          { label: "acknowledged/s", scale: "rate", stroke: "#16a34a", width: 3 },
          { label: "lag", scale: "lag", stroke: "#dc2626", width: 2.5, fill: "rgba(220,38,38,0.08)" },
        ],
      },
      this.data,
      root,
    );
    new ResizeObserver(() => {
      this.plot.setSize({ width: Math.max(200, root.clientWidth), height: this.plotHeight() });
    }).observe(root);
  }

  /** The plot area: the panel minus the legend row under it. */
  plotHeight() {
    return Math.max(90, this.root.clientHeight - 34);
  }

  reset() {
    this.data = [[], [], [], []];
    this.history = []; // [t, produced, acknowledged]
    this.plot?.setData(this.data);
  }

  update(metrics) {
    const t = metrics?.t;
    if (!Number.isFinite(t)) return;
    const last = this.history[this.history.length - 1];
    if (last && t < last[0]) this.reset(); // a reset or a new document
    if (last && t === last[0]) return;
    this.history.push([t, metrics.produced || 0, metrics.acknowledged || 0]);
    while (this.history.length > 2 && this.history[1][0] <= t - WINDOW) this.history.shift();
    const first = this.history[0];
    const dt = t - first[0];
    const produced = dt > 0 ? ((metrics.produced || 0) - first[1]) / dt : 0;
    const acked = dt > 0 ? ((metrics.acknowledged || 0) - first[2]) / dt : 0;
    const [xs, ps, as, ls] = this.data;
    xs.push(+t.toFixed(2));
    ps.push(Math.max(0, produced));
    as.push(Math.max(0, acked));
    ls.push(metrics.lag || 0);
    if (xs.length > MAX_POINTS) for (const s of this.data) s.shift();
    this.plot.setData(this.data);
  }
}

// One group's lag over simulated time, drawn inside its card: the lag as a filled line and,
// when the group has a lag alert, its threshold as a dashed line. Sized for a projector: thick
// strokes, bold axis labels, few ticks.
export class GroupLagChart {
  constructor(root) {
    this.root = root;
    this.data = [[], [], []];
    this.threshold = 0;
    const axisFont = "700 12px system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif";
    this.plot = new uPlot(
      {
        width: Math.max(180, root.clientWidth || 220),
        height: 92,
        legend: { show: false },
        cursor: { show: false },
        scales: { x: { time: false }, y: { range: (u, min, max) => [0, Math.max(10, max * 1.15)] } },
        axes: [
          { stroke: "#334155", font: axisFont, size: 22, grid: { show: false }, values: (u, v) => v.map((s) => `${s}s`) },
          { stroke: "#334155", font: axisFont, size: 44, grid: { stroke: "#e2e8f0" }, values: (u, v) => v.map(fmtCompact), splits: (u, i, min, max) => [0, max / 2, max] },
        ],
        series: [
          {},
          { label: "lag", stroke: "#7c3aed", width: 3, fill: "rgba(124,58,237,0.12)" },
          { label: "alert at", stroke: "#dc2626", width: 2, dash: [6, 4] },
        ],
      },
      this.data,
      root,
    );
    new ResizeObserver(() => {
      const width = Math.max(180, root.clientWidth);
      if (width !== this.plot.width) this.plot.setSize({ width, height: 92 });
    }).observe(root);
  }

  update(t, lag, threshold) {
    if (!Number.isFinite(t)) return;
    const [xs, ls, th] = this.data;
    if (xs.length && t < xs[xs.length - 1]) for (const s of this.data) s.length = 0; // a reset
    if (xs.length && t === xs[xs.length - 1]) return;
    xs.push(+t.toFixed(2));
    ls.push(lag || 0);
    th.push(threshold > 0 ? threshold : null);
    if (xs.length > MAX_POINTS) for (const s of this.data) s.shift();
    this.plot.setData(this.data);
  }
}
