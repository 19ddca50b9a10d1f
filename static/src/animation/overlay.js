// Message dots on an overlay <canvas> above the graph. One dot per sampled event that moves
// messages from one node to another (`src` -> `dst`, along the edge between them), coloured by
// partition, else by key (red for a dead letter), sized by log(n) of the batch.
// Frames arrive ~10 a second; each event is placed at its own simulated time inside the frame's
// span and the dots are moved by requestAnimationFrame between frames, so motion is continuous
// whatever the frame rate. Drawing is batched per colour (one path and one fill per colour per
// animation frame), which keeps hundreds of dots smooth.
import { partitionColor, DEAD_COLOR } from "../colors.js";

const TRAVEL_MS = 900; // wall time for a dot to cross an edge: constant, so speeds compare
const MAX_DOTS = 1500; // samples: past this, new dots are skipped (the counters count all)
const SAMPLES = 32; // points per edge path

const NEUTRAL_COLOR = "#334155";

/**
 * Where an event moves a message, if it does: any event with `src` and `dst` node ids (every
 * system's flow events), and Kafka's dead letters ({g, dlq}). Dead letters are drawn red.
 */
export function flowOf(e) {
  const dead = e.k === "dead_letter" || e.dead === true;
  if (e.src != null && e.dst != null) return { src: e.src, dst: e.dst, dead };
  if (e.k === "dead_letter" && e.g != null && e.dlq) return { src: e.g, dst: e.dlq, dead };
  return null;
}

/** A colour per key (FNV-1a hash into the partition palette) where there is no partition. */
export function keyColor(key) {
  let hash = 0x811c9dc5;
  const s = String(key);
  for (let i = 0; i < s.length; i++) {
    hash ^= s.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return partitionColor(hash % 12);
}

export class FlowOverlay {
  /**
   * @param {HTMLCanvasElement} canvas  positioned exactly over the graph container
   * @param {import("../editor/graph.js").EditorGraph} editor
   */
  constructor(canvas, editor) {
    this.canvas = canvas;
    this.ctx = canvas.getContext("2d");
    this.editor = editor;
    this.dots = [];
    this.paths = new Map(); // "src>dst" -> Float32Array of local x,y
    this.lastFrameWall = 0;
    this.frameMs = 100;
    this.lastT = null;
    this.running = false;
    this.flashes = []; // short pulses on a node (rebalance, kill)

    const g = editor.graph;
    const invalidate = () => this.paths.clear();
    for (const ev of ["node:change:position", "node:change:size", "cell:added", "cell:removed", "edge:change:source", "edge:change:target"]) {
      g.on(ev, invalidate);
    }
    this.resizeObserver = new ResizeObserver(() => this.resize());
    this.resizeObserver.observe(canvas.parentElement);
    this.resize();
    this.tick = this.tick.bind(this);
  }

  resize() {
    const rect = this.canvas.parentElement.getBoundingClientRect();
    const dpr = window.devicePixelRatio || 1;
    this.canvas.width = Math.max(1, Math.round(rect.width * dpr));
    this.canvas.height = Math.max(1, Math.round(rect.height * dpr));
    this.canvas.style.width = `${rect.width}px`;
    this.canvas.style.height = `${rect.height}px`;
    this.dpr = dpr;
  }

  /** Forget everything in flight (reset, new document). */
  clear() {
    this.dots = [];
    this.lastT = null;
  }

  /** A frame's events. `t` is the frame's simulated time (end of its span). */
  push(events, t) {
    const now = performance.now();
    if (this.lastFrameWall) {
      // Smoothed wall interval between frames: events spread over it.
      const dt = Math.min(400, Math.max(30, now - this.lastFrameWall));
      this.frameMs = this.frameMs * 0.7 + dt * 0.3;
    }
    this.lastFrameWall = now;
    const t0 = this.lastT != null && this.lastT < t ? this.lastT : null;
    this.lastT = t;
    if (!events?.length) return;
    this.editor.indexEdges();
    const span = t0 != null ? t - t0 : 0;
    for (const e of events) {
      if (this.dots.length >= MAX_DOTS) break;
      const move = flowOf(e);
      if (!move) continue;
      let key = `${move.src}>${move.dst}`;
      let reverse = false;
      if (!this.editor.edgeIndex.has(key)) {
        // A pull along an edge drawn the other way (a consumer fetching from its source).
        key = `${move.dst}>${move.src}`;
        reverse = true;
        if (!this.editor.edgeIndex.has(key)) continue;
      }
      const dead = move.dead;
      const color = dead ? DEAD_COLOR : e.p != null ? partitionColor(e.p) : e.key != null ? keyColor(e.key) : NEUTRAL_COLOR;
      const frac = span > 0 ? Math.min(1, Math.max(0, (e.t - t0) / span)) : Math.random();
      const n = Math.max(1, e.n || 1);
      this.dots.push({
        key,
        color,
        start: now + frac * this.frameMs,
        // Batches are drawn bigger: radius grows with log(n), capped so a huge batch stays a dot.
        r: Math.min(15, 6 + 1.8 * Math.log2(n)),
        dead,
        reverse,
      });
    }
    this.ensureRunning();
  }

  /** A brief ring around a node, e.g. when its group rebalances or a member is killed. */
  flash(nodeId, color) {
    this.flashes.push({ nodeId, color, start: performance.now() });
    this.ensureRunning();
  }

  ensureRunning() {
    if (!this.running) {
      this.running = true;
      requestAnimationFrame(this.tick);
    }
  }

  pathFor(key) {
    let pts = this.paths.get(key);
    if (pts !== undefined) return pts;
    pts = null;
    const edge = this.editor.edgeIndex?.get(key);
    const view = edge && this.editor.graph.findViewByCell(edge);
    if (view && view.getConnectionLength?.()) {
      pts = new Float32Array((SAMPLES + 1) * 2);
      for (let i = 0; i <= SAMPLES; i++) {
        const p = view.getPointAtRatio(i / SAMPLES);
        pts[i * 2] = p?.x ?? 0;
        pts[i * 2 + 1] = p?.y ?? 0;
      }
    }
    this.paths.set(key, pts);
    return pts;
  }

  tick(now) {
    const ctx = this.ctx;
    const { a, b, c, d, e, f } = this.editor.graph.transform.getMatrix();
    const dpr = this.dpr;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, this.canvas.width, this.canvas.height);
    // Draw in the graph's local coordinates: zoom and pan apply to the dots for free.
    ctx.setTransform(a * dpr, b * dpr, c * dpr, d * dpr, e * dpr, f * dpr);

    const byColor = new Map();
    const alive = [];
    for (const dot of this.dots) {
      const u = (now - dot.start) / TRAVEL_MS;
      if (u >= 1) continue;
      alive.push(dot);
      if (u < 0) continue;
      const pts = this.pathFor(dot.key);
      if (!pts) continue;
      const x = (dot.reverse ? 1 - u : u) * SAMPLES;
      const i = Math.min(SAMPLES - 1, Math.floor(x));
      const frac = x - i;
      const px = pts[i * 2] + (pts[i * 2 + 2] - pts[i * 2]) * frac;
      const py = pts[i * 2 + 1] + (pts[i * 2 + 3] - pts[i * 2 + 1]) * frac;
      let list = byColor.get(dot.color);
      if (!list) byColor.set(dot.color, (list = []));
      list.push(px, py, dot.r, dot.dead ? 1 : 0);
    }
    this.dots = alive;

    ctx.lineWidth = 2;
    ctx.strokeStyle = "rgba(255,255,255,0.95)";
    for (const [color, list] of byColor) {
      ctx.beginPath();
      for (let i = 0; i < list.length; i += 4) {
        ctx.moveTo(list[i] + list[i + 2], list[i + 1]);
        ctx.arc(list[i], list[i + 1], list[i + 2], 0, Math.PI * 2);
      }
      ctx.fillStyle = color;
      ctx.fill();
      ctx.stroke();
    }

    this.drawFlashes(ctx, now);

    if (this.dots.length || this.flashes.length) {
      requestAnimationFrame(this.tick);
    } else {
      this.running = false;
      ctx.setTransform(1, 0, 0, 1, 0, 0);
      ctx.clearRect(0, 0, this.canvas.width, this.canvas.height);
    }
  }

  drawFlashes(ctx, now) {
    const keep = [];
    for (const fl of this.flashes) {
      const u = (now - fl.start) / 1200;
      if (u >= 1) continue;
      keep.push(fl);
      const node = this.editor.graph.getCellById(fl.nodeId);
      if (!node) continue;
      const bb = node.getBBox();
      const pad = 6 + 18 * u;
      ctx.save();
      ctx.globalAlpha = 1 - u;
      ctx.lineWidth = 5;
      ctx.strokeStyle = fl.color;
      ctx.beginPath();
      ctx.roundRect(bb.x - pad, bb.y - pad, bb.width + 2 * pad, bb.height + 2 * pad, 14 + pad);
      ctx.stroke();
      ctx.restore();
    }
    this.flashes = keep;
  }
}
