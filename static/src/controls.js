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

// Ops that act on one item of a node: a member (a consumer of a group, a channel of a consumer
// node) or a broker of a Kafka cluster. They get a button on each item's row and carry the
// item's id under this key ({member} or {broker}). Every other op gets one button for the node
// (add_consumer, redrive, purge_queue, disconnect_subscriber ...).
const ITEM_OPS = {
  remove_consumer: "member",
  kill_consumer: "member",
  restart_consumer: "member",
  slow_consumer: "member",
  kill_broker: "broker",
  isolate_broker: "broker",
  reconnect_broker: "broker",
  restart_broker: "broker",
  slow_broker: "broker",
};
// Ops that also carry the panel's slow-down factor.
const FACTOR_OPS = ["slow_consumer", "slow_broker"];
const DEFAULT_FACTOR = 10;
// Tooltips for ops whose method has no docstring (command_info.help is empty).
const ITEM_TITLES = {
  remove_consumer: "Stop it gracefully: it says goodbye, and its work is handed over at once",
  kill_consumer: "Crash it: no goodbye; what it held waits for the system to notice (session timeout, idle claim…)",
  restart_consumer: "Restart it",
  isolate_broker: "Cut it off from the other brokers and the controller; clients still reach it",
  reconnect_broker: "Heal the cut: it registers again, truncates and catches up",
  restart_broker: "Start it again (or back to normal speed): it rejoins as a follower and catches up",
};

/** Which broker ops make sense in each state (the engine refuses the others): a broker row
 * offers only these, so the row reads as what can happen to it next. */
const BROKER_OPS_BY_STATE = {
  up: ["kill_broker", "isolate_broker", "slow_broker"],
  slow: ["kill_broker", "isolate_broker", "slow_broker", "restart_broker"],
  isolated: ["kill_broker", "reconnect_broker", "restart_broker"],
  down: ["restart_broker"],
};

/** A node's items, from its metrics, and the key their ops carry: `members` ({id, state,
 * partitions}) or, for a node of consumers on channels (RabbitMQ), `channels` ({id, state,
 * unacked}); for a Kafka cluster, `brokers` ({id, state, leaders}). */
function itemsOf(state) {
  if (Array.isArray(state?.members)) return { key: "member", items: state.members };
  if (Array.isArray(state?.channels)) return { key: "member", items: state.channels };
  if (Array.isArray(state?.brokers)) return { key: "broker", items: state.brokers };
  return { key: null, items: null };
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
    this.slowFactor = DEFAULT_FACTOR;
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
      nodes.find(([, s]) => itemsOf(s).key === "member") ||
      nodes[0] ||
      null;
    // Only what the panel shows: re-rendering every frame would pull buttons from under the mouse.
    // A member's state shows only once it is gone (a live one cycles fetching / processing /
    // idle every frame); a broker's always (up, slow, isolated, down).
    const shown = (m, key) => (key === "broker" ? m.state : isLive(m) ? "" : m.state);
    const { key, items } = entry ? itemsOf(entry[1]) : {};
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

  /** @param {{args?: object, disabled?: boolean}} extra  args: what the command carries besides
   * op and node ({member} or {broker}) */
  opButton(id, op, info, extra = {}, { small = false, text = null } = {}) {
    const danger = /kill|purge|disconnect|isolate/.test(op);
    return h(
      "button",
      {
        type: "button",
        class: `btn${small ? " btn-small" : ""}${danger ? " btn-danger" : ""}`,
        "data-testid": `btn-${op.replace(/_/g, "-")}`,
        "data-op": op,
        title: info?.help || ITEM_TITLES[op] || null,
        disabled: !this.enabled || extra.disabled,
        onclick: () =>
          this.actions.command({
            op,
            node: id,
            ...(extra.args || {}),
            ...(FACTOR_OPS.includes(op) ? { factor: this.slowFactor } : {}),
          }),
      },
      text || info?.label || op,
    );
  }

  /** The factor the Slow buttons send (the engine's default until changed). One element for the
   * page's life: the panel is rebuilt when what it shows changes (a broker's state, its
   * leaderships), and a rebuilt input would drop what is being typed into it. */
  factorInput() {
    if (this.factorLabel) return this.factorLabel;
    const input = h("input", {
      type: "number",
      min: "1",
      max: "10000",
      step: "1",
      value: String(this.slowFactor),
      "data-testid": "slow-factor",
      "aria-label": "Slow-down factor",
    });
    const valid = (v) => Number.isFinite(v) && v >= 1 && v <= 10000;
    input.addEventListener("input", () => {
      if (valid(Number(input.value))) this.slowFactor = Number(input.value);
    });
    input.addEventListener("change", () => {
      if (valid(Number(input.value))) this.slowFactor = Number(input.value);
      else input.value = String(this.slowFactor);
    });
    this.factorLabel = h(
      "label",
      { class: "slow-factor", title: "How many times slower the Slow buttons make it (1 = normal speed)" },
      "Slow ×",
      input,
    );
    return this.factorLabel;
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
            { args: { member: m.id }, disabled: op !== "restart_consumer" && !isLive(m) },
            { small: true, text: shortLabel(op) },
          ),
        ),
      ),
    );
  }

  brokerRow(id, b, ops, info, shortLabel) {
    const state = b.state || "up";
    const offered = (BROKER_OPS_BY_STATE[state] || BROKER_OPS_BY_STATE.up).filter((op) => ops.includes(op));
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
        offered.map((op) =>
          this.opButton(
            id,
            op,
            info[op],
            { args: { broker: b.id } },
            { small: true, text: op === "restart_broker" && state === "slow" ? "Normal speed" : shortLabel(op) },
          ),
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
    const { key, items } = itemsOf(state);
    const itemOps = items ? ops.filter((op) => ITEM_OPS[op] === key) : [];
    const nodeOps = ops.filter((op) => !ITEM_OPS[op] && !(op === "add_consumer" && items));
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
      itemOps.some((op) => FACTOR_OPS.includes(op)) ? this.factorInput() : null,
      items && ops.includes("add_consumer")
        ? this.opButton(id, "add_consumer", info.add_consumer, {}, { text: "+ Add consumer" })
        : null,
      nodeOps.length ? h("div", { class: "node-actions" }, nodeOps.map((op) => this.opButton(id, op, info[op]))) : null,
    ];
    root.replaceChildren(...parts.filter(Boolean));
  }
}
