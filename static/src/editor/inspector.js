// The inspector aside: the server renders the form for a node type from its declared parameters
// (htmx partial topologies/inspector.html#form); each change posts the form and the server sends
// it back validated. When it comes back with data-valid="true", its data-params (the coerced
// values) and label are applied to the node: the server's rules decide, the canvas follows.
import htmx from "htmx.org";
import { h } from "../dom.js";

export class Inspector {
  /**
   * @param {HTMLElement} root  the aside body the form is swapped into
   * @param {import("./graph.js").EditorGraph} editor
   * @param {{inspectorUrl: string, readonly: boolean}} opts
   */
  constructor(root, editor, opts) {
    this.root = root;
    this.editor = editor;
    this.opts = opts;
    this.nodeId = null;
    this.applying = false;
    this.pending = null;

    root.addEventListener("htmx:afterSwap", () => this.onSwap());
    root.addEventListener("htmx:afterRequest", () => {
      if (this.pending && !this.busy()) {
        const id = this.pending;
        this.pending = null;
        this.load(id);
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
    this.nodeId = null;
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

  load(nodeId) {
    const node = this.editor.graph.getCellById(nodeId);
    if (!node) return;
    this.nodeId = nodeId;
    if (this.busy()) {
      // A change is still being validated: let it land on its node first.
      this.pending = nodeId;
      return;
    }
    const data = node.getData() || {};
    const query = new URLSearchParams({ node_id: nodeId, label: data.label || "" });
    for (const [k, v] of Object.entries(data.params || {})) query.set(k, String(v));
    if (this.opts.readonly) query.set("readonly", "1");
    htmx.ajax("GET", `${this.opts.inspectorUrl}${encodeURIComponent(data.type)}/?${query}`, {
      target: this.root,
      swap: "innerHTML",
    });
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
    const label = form.querySelector("[name=label]")?.value?.trim();
    this.applying = true;
    try {
      this.editor.updateNode(nodeId, { label: label || undefined, params });
    } finally {
      this.applying = false;
    }
  }
}
