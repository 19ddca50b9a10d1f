// Throughput and lag over simulated time (uPlot): produced/s and acknowledged/s on the left
// axis, total lag on the right. Rates are measured over the last simulated second, so a 0.1 s
// tick's Poisson noise does not make the lines jitter.
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { fmtCompact } from "./dom.js";
import { partitionColor } from "./colors.js";

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

// One group's lag over simulated time, drawn inside its card, in one of three views: the
// group's total (a filled line, and when the group has a lag alert its threshold as a dashed
// line), each consumer's lag, or each partition's. Every view's history is kept from the first
// frame, so switching shows the past too. Sized for a projector: thick strokes, bold axis
// labels, three round ticks (0, half, top) in short numbers ("7.5k").
const MEMBER_COLORS = ["#7c3aed", "#0891b2", "#ea580c", "#16a34a", "#db2777", "#2563eb", "#ca8a04", "#475569"];
const MAX_LINES = 24;

export class GroupLagChart {
  constructor(root) {
    this.root = root;
    this.mode = "group";
    this.xs = [];
    this.total = [];
    this.threshold = [];
    this.byMember = new Map(); // member id -> lag per point (null while it was not in the group)
    this.byPartition = new Map(); // "topic/p" -> lag per point
    this.lastT = null; // the last frame's time, unrounded: a frame may repeat it (pause, a command)
    this.shownKeys = "";
    this.plot = null;
    this.build();
    new ResizeObserver(() => {
      const width = Math.max(180, root.clientWidth);
      if (this.plot && width !== this.plot.width) this.plot.setSize({ width, height: GROUP_CHART_HEIGHT });
    }).observe(root);
  }

  /** "group" | "consumers" | "partitions" */
  setMode(mode) {
    if (mode === this.mode) return;
    this.mode = mode;
    this.build();
  }

  /** The series and data of the current view. */
  view() {
    const line = (label, stroke) => ({ label, stroke, width: 2, points: { show: false } });
    if (this.mode === "consumers" || this.mode === "partitions") {
      const source = this.mode === "consumers" ? this.byMember : this.byPartition;
      const keys = [...source.keys()].slice(0, MAX_LINES);
      const series = keys.map((k, i) =>
        line(k, this.mode === "consumers" ? MEMBER_COLORS[i % MEMBER_COLORS.length] : partitionColor(k.split("/").pop())),
      );
      return { keys, series, data: [this.xs, ...keys.map((k) => source.get(k))] };
    }
    return {
      keys: ["lag", "alert"],
      // No point markers: uPlot draws them while the data is sparse (the first seconds, a fast
      // speed), and circles on a threshold make it read as data.
      series: [
        { label: "lag", stroke: "#7c3aed", width: 3, fill: "rgba(124,58,237,0.12)", points: { show: false } },
        { label: "alert at", stroke: "#dc2626", width: 2, dash: [6, 4], points: { show: false } },
      ],
      data: [this.xs, this.total, this.threshold],
    };
  }

  build() {
    const { keys, series, data } = this.view();
    this.shownKeys = keys.join("|");
    this.plot?.destroy();
    const axisFont = "700 12px system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif";
    this.plot = new uPlot(
      {
        width: Math.max(180, this.root.clientWidth || 220),
        height: GROUP_CHART_HEIGHT,
        legend: { show: false },
        cursor: { show: false },
        scales: { x: { time: false }, y: { range: (u, min, max) => [0, niceCeil(Math.max(10, max * 1.1))] } },
        axes: [
          // Short ticks and a small gap: uPlot's defaults (10 + 5 px) leave a 12 px label no room
          // in an axis this size and cut the x labels off at the bottom.
          {
            stroke: "#334155",
            font: axisFont,
            size: 22,
            gap: 2,
            ticks: { size: 4 },
            grid: { show: false },
            values: (u, v) => v.map((s) => `${s}s`),
          },
          {
            stroke: "#334155",
            font: axisFont,
            size: 40,
            gap: 3,
            ticks: { size: 4 },
            grid: { stroke: "#e2e8f0" },
            values: (u, v) => v.map(fmtTick),
            splits: (u, i, min, max) => [0, max / 2, max],
          },
        ],
        series: [{}, ...series],
      },
      data,
      this.root,
    );
    this.root.dataset.mode = this.mode;
    this.root.dataset.series = String(series.length);
  }

  /**
   * @param {number} t  simulated seconds
   * @param {number} lag  the group's total lag
   * @param {number} threshold  its alert threshold (0: none)
   * @param {{id: string, lag: number}[]} members
   * @param {{topic: string, p: number, lag: number}[]} partitions
   */
  update(t, lag, threshold, members = [], partitions = []) {
    if (!Number.isFinite(t)) return;
    if (this.lastT != null && t < this.lastT) this.clear(); // a reset
    else if (t === this.lastT) return;
    this.lastT = t;
    const n = this.xs.length;
    this.xs.push(+t.toFixed(2));
    this.total.push(lag || 0);
    this.threshold.push(threshold > 0 ? threshold : null);
    record(this.byMember, members.map((m) => [m.id, m.lag]), n);
    record(this.byPartition, partitions.map((p) => [`${p.topic}/${p.p}`, p.lag]), n);
    if (this.xs.length > MAX_POINTS) {
      for (const s of [this.xs, this.total, this.threshold, ...this.byMember.values(), ...this.byPartition.values()]) s.shift();
    }
    const view = this.view();
    if (view.keys.join("|") !== this.shownKeys) this.build();
    else this.plot.setData(view.data);
  }

  clear() {
    for (const s of [this.xs, this.total, this.threshold]) s.length = 0;
    this.byMember.clear();
    this.byPartition.clear();
  }
}

/** Append this point's value of each key (null for keys absent now), new keys padded with
 * nulls for the points before they appeared. */
function record(byKey, pairs, before) {
  const now = new Map(pairs);
  for (const [key, value] of now) {
    if (!byKey.has(key)) byKey.set(key, new Array(before).fill(null));
  }
  for (const [key, values] of byKey) values.push(now.has(key) ? now.get(key) ?? 0 : null);
}

const GROUP_CHART_HEIGHT = 84;

/** The smallest 1, 2, 3, 4, 5, 6 or 8 times a power of ten at or above x: the axis top, so its
 * three ticks (0, half, top) are round numbers that fmtTick writes exactly (a top of 2.5k would
 * put 1,250 in the middle, written "1.3k"). */
function niceCeil(x) {
  const p = 10 ** Math.floor(Math.log10(x));
  for (const m of [1, 2, 3, 4, 5, 6, 8, 10]) if (m * p >= x) return m * p;
  return 10 * p;
}

/** An axis tick in at most four characters: 750, 1.5k, 25k, 1.2M. */
function fmtTick(v) {
  const a = Math.abs(v);
  if (a >= 1e6) return `${+(v / 1e6).toFixed(a >= 1e7 ? 0 : 1)}M`;
  if (a >= 1e3) return `${+(v / 1e3).toFixed(a >= 1e4 ? 0 : 1)}k`;
  return String(+v.toFixed(a >= 10 ? 0 : 1));
}
