// Run controls (run, pause, step, reset, speed), the side panel of commands for the selected
// node (whatever its system: the ops its type's runtime declares, `commands` in the node types'
// declarations) and the keyboard shortcuts: Space run/pause, N or . step, + / - speed,
// R reset. Shortcuts are ignored while typing in a field.
import { h, fmtInt } from "./dom.js";
import { partitionChip, shortMember } from "./live/chips.js";

const isLive = (m) => !/killed|dead|expired|left|removed|stopped/i.test(m.state || "");

// Ops that act on one member of a node (a consumer of a group, a channel of a consumer node):
// they get a button on each member's row and carry {member}. Every other op gets one button
// for the node (add_consumer, redrive, purge_queue, disconnect_subscriber ...).
const MEMBER_OPS = ["remove_consumer", "kill_consumer", "restart_consumer"];
// Tooltips for ops whose method has no docstring (command_info.help is empty).
const MEMBER_TITLES = {
  remove_consumer: "Stop it gracefully: it says goodbye, and its work is handed over at once",
  kill_consumer: "Crash it: no goodbye; what it held waits for the system to notice (session timeout, idle claim…)",
  restart_consumer: "Restart it",
};

/** A node's members, from its metrics: `members` ({id, state, partitions}) or, for a node of
 * consumers on channels (RabbitMQ), `channels` ({id, state, unacked}). */
function membersOf(state) {
  if (Array.isArray(state?.members)) return state.members;
  if (Array.isArray(state?.channels)) return state.channels;
  return null;
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
    if (this.status) this.status.textContent = running ? "Running" : this.state.tick ? "Paused" : "Ready";
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
      nodes.find(([id]) => id === this.preferredNode) || nodes.find(([, s]) => membersOf(s)) || nodes[0] || null;
    // Only what the panel shows: re-rendering every frame would pull buttons from under the mouse.
    // A member's state shows only once it is gone (a live one cycles fetching / processing /
    // idle every frame).
    const shown = (m) => (isLive(m) ? "" : m.state);
    const members = entry ? membersOf(entry[1]) : null;
    const sig = entry
      ? JSON.stringify([
          entry[0],
          members?.map((m) => [m.id, shown(m), m.partitions, m.unacked]),
          this.enabled,
          nodes.length,
        ])
      : "";
    if (sig === this.groupSig) return;
    this.groupSig = sig;
    this.groupId = entry?.[0] || null;
    this.renderConsumers(entry, labelOf, nodes.length);
  }

  opButton(id, op, info, extra = {}, { small = false, text = null } = {}) {
    const danger = /kill|purge|disconnect/.test(op);
    return h(
      "button",
      {
        type: "button",
        class: `btn${small ? " btn-small" : ""}${danger ? " btn-danger" : ""}`,
        "data-testid": `btn-${op.replace(/_/g, "-")}`,
        "data-op": op,
        title: info?.help || MEMBER_TITLES[op] || null,
        disabled: !this.enabled || extra.disabled,
        onclick: () => this.actions.command({ op, node: id, ...(extra.member ? { member: extra.member } : {}) }),
      },
      text || info?.label || op,
    );
  }

  renderConsumers(entry, labelOf = (x) => x, nodeCount = 0) {
    const root = this.consumersRoot;
    if (!root) return;
    if (!entry) {
      root.replaceChildren(
        h("p", { class: "empty" }, "Run a topology, then select a node to act on it: add or kill consumers, redrive, disconnect…"),
      );
      return;
    }
    const [id, state] = entry;
    const { type, ops } = this.opsOf(id);
    const info = type?.command_info || {};
    const members = membersOf(state);
    const memberOps = MEMBER_OPS.filter((op) => ops.includes(op));
    const nodeOps = ops.filter((op) => !MEMBER_OPS.includes(op) && !(op === "add_consumer" && members));
    const shortLabel = (op) => (info[op]?.label || op).replace(/\s*consumer$/i, "");
    const parts = [
      h(
        "div",
        { class: "consumers-head", "data-testid": "commands-node", "data-node": id },
        h("strong", {}, labelOf(id)),
        h("span", { class: "node-kind" }, type?.label || ""),
        nodeCount > 1 ? h("span", { class: "hint" }, "select another node on the canvas to act on it") : null,
      ),
      members
        ? h(
            "ul",
            { class: "consumers-list" },
            members.map((m) =>
              h(
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
                  memberOps.map((op) =>
                    this.opButton(
                      id,
                      op,
                      info[op],
                      { member: m.id, disabled: op !== "restart_consumer" && !isLive(m) },
                      { small: true, text: shortLabel(op) },
                    ),
                  ),
                ),
              ),
            ),
          )
        : null,
      members && ops.includes("add_consumer")
        ? this.opButton(id, "add_consumer", info.add_consumer, {}, { text: "+ Add consumer" })
        : null,
      nodeOps.length ? h("div", { class: "node-actions" }, nodeOps.map((op) => this.opButton(id, op, info[op]))) : null,
    ];
    root.replaceChildren(...parts.filter(Boolean));
  }
}
