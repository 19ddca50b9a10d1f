// Run controls (run, pause, step, reset, speed), the side panel of commands for the selected
// node (whatever its system: the ops its type's runtime declares, `commands` in the node types'
// declarations) and the keyboard shortcuts: Space run/pause, N or . step, + / - speed,
// R reset. Shortcuts are ignored while typing in a field.
import { h, fmtInt } from "./dom.js";
import { partitionChip, shortMember } from "./live/chips.js";

const LIMITED = { server_busy: "slowed, server busy", topology: "slowed, too heavy for real time" };
const LIMITED_HELP = {
  server_busy: "The server shares its CPU evenly between every running room; this one runs slower than asked until the load drops.",
  topology: "This topology costs more to simulate than real time allows: it runs as fast as it can.",
};
const isLive = (m) => !/killed|dead|expired|left|removed|stopped/i.test(m.state || "");

// What each op acts on and carries comes from the node types' declarations (`command_info[op]`:
// `item`, the key naming the item it acts on, e.g. "member" or "broker"; `args`, the values it
// carries, declared like parameters; `valid_in`, the item states it applies in). Item ops get a
// button on each row of the node's items (the metrics list its type names in `items`); the
// others get one button for the node, with a field per declared arg.

/** A node's items and the key its item ops carry ({member}, {broker} ...). */
function itemsOf(type, state) {
  const list = type?.items ? state?.[type.items] : null;
  if (!Array.isArray(list)) return { key: null, items: null };
  const key = Object.values(type.command_info || {}).find((info) => info.item)?.item || null;
  return { key, items: list };
}

/** Whether an item op is offered on an item in `state`: its declared states, or any live state
 * (restarting is what a dead one can do). */
function offered(op, info, state) {
  if (info?.valid_in?.length) return info.valid_in.includes(state || "up");
  return /^restart/.test(op) || isLive({ state });
}

export const SPEEDS = [0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 50, 100];

function fmtSpeed(s) {
  return `${s < 1 ? s : Math.round(s)}×`;
}

export class Controls {
  /**
   * @param {HTMLElement} root  the element holding the control buttons
   * @param {HTMLElement} consumersRoot  the side panel of commands for the selected node
   * @param {{run, pause, step, reset, speed, command}} actions
   * @param {{types: Map<string, object>, typeOf: (id: string) => string}} nodes
   */
  constructor(root, consumersRoot, actions, { types = new Map(), typeOf = () => null } = {}) {
    this.root = root;
    this.types = types; // node type name -> declaration (its `commands`, `command_info`)
    this.typeOf = typeOf; // node id -> node type name, in the simulated document
    this.consumersRoot = consumersRoot;
    this.actions = actions;
    this.state = { running: false, speed: 1 };
    this.enabled = false;
    this.btn = (id) => root.querySelector(`[data-testid="btn-${id}"]`);
    this.btn("run").addEventListener("click", () => actions.run());
    this.btn("pause").addEventListener("click", () => actions.pause());
    this.btn("step").addEventListener("click", () => actions.step());
    this.btn("reset").addEventListener("click", () => actions.reset());
    this.speedInput = root.querySelector('[data-testid="speed"]');
    this.speedLabel = root.querySelector('[data-testid="speed-label"]');
    this.speedInput.max = String(SPEEDS.length - 1);
    this.speedInput.value = String(SPEEDS.indexOf(1));
    this.speedInput.addEventListener("input", () => {
      const s = SPEEDS[Number(this.speedInput.value)];
      this.speedLabel.textContent = fmtSpeed(s);
      actions.speed(s);
    });
    this.speedLabel.textContent = fmtSpeed(1);
    this.status = root.querySelector('[data-testid="run-status"]');
    document.addEventListener("keydown", (e) => this.onKey(e));
    this.groupId = null;
    this.preferredNode = null;
    this.groupSig = "";
    this.argFields = new Map(); // arg name -> its <label> (kept across re-renders: see argField)
    this.argValues = new Map(); // arg name -> the value typed (strings, as the engine accepts them)
    this.renderConsumers(null);
  }

  onKey(e) {
    if (!this.enabled || e.ctrlKey || e.metaKey || e.altKey) return;
    const t = e.target;
    if (t instanceof HTMLElement && (t.isContentEditable || /^(INPUT|SELECT|TEXTAREA)$/.test(t.tagName))) return;
    const k = e.key;
    if (k === " ") {
      e.preventDefault();
      if (this.state.running) this.actions.pause();
      else this.actions.run();
    } else if (k === "." || k === "n" || k === "N") {
      this.actions.step();
    } else if (k === "+" || k === "=") {
      this.nudgeSpeed(1);
    } else if (k === "-" || k === "_") {
      this.nudgeSpeed(-1);
    } else if (k === "r" || k === "R") {
      this.actions.reset();
    } else {
      return;
    }
    e.preventDefault();
  }

  nudgeSpeed(d) {
    const i = Math.max(0, Math.min(SPEEDS.length - 1, Number(this.speedInput.value) + d));
    this.speedInput.value = String(i);
    this.speedInput.dispatchEvent(new Event("input"));
  }

  /** @param {boolean} enabled  connected and holding the controls */
  setEnabled(enabled) {
    this.enabled = enabled;
    for (const id of ["run", "pause", "step", "reset"]) this.btn(id).disabled = !enabled;
    this.speedInput.disabled = !enabled;
    this.update();
  }

  setState(state) {
    this.state = { ...this.state, ...state };
    if (Number.isFinite(state?.speed)) {
      let best = 0;
      SPEEDS.forEach((s, i) => {
        if (Math.abs(Math.log(s / state.speed)) < Math.abs(Math.log(SPEEDS[best] / state.speed))) best = i;
      });
      if (document.activeElement !== this.speedInput) {
        this.speedInput.value = String(best);
        this.speedLabel.textContent = fmtSpeed(state.speed);
      }
    }
    this.update();
  }

  update() {
    const running = !!this.state.running;
    document.body.dataset.running = running ? "true" : "false";
    if (this.enabled) {
      this.btn("run").disabled = running;
      this.btn("pause").disabled = !running;
      this.btn("step").disabled = running;
    }
    this.btn("run").classList.toggle("is-active", running);
    if (this.status) {
      this.status.textContent = running ? "Running" : this.state.tick ? "Paused" : "Ready";
      // The server slows a run rather than freezing (issue 19): say why and how fast it goes.
      const why = running && LIMITED[this.state.limited];
      if (why) this.status.textContent += ` (${why}: ${fmtSpeed(this.state.effective_speed || 0)})`;
      this.status.dataset.limited = (running && this.state.limited) || "";
      this.status.title = why ? LIMITED_HELP[this.state.limited] : "";
    }
    this.status?.classList.toggle("is-running", running);
  }

  /** Which node the commands panel manages: the selected one if it takes commands, else the
   * first node with members (a consumer group), else the first that takes commands. */
  selectNode(id) {
    this.preferredNode = id;
  }

  selectGroup(id) {
    this.selectNode(id);
  }

  opsOf(id) {
    const type = this.types.get(this.typeOf(id));
    return { type, ops: type?.commands || [] };
  }

  /** @param {object|null} metrics  the latest metrics; @param {(id)=>string} labelOf */
  updateConsumers(metrics, labelOf) {
    const nodes = Object.entries(metrics?.nodes || {}).filter(([id]) => this.opsOf(id).ops.length);
    const entry =
      nodes.find(([id]) => id === this.preferredNode) ||
      nodes.find(([id, s]) => itemsOf(this.opsOf(id).type, s).key === "member") ||
      nodes[0] ||
      null;
    // Only what the panel shows: re-rendering every frame would pull buttons from under the mouse.
    // A member's state shows only once it is gone (a live one cycles fetching / processing /
    // idle every frame); a broker's always (up, slow, isolated, down).
    const shown = (m, key) => (key === "broker" ? m.state : isLive(m) ? "" : m.state);
    const { key, items } = entry ? itemsOf(this.opsOf(entry[0]).type, entry[1]) : {};
    const sig = entry
      ? JSON.stringify([
          entry[0],
          items?.map((m) => [m.id, shown(m, key), m.partitions, m.unacked, m.leaders]),
          this.enabled,
          nodes.length,
        ])
      : "";
    if (sig === this.groupSig) return;
    this.groupSig = sig;
    this.groupId = entry?.[0] || null;
    this.renderConsumers(entry, labelOf, nodes.length);
  }

  /** The values of an op's declared args as typed in their fields (empty ones left out: the
   * engine then takes its default). */
  argsOf(info) {
    const out = {};
    for (const arg of info?.args || []) {
      const value = this.argValues.get(arg.name);
      if (value !== undefined && String(value).trim() !== "") out[arg.name] = value;
    }
    return out;
  }

  /** @param {{args?: object, disabled?: boolean}} extra  args: what the command carries besides
   * op, node and its declared args ({member} or {broker}) */
  opButton(id, op, info, extra = {}, { small = false, text = null } = {}) {
    const danger = /kill|purge|disconnect|isolate/.test(op);
    return h(
      "button",
      {
        type: "button",
        class: `btn${small ? " btn-small" : ""}${danger ? " btn-danger" : ""}`,
        "data-testid": `btn-${op.replace(/_/g, "-")}`,
        "data-op": op,
        title: info?.help || null,
        disabled: !this.enabled || extra.disabled,
        onclick: () => this.actions.command({ op, node: id, ...this.argsOf(info), ...(extra.args || {}) }),
      },
      text || info?.label || op,
    );
  }

  /** The field of a declared arg (a parameter declaration: kind, default, min, max, unit, help).
   * One element per arg name for the page's life: the panel is rebuilt when what it shows
   * changes (a broker's state, its leaderships), and a rebuilt input would drop what is being
   * typed into it. Numbers and text are sent as typed; the engine checks them. */
  argField(arg) {
    if (this.argFields.has(arg.name)) return this.argFields.get(arg.name);
    const numeric = arg.kind === "int" || arg.kind === "float";
    const initial = numeric && arg.default ? String(arg.default) : "";
    if (initial) this.argValues.set(arg.name, initial);
    const testid = `arg-${arg.name.replace(/_/g, "-")}`;
    const area = arg.kind === "map" || (arg.kind === "string" && arg.max_length > 1000); // a schema: many lines
    const input =
      arg.kind === "enum" || arg.kind === "bool"
        ? h(
            "select",
            { "data-testid": testid, "aria-label": arg.label },
            h("option", { value: "" }, `${arg.default} (default)`),
            (arg.kind === "bool" ? ["true", "false"] : arg.choices).map((c) => h("option", { value: c }, c)),
          )
        : h(area ? "textarea" : "input", {
            ...(area ? { rows: arg.kind === "map" ? "2" : "6" } : { type: numeric ? "number" : "text" }),
            ...(numeric ? { min: arg.min ?? null, max: arg.max ?? null, step: arg.kind === "int" ? "1" : "any" } : {}),
            value: initial,
            placeholder: arg.kind === "map" ? "key=value" : numeric ? "" : "default",
            "data-testid": testid,
            "aria-label": arg.label,
          });
    const remember = () => this.argValues.set(arg.name, input.value);
    input.addEventListener("input", remember);
    input.addEventListener("change", remember);
    const label = h(
      "label",
      { class: "command-arg", title: [arg.help, arg.unit].filter(Boolean).join(" · ") || null },
      arg.label,
      input,
      arg.unit ? h("span", { class: "unit" }, arg.unit) : null,
    );
    this.argFields.set(arg.name, label);
    return label;
  }

  /** The fields of the args of these ops, each name once. */
  argFieldsOf(ops, info) {
    const seen = new Map();
    for (const op of ops) for (const arg of info[op]?.args || []) if (!seen.has(arg.name)) seen.set(arg.name, arg);
    return seen.size ? h("div", { class: "command-args" }, [...seen.values()].map((arg) => this.argField(arg))) : null;
  }

  /** The time (simulated seconds) the time buttons send; kept for the page's life, as factorInput. */
  timeInput() {
    if (this.timeLabel) return this.timeLabel;
    const input = h("input", { type: "number", min: "0", step: "0.1", value: String(this.resetTime),
      "data-testid": "reset-time", "aria-label": "Time to reset to, in simulated seconds" });
    input.addEventListener("input", () => {
      const v = Number(input.value);
      if (Number.isFinite(v) && v >= 0) this.resetTime = v;
    });
    this.timeLabel = h("label", { class: "slow-factor", title: "The time Reset offsets to time uses (simulated seconds)" },
      "Reset to t =", input, "s");
    return this.timeLabel;
  }

  memberRow(id, m, ops, info, shortLabel) {
    return h(
      "li",
      { class: `consumer ${isLive(m) ? "" : "is-dead"}`, "data-testid": "consumer-row", "data-member": m.id },
      h("span", { class: "consumer-id", title: m.id }, shortMember(m.id, id)),
      h(
        "span",
        { class: "consumer-chips" },
        (m.partitions || []).map((p) => partitionChip(p)),
        Number.isFinite(m.unacked) ? h("span", { class: "consumer-detail" }, `${fmtInt(m.unacked)} unacked`) : null,
      ),
      h("span", { class: "consumer-state" }, isLive(m) ? "" : m.state),
      h(
        "span",
        { class: "consumer-actions" },
        ops.map((op) =>
          this.opButton(
            id,
            op,
            info[op],
            { args: { [info[op]?.item || "member"]: m.id }, disabled: !offered(op, info[op], m.state) },
            { small: true, text: shortLabel(op) },
          ),
        ),
      ),
    );
  }

  brokerRow(id, b, ops, info, shortLabel) {
    const state = b.state || "up";
    const available = ops.filter((op) => offered(op, info[op], state));
    const detail = state === "down" ? "down" : `${state === "up" ? "" : `${state} · `}leads ${fmtInt(b.leaders ?? 0)}`;
    return h(
      "li",
      {
        class: `consumer broker-row is-${state} ${state === "down" ? "is-dead" : ""}`,
        "data-testid": "broker-row",
        "data-broker": b.id,
        "data-state": state,
      },
      h("span", { class: "consumer-id" }, `B${b.id}`),
      h("span", { class: "consumer-chips" }, h("span", { class: "consumer-detail broker-state" }, detail)),
      h("span", { class: "consumer-state" }),
      h(
        "span",
        { class: "consumer-actions" },
        available.map((op) =>
          this.opButton(id, op, info[op], { args: { [info[op]?.item || "broker"]: b.id } }, { small: true, text: shortLabel(op) }),
        ),
      ),
    );
  }

  renderConsumers(entry, labelOf = (x) => x, nodeCount = 0) {
    const root = this.consumersRoot;
    if (!root) return;
    if (!entry) {
      root.replaceChildren(
        h("p", { class: "empty" }, "Run a topology, then select a node to act on it: add or kill consumers, kill a broker, redrive…"),
      );
      return;
    }
    const [id, state] = entry;
    const { type, ops } = this.opsOf(id);
    const info = type?.command_info || {};
    const { key, items } = itemsOf(type, state);
    const itemOps = items ? ops.filter((op) => info[op]?.item === key) : [];
    const nodeOps = ops.filter((op) => !info[op]?.item && !(op === "add_consumer" && items));
    const shortLabel = (op) => (info[op]?.label || op).replace(/\s*(consumer|broker)$/i, "");
    const row = key === "broker" ? this.brokerRow.bind(this) : this.memberRow.bind(this);
    const parts = [
      h(
        "div",
        { class: "consumers-head", "data-testid": "commands-node", "data-node": id },
        h("strong", {}, labelOf(id)),
        h("span", { class: "node-kind" }, type?.label || ""),
        nodeCount > 1 ? h("span", { class: "hint" }, "select another node on the canvas to act on it") : null,
      ),
      items ? h("ul", { class: "consumers-list" }, items.map((m) => row(id, m, itemOps, info, shortLabel))) : null,
      this.argFieldsOf(itemOps, info),
      items && ops.includes("add_consumer")
        ? this.opButton(id, "add_consumer", info.add_consumer, {}, { text: "+ Add consumer" })
        : null,
      nodeOps.length
        ? h(
            "div",
            { class: "node-actions" },
            nodeOps.map((op) =>
              info[op]?.args?.length
                ? h("div", { class: "node-action" }, this.argFieldsOf([op], info), this.opButton(id, op, info[op]))
                : this.opButton(id, op, info[op]),
            ),
          )
        : null,
    ];
    root.replaceChildren(...parts.filter(Boolean));
  }
}
