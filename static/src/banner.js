// Visible, dismissible messages above the canvas: errors from the server (a refused document,
// a websocket error frame) and notices (draft restored, saved). Never modal: the graph stays
// editable underneath and nothing the user built is lost.
import { h } from "./dom.js";

export class Banner {
  constructor(root) {
    this.root = root;
  }

  /**
   * @param {"error"|"notice"|"success"} kind
   * @param {string} title
   * @param {{errors?: {path:string,message:string}[], describe?: (path:string)=>string,
   *          actions?: {label:string, onclick:()=>void, testid?:string}[], timeout?: number,
   *          key?: string}} opts
   */
  show(kind, title, opts = {}) {
    if (opts.key) this.root.querySelector(`[data-key="${opts.key}"]`)?.remove();
    const dismiss = () => item.remove();
    const errors = (opts.errors || []).map((e) =>
      h(
        "li",
        { "data-testid": "banner-error", "data-path": e.path || "" },
        e.path ? h("code", { class: "field" }, opts.describe ? opts.describe(e.path) : e.path) : null,
        " ",
        e.message,
      ),
    );
    const item = h(
      "div",
      {
        class: `banner banner-${kind}`,
        role: kind === "error" ? "alert" : "status",
        "data-testid": `banner-${kind}`,
        "data-key": opts.key || null,
      },
      h(
        "div",
        { class: "banner-body" },
        h("strong", {}, title),
        errors.length ? h("ul", { class: "banner-errors" }, errors) : null,
      ),
      h(
        "div",
        { class: "banner-actions" },
        (opts.actions || []).map((a) =>
          h(
            "button",
            {
              type: "button",
              class: "btn btn-small",
              "data-testid": a.testid || null,
              onclick: () => {
                a.onclick();
                dismiss();
              },
            },
            a.label,
          ),
        ),
        h(
          "button",
          {
            type: "button",
            class: "banner-close",
            "aria-label": "Dismiss",
            "data-testid": "banner-dismiss",
            onclick: dismiss,
          },
          "×",
        ),
      ),
    );
    this.root.append(item);
    // Keep the stack short: the newest few matter.
    while (this.root.children.length > 4) this.root.firstElementChild.remove();
    if (opts.timeout) setTimeout(dismiss, opts.timeout);
    return item;
  }

  clear(key) {
    this.root.querySelectorAll(key ? `[data-key="${key}"]` : ".banner").forEach((el) => el.remove());
  }
}
