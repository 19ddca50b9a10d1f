// The schema registry card (engine/schemas/): its subjects with their compatibility level and
// versions (version -> global id), and the history of registrations: accepted ones with the
// version and id they got, refused ones in red with the registry's reasons (rule, path, message).
import { h, fmtInt } from "../dom.js";
import "./schemas.css";

function put(el, text) {
  const s = String(text);
  if (el.textContent !== s) el.textContent = s;
}

function preloaded(params) {
  const text = (params.schemas || "").trim();
  if (!text) return [];
  try {
    const list = JSON.parse(text);
    return Array.isArray(list) ? list : [];
  } catch {
    return null;
  }
}

function subjectRow(s) {
  const versions = s.versions.map((v) => `v${v.version}·#${v.id}`).join(" ");
  return h(
    "div",
    { class: "sch-subject", "data-testid": "schema-subject", "data-subject": s.subject },
    h("span", { class: "sch-name" }, s.subject),
    h("span", { class: `sch-level${s.own_level ? " is-own" : ""}` }, s.compatibility),
    h("span", { class: "sch-versions" }, versions || "no versions"),
  );
}

function historyRow(e) {
  const when = `${Number(e.t).toFixed(1)}s`;
  if (e.op === "set_compatibility") {
    return h("li", { class: "sch-entry" }, `${when} ${e.subject || "global"} → ${e.level}`);
  }
  if (e.op === "test") {
    const verdict = e.ok ? "compatible" : `not compatible: ${(e.reasons[0] || {}).rule || ""}`;
    return h("li", { class: `sch-entry ${e.ok ? "is-ok" : "is-refused"}`, "data-testid": "schema-history",
      "data-ok": String(e.ok), title: e.reasons.map((r) => r.message).join("\n") || null },
      `${when} test ${e.subject} (${e.level}): ${verdict}`);
  }
  if (e.ok) {
    const what = e.new === false ? "already v" : "v";
    return h("li", { class: "sch-entry is-ok", "data-testid": "schema-history", "data-ok": "true" }, `${when} ${e.subject} ${e.schemaType} → ${what}${e.version} (id ${e.id})`);
  }
  const first = e.reasons[0] || {};
  const row = h(
    "li",
    { class: "sch-entry is-refused", "data-testid": "schema-history", "data-ok": "false", title: e.reasons.map((r) => r.message).join("\n") },
    `${when} ${e.subject} refused (${e.level}): ${first.rule || ""} at ${first.path || "/"}`,
    e.reasons.length > 1 ? ` +${e.reasons.length - 1} more` : "",
  );
  return row;
}

export const cards = {
  schema_registry: {
    summary(p) {
      return `${p.compatibility} · ${p.subject_strategy}`;
    },
    preview(slot, data) {
      const list = preloaded(data.params || {});
      if (list === null) {
        slot.replaceChildren(h("div", { class: "sch-note is-bad" }, "schemas: not valid JSON"));
        return;
      }
      slot.replaceChildren(
        h("div", { class: "sch-note" }, list.length ? `${fmtInt(list.length)} subjects preloaded` : "no schemas yet"),
        ...list.slice(0, 6).map((s) =>
          h("div", { class: "sch-subject" }, h("span", { class: "sch-name" }, s.subject || `${s.topic} (topic)`),
            h("span", { class: "sch-versions" }, `${(s.versions || []).length} versions`))),
      );
    },
    live(slot) {
      const head = h("div", { class: "sch-note" });
      const subjects = h("div", { class: "sch-subjects" });
      const history = h("ol", { class: "sch-history" });
      slot.replaceChildren(head, subjects, history);
      let seen = "";
      return {
        update(s) {
          if (!s) return;
          put(head, `global ${s.compatibility} · ${fmtInt(s.schemas)} schemas · ${fmtInt(s.refused)} refused`);
          head.classList.toggle("is-bad", s.refused > 0);
          const key = JSON.stringify([s.subjects, (s.history || []).length, (s.history || []).at(-1)]);
          if (key === seen) return;
          seen = key;
          subjects.replaceChildren(...s.subjects.map(subjectRow));
          history.replaceChildren(...(s.history || []).slice(-6).reverse().map(historyRow));
        },
      };
    },
  },
};
