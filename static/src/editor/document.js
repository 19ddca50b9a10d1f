// Graph <-> topology document (version 1, see playground/engine/README.md). The document is the
// only thing that leaves the browser: saved, exported, loaded into a simulation.
import { makeEdge } from "./graph.js";

export const DOCUMENT_VERSION = 1;

/** Read the canvas as a document. Positions are rounded: nobody needs sub-pixel layouts. */
export function graphToDocument(editor, name, description) {
  const g = editor.graph;
  const nodes = g.getNodes().map((n) => {
    const data = n.getData() || {};
    const { x, y } = n.getPosition();
    const node = { id: n.id, type: data.type };
    if (data.label) node.label = data.label;
    node.x = Math.round(x);
    node.y = Math.round(y);
    node.params = { ...(data.params || {}) };
    return node;
  });
  const edges = g
    .getEdges()
    .filter((e) => e.getSourceCellId() && e.getTargetCellId())
    .map((e) => {
      const edge = { id: e.id, source: e.getSourceCellId(), target: e.getTargetCellId() };
      const params = e.getData()?.params;
      if (params && Object.keys(params).length) edge.params = { ...params };
      return edge;
    });
  const doc = { fanout: DOCUMENT_VERSION, name: name || "Untitled topology" };
  if (description) doc.description = description;
  return { ...doc, nodes, edges };
}

/**
 * Replace the canvas with a document. Nodes of a type this page does not know are still shown
 * (as a generic card) so that nothing silently disappears; the server will name the problem.
 * History is cleared: undo must not walk back into a previous document.
 */
export function documentToGraph(editor, doc) {
  const g = editor.graph;
  const nodes = (doc?.nodes || []).map((n, i) =>
    editor.createNode(
      editor.nodeMetadata({
        id: n.id,
        type: n.type,
        label: n.label,
        x: n.x ?? 80 + (i % 4) * 340,
        y: n.y ?? 80 + Math.floor(i / 4) * 260,
        params: n.params,
      }),
    ),
  );
  const ids = new Set(nodes.map((n) => n.id));
  const edges = (doc?.edges || [])
    .filter((e) => ids.has(e.source) && ids.has(e.target))
    .map((e) =>
      makeEdge({
        id: e.id,
        source: { cell: e.source, port: "out" },
        target: { cell: e.target, port: "in" },
        data: { params: { ...(e.params || {}) } },
      }),
    );
  g.resetCells([...nodes, ...edges]);
  editor.refreshEdgeLabels();
  g.cleanHistory();
  // Fresh ids continue after the highest numbered one in the document.
  for (const n of doc?.nodes || []) {
    const m = /-(\d+)$/.exec(n.id || "");
    if (m) editor.counter = Math.max(editor.counter, Number(m[1]));
  }
}

/** Stable string form, to tell whether two documents differ (key order is ours). */
export function fingerprint(doc) {
  return JSON.stringify(doc);
}

/**
 * "nodes[2].params.partitions" -> "Orders topic › Partitions": errors name the field the way
 * the user sees it on the canvas.
 */
export function describePath(path, doc, types) {
  const m = /^nodes\[(\d+)\](?:\.params\.(\w+)|\.(\w+))?/.exec(path || "");
  if (m) {
    const node = doc?.nodes?.[Number(m[1])];
    if (node) {
      const info = types.get(node.type);
      const field = m[2]
        ? info?.params?.find((p) => p.name === m[2])?.label || m[2]
        : m[3] || "";
      const who = node.label || node.id;
      return field ? `${who} › ${field}` : who;
    }
  }
  const e = /^edges\[(\d+)\](?:\.params\.(\w+))?/.exec(path || "");
  if (e) {
    const edge = doc?.edges?.[Number(e[1])];
    if (edge) {
      const nodes = doc?.nodes || [];
      const name = (id) => nodes.find((n) => n.id === id)?.label || id;
      const who = `connection ${name(edge.source)} → ${name(edge.target)}`;
      if (!e[2]) return who;
      const sourceType = types.get(nodes.find((n) => n.id === edge.source)?.type);
      const field = sourceType?.edge_params?.find((p) => p.name === e[2])?.label || e[2];
      return `${who} › ${field}`;
    }
  }
  return path;
}

/** The node a path points at, if any (to select it when an error names it). */
export function nodeIdOfPath(path, doc) {
  const m = /^nodes\[(\d+)\]/.exec(path || "");
  return m ? doc?.nodes?.[Number(m[1])]?.id || null : null;
}
