// The palette: one item per node type (from the engine's declarations, in registry order,
// grouped by category). Drag an item onto the canvas (X6's Dnd), or click / press Enter on it
// to drop it in the middle of the view.
import { Dnd } from "@antv/x6";
import { h } from "../dom.js";

export function mountPalette(root, editor, nodeTypes) {
  const dnd = new Dnd({
    target: editor.graph,
    scaled: true,
    getDragNode: (source) => source.clone({ keepId: false }),
    getDropNode: (dragging) => {
      const { type } = dragging.getData();
      return editor.createNode(editor.nodeMetadata({ type }));
    },
  });

  const byCategory = new Map();
  for (const t of nodeTypes) {
    if (!byCategory.has(t.category)) byCategory.set(t.category, []);
    byCategory.get(t.category).push(t);
  }

  const addAtCenter = (type) => {
    const g = editor.graph;
    const rect = g.container.getBoundingClientRect();
    const center = g.clientToLocal(rect.left + rect.width / 2, rect.top + rect.height / 2);
    const meta = editor.nodeMetadata({ type });
    // Nudge so repeated clicks do not stack nodes exactly on top of each other.
    const offset = (g.getNodes().length % 5) * 24;
    meta.x = Math.round(center.x - meta.width / 2 + offset);
    meta.y = Math.round(center.y - meta.height / 2 + offset);
    const node = g.addNode(meta);
    g.cleanSelection();
    g.select(node);
  };

  for (const [category, types] of byCategory) {
    root.append(h("h3", { class: "palette-category" }, category));
    for (const t of types) {
      const item = h(
        "div",
        {
          class: "palette-item",
          role: "button",
          tabindex: "0",
          title: `${t.help}\nDrag onto the canvas, or click to add.`,
          "data-testid": `palette-${t.name}`,
          "data-type": t.name,
          style: { "--accent": t.color || "#64748b" },
        },
        h("span", { class: "palette-swatch", "aria-hidden": "true" }),
        h("span", { class: "palette-label" }, t.label),
      );
      item.addEventListener("mousedown", (e) => {
        if (e.button !== 0) return;
        const node = editor.createNode(editor.nodeMetadata({ id: `drag-${t.name}`, type: t.name }));
        dnd.start(node, e);
      });
      item.addEventListener("click", () => addAtCenter(t.name));
      item.addEventListener("keydown", (e) => {
        if (e.key === "Enter" || e.key === " ") {
          e.preventDefault();
          addAtCenter(t.name);
        }
      });
      root.append(item);
    }
  }
}
