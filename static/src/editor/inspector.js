// The inspector aside: the server renders the form for a node type from its declared parameters
// (htmx partial topologies/inspector.html#form), or for an edge from the `edge_params` its source
// type declares (/inspector/edge/<source type>/); each change posts the form and the server sends
// it back validated. When it comes back with data-valid="true", its data-params (the coerced
// values) and label are applied to the node or edge: the server's rules decide, the canvas follows.
import htmx from "htmx.org";
import { h } from "../dom.js";

export class Inspector {
  /**
   * @param {HTMLElement} root  the aside body the form is swapped into
   * @param {import("./graph.js").EditorGraph} editor
   * @param {{inspectorUrl: string, edgeInspectorUrl: string, readonly: boolean}} opts
   */
  constructor(root, editor, opts) {
    this.root = root;
    this.editor = editor;
    this.opts = opts;
    this.nodeId = null;
    this.edgeId = null;
    this.applying = false;
    this.pending = null;

    root.addEventListener("htmx:afterSwap", () => this.onSwap());
    root.addEventListener("htmx:afterRequest", () => {
      if (this.pending && !this.busy()) {
        const { kind, id } = this.pending;
        this.pending = null;
        if (kind === "edge") this.loadEdge(id);
        else this.load(id);
      }
    });
    root.addEventListener("htmx:responseError", (e) => {
      const status = e.detail?.xhr?.status;
      this.root.replaceChildren(
        h("p", { class: "inspector-empty error" }, `Could not load the settings (HTTP ${status}).`),
      );
    });
    editor.graph.on("node:change:data", ({ node }) => {
      if (!this.applying && node.id === this.nodeId) this.load(node.id);
    });
    editor.graph.on("node:removed", ({ node }) => {
      if (node.id === this.nodeId) this.showSelection([]);
    });
    editor.graph.on("edge:change:data", ({ edge }) => {
      if (!this.applying && edge.id === this.edgeId) this.loadEdge(edge.id);
    });
    editor.graph.on("edge:removed", ({ edge }) => {
      if (edge.id === this.edgeId) this.showSelection([]);
    });
    this.showSelection([]);
  }

  busy() {
    return !!this.root.querySelector(".htmx-request") || this.root.classList.contains("htmx-request");
  }

  showSelection(cells) {
    const nodes = cells.filter((c) => c.isNode());
    if (cells.length === 1 && nodes.length === 1) {
      this.load(nodes[0].id);
      return;
    }
    if (cells.length === 1 && this.hasEdgeParams(cells[0])) {
      this.loadEdge(cells[0].id);
      return;
    }
    this.nodeId = null;
    this.edgeId = null;
    if (cells.length === 0) {
      this.root.replaceChildren(
        h(
          "div",
          { class: "inspector-empty" },
          h("p", {}, this.opts.readonly ? "Select a node to see its settings." : "Select a node to edit its settings."),
          this.opts.readonly
            ? null
            : h(
                "p",
                { class: "hint" },
                "Drag from the palette to add a node; drag from a node's right-hand dot to another node's left-hand dot to connect them.",
              ),
        ),
      );
    } else if (cells.length === 1) {
      const e = cells[0];
      const label = (id) => this.editor.graph.getCellById(id)?.getData()?.label || id;
      this.root.replaceChildren(
        h(
          "div",
          { class: "inspector-empty" },
          h("p", {}, `Connection: ${label(e.getSourceCellId())} → ${label(e.getTargetCellId())}`),
          this.opts.readonly ? null : h("p", { class: "hint" }, "Press Delete to remove it."),
        ),
      );
    } else {
      this.root.replaceChildren(
        h(
          "div",
          { class: "inspector-empty" },
          h("p", {}, `${cells.length} items selected.`),
          this.opts.readonly ? null : h("p", { class: "hint" }, "Press Delete to remove them."),
        ),
      );
    }
  }

  hasEdgeParams(cell) {
    if (!cell?.isEdge?.()) return false;
    const source = this.editor.graph.getCellById(cell.getSourceCellId());
    return (this.editor.types.get(source?.getData()?.type)?.edge_params?.length || 0) > 0;
  }

  load(nodeId) {
    const node = this.editor.graph.getCellById(nodeId);
    if (!node) return;
    this.nodeId = nodeId;
    this.edgeId = null;
    if (this.busy()) {
      // A change is still being validated: let it land on its node first.
      this.pending = { kind: "node", id: nodeId };
      return;
    }
    const data = node.getData() || {};
    const query = new URLSearchParams({ node_id: nodeId, label: data.label || "" });
    for (const [k, v] of Object.entries(data.params || {})) query.set(k, formValue(v));
    if (this.opts.readonly) query.set("readonly", "1");
    htmx.ajax("GET", `${this.opts.inspectorUrl}${encodeURIComponent(data.type)}/?${query}`, {
      target: this.root,
      swap: "innerHTML",
    });
  }

  /** The settings of an edge, declared by its source node's type (a binding's key ...). */
  loadEdge(edgeId) {
    const edge = this.editor.graph.getCellById(edgeId);
    if (!edge?.isEdge()) return;
    this.edgeId = edgeId;
    this.nodeId = null;
    if (this.busy()) {
      this.pending = { kind: "edge", id: edgeId };
      return;
    }
    const g = this.editor.graph;
    const source = g.getCellById(edge.getSourceCellId());
    const target = g.getCellById(edge.getTargetCellId());
    const label = (cell) => cell?.getData()?.label || cell?.id || "";
    const query = new URLSearchParams({ edge_id: edgeId, source: label(source), target: label(target) });
    for (const [k, v] of Object.entries(edge.getData()?.params || {})) query.set(k, formValue(v));
    if (this.opts.readonly) query.set("readonly", "1");
    const type = source?.getData()?.type;
    const base = this.opts.edgeInspectorUrl || `${this.opts.inspectorUrl}edge/`;
    htmx.ajax("GET", `${base}${encodeURIComponent(type)}/?${query}`, { target: this.root, swap: "innerHTML" });
  }

  onSwap() {
    const form = this.root.querySelector("#inspector-form");
    if (!form || this.opts.readonly) return;
    const nodeId = form.dataset.nodeId;
    if (form.dataset.valid !== "true") return;
    let params;
    try {
      params = JSON.parse(form.dataset.params || "{}");
    } catch {
      return;
    }
    this.applying = true;
    try {
      if (form.dataset.edgeId) {
        this.editor.updateEdge(form.dataset.edgeId, params);
      } else {
        const label = form.querySelector("[name=label]")?.value?.trim();
        this.editor.updateNode(nodeId, { label: label || undefined, params });
      }
    } finally {
      this.applying = false;
    }
  }
}

/** A param as a form sends it: a map as key=value lines (the server reads them back). */
function formValue(v) {
  if (v && typeof v === "object") return Object.entries(v).map(([k, x]) => `${k}=${x}`).join("\n");
  return String(v);
}
