// The small pieces every system's card module draws with: text that changes only when it must,
// and a labelled fill bar. Each system styles them under its own class prefix (gps-, pls-, ...).
import { fmtCompact, h } from "./dom.js";

/** Set an element's text only when it changed (a frame re-renders every card 10 times a second). */
export function put(el, text) {
  const s = String(text);
  if (el.textContent !== s) el.textContent = s;
}

/** A labelled bar under the class prefix `prefix`: `set(value, max, text)` fills it to value/max
 * and writes `text` (default: the value, compact) on the right; a full bar gets `is-full`. */
export function bar(prefix, label, cls) {
  const fill = h("div", { class: `${prefix}-bar-fill ${cls}` });
  const num = h("span", { class: `${prefix}-bar-num` }, "0");
  const row = h(
    "div",
    { class: `${prefix}-bar` },
    h("span", { class: `${prefix}-bar-label` }, label),
    h("div", { class: `${prefix}-bar-track` }, fill),
    num,
  );
  return {
    row,
    set(value, max, text) {
      fill.style.width = `${Math.min(100, (100 * (value || 0)) / Math.max(1, max))}%`;
      put(num, text ?? fmtCompact(value || 0));
      row.classList.toggle("is-full", max > 0 && value >= max);
    },
  };
}
