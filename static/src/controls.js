// Run controls (run, pause, step, reset, speed), the consumers panel of a group (add, remove,
// kill a member) and the keyboard shortcuts: Space run/pause, N or . step, + / - speed,
// R reset. Shortcuts are ignored while typing in a field.
import { h } from "./dom.js";
import { partitionChip, shortMember } from "./live/chips.js";

const isLive = (m) => !/killed|dead|expired|left|removed/i.test(m.state || "");

export const SPEEDS = [0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 50, 100];

function fmtSpeed(s) {
  return `${s < 1 ? s : Math.round(s)}×`;
}

export class Controls {
  /**
   * @param {HTMLElement} root  the element holding the control buttons
   * @param {{run, pause, step, reset, speed, command}} actions
   */
  constructor(root, consumersRoot, actions) {
    this.root = root;
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

  /** Which group the consumers panel manages: the selected one, else the first one running. */
  selectGroup(id) {
    this.preferredGroup = id;
  }

  /** @param {object|null} metrics  the latest metrics; @param {(id)=>string} labelOf */
  updateConsumers(metrics, labelOf) {
    const groups = Object.entries(metrics?.nodes || {}).filter(([, s]) => Array.isArray(s?.members));
    let entry = groups.find(([id]) => id === this.preferredGroup) || groups[0] || null;
    // Only what the panel shows: re-rendering every frame would pull buttons from under the mouse.
    // A member's state shows only once it is gone (a live one cycles fetching / processing /
    // idle every frame).
    const shown = (m) => (isLive(m) ? "" : m.state);
    const sig = entry
      ? JSON.stringify([entry[0], entry[1].members.map((m) => [m.id, shown(m), m.partitions]), this.enabled, groups.length])
      : "";
    if (sig === this.groupSig) return;
    this.groupSig = sig;
    this.groupId = entry?.[0] || null;
    this.renderConsumers(entry, labelOf, groups.length);
  }

  renderConsumers(entry, labelOf = (x) => x, groupCount = 0) {
    const root = this.consumersRoot;
    if (!root) return;
    if (!entry) {
      root.replaceChildren(h("p", { class: "empty" }, "Run a topology with a consumer group to add, remove or kill consumers."));
      return;
    }
    const [gid, state] = entry;
    const live = isLive;
    const members = state.members || [];
    root.replaceChildren(
      h(
        "div",
        { class: "consumers-head" },
        h("strong", {}, labelOf(gid)),
        groupCount > 1 ? h("span", { class: "hint" }, "select another group on the canvas to manage it") : null,
      ),
      h(
        "ul",
        { class: "consumers-list" },
        members.map((m) =>
          h(
            "li",
            { class: `consumer ${live(m) ? "" : "is-dead"}`, "data-testid": "consumer-row", "data-member": m.id },
            h("span", { class: "consumer-id", title: m.id }, shortMember(m.id, gid)),
            h("span", { class: "consumer-chips" }, (m.partitions || []).map((p) => partitionChip(p))),
            h("span", { class: "consumer-state" }, live(m) ? "" : m.state),
            h(
              "span",
              { class: "consumer-actions" },
              h(
                "button",
                {
                  type: "button",
                  class: "btn btn-small",
                  "data-testid": "btn-remove-consumer",
                  title: "Leave the group gracefully (LeaveGroup): rebalances at once",
                  disabled: !this.enabled || !live(m),
                  onclick: () => this.actions.command({ op: "remove_consumer", group: gid, member: m.id }),
                },
                "Remove",
              ),
              h(
                "button",
                {
                  type: "button",
                  class: "btn btn-small btn-danger",
                  "data-testid": "btn-kill-consumer",
                  title: "Crash it: no LeaveGroup; the group notices after session.timeout.ms",
                  disabled: !this.enabled || !live(m),
                  onclick: () => this.actions.command({ op: "kill_consumer", group: gid, member: m.id }),
                },
                "Kill",
              ),
            ),
          ),
        ),
      ),
      h(
        "button",
        {
          type: "button",
          class: "btn",
          "data-testid": "btn-add-consumer",
          disabled: !this.enabled,
          onclick: () => this.actions.command({ op: "add_consumer", group: gid }),
        },
        "+ Add consumer",
      ),
    );
  }
}
