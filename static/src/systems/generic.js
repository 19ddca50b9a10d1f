// The card of a node type no system module describes (and the default of every hook a module
// leaves out): its declared parameters under the label before a run, then the numeric counters
// of its metrics. Plain, but nothing a node reports is hidden.
import { h, fmtCompact } from "../dom.js";

const MAX_COUNTERS = 8;

/** "max_length" -> "max length". */
export function humanize(name) {
  return String(name).replace(/_/g, " ");
}

export function fmtValue(value, decl) {
  if (value == null || value === "") return "—";
  if (decl?.kind === "bool" || typeof value === "boolean") return value ? "yes" : "no";
  if (decl?.kind === "map" || (typeof value === "object" && !Array.isArray(value))) {
    const pairs = Object.entries(value);
    return pairs.length ? pairs.map(([k, v]) => `${k}=${v}`).join(", ") : "—";
  }
  if (typeof value === "number") return `${fmtCompact(value)}${decl?.unit ? ` ${decl.unit}` : ""}`;
  return String(value);
}

export const card = {
  summary(params, typeInfo) {
    return (typeInfo?.params || [])
      .map((d) => `${d.label}: ${fmtValue(params?.[d.name], d)}`)
      .join(" · ");
  },

  preview(slot) {
    slot.replaceChildren();
  },

  live(slot) {
    const list = h("dl", { class: "gen-counters" });
    slot.replaceChildren(list);
    let signature = "";
    return {
      update(state) {
        const rows = Object.entries(state || {})
          .filter(([, v]) => typeof v === "number" && Number.isFinite(v))
          .slice(0, MAX_COUNTERS);
        const sig = rows.map(([k]) => k).join("|");
        if (sig !== signature) {
          signature = sig;
          list.replaceChildren(
            ...rows.flatMap(([k]) => [
              h("dt", {}, humanize(k)),
              h("dd", { "data-counter": k }),
            ]),
          );
        }
        for (const [k, v] of rows) {
          const dd = list.querySelector(`dd[data-counter="${CSS.escape(k)}"]`);
          const text = fmtCompact(v);
          if (dd && dd.textContent !== text) dd.textContent = text;
        }
      },
    };
  },
};

/**
 * A connection's params as text, readable from the back row: the values that differ from their
 * declared default (a bool that is on reads as its label), else nothing.
 */
export function edgeLabel(edge) {
  const params = edge.params || {};
  const declared = edge.edgeParams || Object.keys(params).map((name) => ({ name }));
  const parts = [];
  for (const d of declared) {
    const v = params[d.name];
    if (v == null || v === "" || v === false) continue;
    if (typeof v === "object" && !Object.keys(v).length) continue;
    if ("default" in d && JSON.stringify(v) === JSON.stringify(d.default)) continue;
    parts.push(v === true ? d.label || humanize(d.name) : fmtValue(v, d));
  }
  if (!parts.length) return null;
  const text = parts.join(" · ");
  return text.length > 40 ? `${text.slice(0, 39)}…` : text;
}
