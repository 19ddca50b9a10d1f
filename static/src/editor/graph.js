// The canvas: X6 does dragging, zooming, panning, connecting, selection, keyboard and undo.
// This module declares Fanout's node shape (an HTML card with an "in" port on the left and an
// "out" port on the right), the connection rules taken from the node types' declarations
// (accepts_from, derived by the engine from the types' ports; max_in, max_out), and the editor's shortcuts.
import { Graph, Shape, Selection, History, Keyboard, Snapline } from "@antv/x6";
import { cardElement, refreshCard, forgetCard, onCardMounted, naturalHeight } from "./cards.js";
import { cardFor, edgeLabelFor } from "../systems/index.js";

const SHAPE = "fanout-node";
let registered = false;
let typesByName = new Map();

const DEFAULT_WIDTH = 240;
const DEFAULT_HEIGHT = 100;

/**
 * Size of a node's card from its system's `size` hook (it grows with what it must show:
 * partitions, members); a dimension the hook leaves out is the default width, or the height
 * the card's content measures once it is on the page (a declared height is only a floor).
 */
export function nodeSize(type, params = {}, state = null) {
  const want = cardFor(type).size?.(params || {}, state) || {};
  return { width: want.width ?? DEFAULT_WIDTH, height: want.height ?? null };
}

function hasInPort(info) {
  if (!info) return true; // a type this page was not told about: show both ports, decide nothing
  return (info?.accepts_from?.length || 0) > 0 && info.max_in !== 0;
}

function hasOutPort(info) {
  if (!info) return true;
  if (info.max_out === 0) return false;
  for (const other of typesByName.values()) {
    if ((other.accepts_from || []).includes(info.name)) return true;
  }
  return false;
}

function portAttrs(color, magnet) {
  return {
    circle: {
      r: 9,
      magnet,
      stroke: color,
      strokeWidth: 3,
      fill: "#ffffff",
      style: { visibility: "visible" },
    },
  };
}

function register() {
  if (registered) return;
  registered = true;
  Shape.HTML.register({
    shape: SHAPE,
    width: 240,
    height: 90,
    // Never re-render on model changes: the card element is long-lived and updated in place.
    effect: [],
    html(cell) {
      const data = cell.getData() || {};
      return cardElement(cell, typesByName.get(data.type));
    },
  });
}

export class EditorGraph {
  /**
   * @param {HTMLElement} container
   * @param {object[]} nodeTypes  engine node type declarations (nt.to_dict())
   * @param {{readonly: boolean, onChange: () => void, onSelect: (cells) => void,
   *          onRefused: (message: string) => void}} opts
   */
  constructor(container, nodeTypes, opts) {
    typesByName = new Map(nodeTypes.map((t) => [t.name, t]));
    register();
    this.types = typesByName;
    this.readonly = !!opts.readonly;
    this.opts = opts;
    this.counter = 0;
    this.liveStates = new Map(); // node id -> its state in the running simulation (for sizes)
    onCardMounted((id) => {
      const node = this.graph?.getCellById(id);
      if (node?.isNode()) this.resizeToFit(node);
    });

    const graph = new Graph({
      container,
      autoResize: true,
      background: { color: "#f8fafc" },
      grid: { visible: true, type: "dot", size: 24, args: { color: "#cbd5e1", thickness: 2 } },
      panning: { enabled: true, eventTypes: ["leftMouseDown"] },
      mousewheel: { enabled: true, zoomAtMousePosition: true, minScale: 0.25, maxScale: 3 },
      interacting: this.readonly
        ? { nodeMovable: false, edgeMovable: false, magnetConnectable: false, vertexMovable: false }
        : { edgeMovable: false, vertexAddable: false, vertexMovable: false, edgeLabelMovable: false },
      highlighting: {
        magnetAvailable: {
          name: "stroke",
          args: { padding: 5, attrs: { stroke: "#16a34a", "stroke-width": 4 } },
        },
        magnetAdsorbed: {
          name: "stroke",
          args: { padding: 7, attrs: { stroke: "#16a34a", "stroke-width": 6 } },
        },
      },
      connecting: {
        snap: { radius: 36 },
        allowBlank: false,
        allowLoop: false,
        allowNode: false,
        allowEdge: false,
        allowMulti: false,
        highlight: true,
        anchor: "center",
        connectionPoint: "anchor",
        connector: { name: "smooth" },
        createEdge: ({ sourceCell }) => makeEdge({ data: { params: this.edgeDefaults(sourceCell) } }),
        validateMagnet: ({ cell, magnet }) => this.canStartFrom(cell, magnet),
        validateConnection: (args) => this.canConnect(args),
      },
    });
    this.graph = graph;

    graph.use(
      new Selection({
        enabled: true,
        multiple: true,
        rubberband: !this.readonly,
        modifiers: "shift",
        movable: !this.readonly,
        showNodeSelectionBox: false,
        showEdgeSelectionBox: false,
        pointerEvents: "none",
      }),
    );
    graph.use(new Snapline({ enabled: !this.readonly }));
    graph.use(
      new History({
        enabled: !this.readonly,
        // Live resizes (a group gaining a member) and hover tools are not edits.
        beforeAddCommand: (event, args) => !(args?.options?.live || args?.key === "tools"),
      }),
    );
    graph.use(new Keyboard({ enabled: true, global: true }));

    this.bindEvents();
    if (!this.readonly) this.bindKeys();
  }

  bindEvents() {
    const g = this.graph;
    const changed = (args) => {
      if (args?.options?.live || args?.key === "tools") return;
      this.opts.onChange?.();
    };
    g.on("cell:added", changed);
    g.on("cell:removed", ({ cell }) => {
      if (cell.isNode()) forgetCard(cell.id);
      changed();
    });
    g.on("cell:change:*", changed);
    g.on("node:change:data", ({ node }) => {
      refreshCard(node, this.types.get(node.getData()?.type));
      this.resizeToFit(node);
    });
    g.on("selection:changed", ({ added, removed, selected }) => {
      for (const c of removed) this.markSelected(c, false);
      for (const c of added) this.markSelected(c, true);
      this.opts.onSelect?.(selected);
    });
    g.on("edge:connected", ({ edge, isNew }) => {
      if (isNew) edge.setZIndex(0);
      this.refreshEdgeLabel(edge);
    });
    g.on("edge:change:data", ({ edge }) => this.refreshEdgeLabel(edge));
    g.on("node:change:data", ({ node }) => {
      for (const edge of g.getConnectedEdges(node) || []) this.refreshEdgeLabel(edge);
    });
    g.on("edge:mouseenter", ({ edge }) => {
      if (this.readonly) return;
      // Beside the label, when there is one, not on top of it.
      const distance = edge.getLabels().length ? "28%" : "50%";
      edge.addTools([{ name: "button-remove", args: { distance } }]);
    });
    g.on("edge:mouseleave", ({ edge }) => edge.removeTools());
  }

  bindKeys() {
    const g = this.graph;
    g.bindKey(["meta+z", "ctrl+z"], () => {
      this.undo();
      return false;
    });
    g.bindKey(["meta+shift+z", "ctrl+shift+z", "ctrl+y"], () => {
      this.redo();
      return false;
    });
    g.bindKey(["delete", "backspace"], () => {
      this.deleteSelection();
      return false;
    });
    g.bindKey(["meta+a", "ctrl+a"], () => {
      g.select(g.getCells());
      return false;
    });
    g.bindKey("escape", () => g.cleanSelection());
  }

  markSelected(cell, on) {
    const view = this.graph.findViewByCell(cell);
    view?.container?.classList.toggle("is-selected", on);
  }

  undo() {
    if (this.graph.canUndo()) this.graph.undo();
  }

  redo() {
    if (this.graph.canRedo()) this.graph.redo();
  }

  deleteSelection() {
    const cells = this.graph.getSelectedCells();
    if (cells.length) {
      this.graph.cleanSelection();
      this.graph.removeCells(cells);
    }
  }

  // ----- connection rules, from the declarations -----

  canStartFrom(cell, magnet) {
    if (this.readonly) return false;
    if (magnet?.getAttribute("port-group") !== "out") return false;
    // Refusing here would turn the drag into a node move; let the edge start and have
    // canConnect refuse every target instead, with a word on why.
    if (this.outgoingFull(cell)) {
      const info = this.types.get(cell.getData()?.type);
      this.opts.onRefused?.(
        `${info.label} "${cell.getData()?.label || cell.id}" can have at most ${info.max_out} outgoing connection${info.max_out === 1 ? "" : "s"}: delete the existing one first.`,
      );
    }
    return true;
  }

  outgoingFull(cell, except = null) {
    const info = this.types.get(cell.getData()?.type);
    if (info?.max_out == null) return false;
    const outgoing = (this.graph.getOutgoingEdges(cell) || []).filter(
      (e) => e !== except && e.getTargetCellId(),
    );
    return outgoing.length >= info.max_out;
  }

  canConnect({ sourceCell, targetCell, sourceMagnet, targetMagnet, edge }) {
    if (!sourceCell || !targetCell || !targetMagnet || sourceCell === targetCell) return false;
    if (sourceMagnet?.getAttribute("port-group") !== "out") return false;
    if (targetMagnet.getAttribute("port-group") !== "in") return false;
    if (this.outgoingFull(sourceCell, edge)) return false;
    const from = sourceCell.getData()?.type;
    const info = this.types.get(targetCell.getData()?.type);
    if (!info || !(info.accepts_from || []).includes(from)) return false;
    const incoming = (this.graph.getIncomingEdges(targetCell) || []).filter((e) => e !== edge);
    if (info.max_in != null && incoming.length >= info.max_in) return false;
    if (incoming.some((e) => e.getSourceCellId() === sourceCell.id)) return false;
    return true;
  }

  // ----- nodes -----

  /** A node id that reads well in errors and metrics: "kafka_topic-2". */
  freshId(type) {
    let id;
    do {
      this.counter += 1;
      id = `${type}-${this.counter}`;
    } while (this.graph.getCellById(id));
    return id;
  }

  freshLabel(type) {
    const info = this.types.get(type);
    const base = info?.label || type;
    const taken = new Set(
      this.graph.getNodes().map((n) => n.getData()?.label),
    );
    if (!taken.has(base)) return base;
    let i = 2;
    while (taken.has(`${base} ${i}`)) i += 1;
    return `${base} ${i}`;
  }

  /** The X6 node metadata for a document node (used by the palette and by document.js). */
  nodeMetadata({ id, type, label, x, y, params }) {
    const info = this.types.get(type);
    const defaults = Object.fromEntries((info?.params || []).map((p) => [p.name, p.default]));
    const allParams = { ...defaults, ...(params || {}) };
    const want = nodeSize(type, allParams);
    const size = { width: want.width, height: want.height ?? DEFAULT_HEIGHT };
    const color = info?.color || "#64748b";
    const items = [];
    if (hasInPort(info)) items.push({ id: "in", group: "in" });
    if (hasOutPort(info)) items.push({ id: "out", group: "out" });
    return {
      id: id || this.freshId(type),
      shape: SHAPE,
      x: x ?? 80,
      y: y ?? 80,
      ...size,
      zIndex: 2,
      data: { type, label: label ?? this.freshLabel(type), params: allParams },
      ports: {
        groups: {
          in: {
            position: "left",
            attrs: portAttrs(color, this.readonly ? false : "passive"),
          },
          out: {
            position: "right",
            attrs: portAttrs(color, !this.readonly),
          },
        },
        items,
      },
    };
  }

  createNode(meta) {
    return this.graph.createNode(meta);
  }

  /**
   * Give a node the size its card wants. `state` is its latest live state (undefined: keep the
   * last one; null: forget it, the run was cleared).
   */
  resizeToFit(node, state) {
    if (state === null) this.liveStates.delete(node.id);
    else if (state !== undefined) this.liveStates.set(node.id, state);
    const data = node.getData() || {};
    const want = nodeSize(data.type, data.params, this.liveStates.get(node.id) ?? null);
    // A declared height is a floor: text that wraps on a narrow screen still fits.
    const natural = naturalHeight(node.id);
    const height = want.height != null && natural != null ? Math.max(want.height, natural) : want.height ?? natural;
    const have = node.getSize();
    if (height == null) return;
    if (want.width !== have.width || Math.abs(height - have.height) > 1) {
      // Size follows the data; it is not an edit of its own (undo restores the data, and so the size).
      node.resize(want.width, height, { live: true });
    }
  }

  /** Set a node's label and params (one undo step); returns true if anything changed. */
  updateNode(id, { label, params }) {
    const node = this.graph.getCellById(id);
    if (!node?.isNode()) return false;
    const data = node.getData() || {};
    const next = {
      ...data,
      label: label ?? data.label,
      params: params ?? data.params,
    };
    if (JSON.stringify(next) === JSON.stringify(data)) return false;
    node.setData(next, { overwrite: true });
    return true;
  }

  // ----- edges: params declared by the source type, and the label they read as -----

  /** Default params of an edge out of this node (its type's declared edge_params). */
  edgeDefaults(sourceCell) {
    const info = this.types.get(sourceCell?.getData?.()?.type);
    return Object.fromEntries((info?.edge_params || []).map((p) => [p.name, p.default]));
  }

  /** What a system module sees of an edge (see systems/index.js). */
  edgeInfo(edge) {
    const source = this.graph.getCellById(edge.getSourceCellId());
    const target = this.graph.getCellById(edge.getTargetCellId());
    return {
      id: edge.id,
      source: edge.getSourceCellId(),
      target: edge.getTargetCellId(),
      params: { ...(edge.getData()?.params || {}) },
      sourceType: source?.getData()?.type ?? null,
      targetType: target?.getData()?.type ?? null,
      sourceParams: source?.getData()?.params || {},
      targetParams: target?.getData()?.params || {},
      edgeParams: this.types.get(source?.getData()?.type)?.edge_params || [],
    };
  }

  /** Draw edgeLabelFor(edge) on the edge (not an edit: no history, no autosave). */
  refreshEdgeLabel(edge) {
    if (!edge?.isEdge?.() || !edge.getSourceCellId() || !edge.getTargetCellId()) return;
    const text = edgeLabelFor(this.edgeInfo(edge));
    const current = edge.getLabels()[0]?.attrs?.label?.text ?? null;
    if ((text || null) === current) return;
    edge.setLabels(text ? [edgeLabel(text)] : [], { live: true });
  }

  refreshEdgeLabels() {
    for (const edge of this.graph.getEdges()) this.refreshEdgeLabel(edge);
  }

  /** Set an edge's params (one undo step); returns true if anything changed. */
  updateEdge(id, params) {
    const edge = this.graph.getCellById(id);
    if (!edge?.isEdge()) return false;
    const data = edge.getData() || {};
    if (JSON.stringify(data.params || {}) === JSON.stringify(params || {})) return false;
    edge.setData({ ...data, params: { ...params } }, { overwrite: true });
    return true;
  }

  edgeBetween(source, target) {
    return this.edgeIndex?.get(`${source}>${target}`) || null;
  }

  /** Map "source>target" -> edge, rebuilt lazily by the animation layer. */
  indexEdges() {
    this.edgeIndex = new Map();
    for (const e of this.graph.getEdges()) {
      this.edgeIndex.set(`${e.getSourceCellId()}>${e.getTargetCellId()}`, e);
    }
    return this.edgeIndex;
  }
}

/** An X6 label: dark monospace text on a white plate, readable on a projector. */
function edgeLabel(text) {
  return {
    position: { distance: 0.5 },
    attrs: {
      label: {
        text,
        fill: "#0f172a",
        fontSize: 17,
        fontWeight: 700,
        fontFamily: 'ui-monospace, "SF Mono", "Cascadia Mono", "Roboto Mono", Menlo, Consolas, monospace',
      },
      body: {
        fill: "#ffffff",
        stroke: "#475569",
        strokeWidth: 2,
        rx: 6,
        ry: 6,
        refWidth: "100%",
        refHeight: "100%",
        refWidth2: 16,
        refHeight2: 8,
        refX: -8,
        refY: -4,
      },
    },
  };
}

export function makeEdge(meta = {}) {
  return new Shape.Edge({
    ...meta,
    zIndex: 0,
    connector: { name: "smooth" },
    attrs: {
      line: {
        stroke: "#64748b",
        strokeWidth: 4,
        targetMarker: { name: "block", width: 14, height: 10 },
      },
    },
  });
}
