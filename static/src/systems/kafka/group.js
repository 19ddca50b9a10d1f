// Inside each Consumer Group card: its state and generation, then one row per member with its
// assigned partitions as coloured chips. When a rebalance moves a partition, its chip appears
// under the new owner with a short highlight, so the class sees the move.
import { h, fmtCompact } from "../../dom.js";
import { partitionChip, shortMember } from "../../live/chips.js";

const DEAD = /killed|dead|expired|left|removed/i;

export class GroupMembers {
  constructor(slot, groupId) {
    this.slot = slot;
    this.groupId = groupId;
    this.owners = new Map(); // "topic/p" -> member id
    this.signature = "";
    this.status = h("div", { class: "grp-status" });
    this.list = h("div", { class: "grp-members" });
    slot.replaceChildren(this.status, this.list);
  }

  update(state) {
    if (!state) return;
    const rebalancing = state.state && !/^stable$/i.test(state.state);
    this.slot.closest(".node-card")?.classList.toggle("is-rebalancing", !!rebalancing);
    const statusText = rebalancing
      ? `⟳ Rebalancing · processing paused`
      : `Stable · generation ${state.generation ?? 0}`;
    const lagText = `lag ${fmtCompact(state.lag ?? 0)}`;
    const statusSig = statusText + lagText;
    if (this.status.dataset.sig !== statusSig) {
      this.status.dataset.sig = statusSig;
      this.status.replaceChildren(
        h("span", { class: `grp-state ${rebalancing ? "is-warn" : ""}` }, statusText),
        h("span", { class: "grp-lag" }, lagText),
      );
    }
    const members = state.members || [];
    // Only what the rows show: a live member's state changes every frame, a dead one's is shown.
    const sig = JSON.stringify(members.map((m) => [m.id, DEAD.test(m.state || "") ? m.state : "", m.partitions]));
    if (sig === this.signature) return;
    this.signature = sig;
    const nextOwners = new Map();
    const rows = members.map((m) => {
      const chips = (m.partitions || []).map((ref) => {
        const prev = this.owners.get(ref);
        nextOwners.set(ref, m.id);
        return partitionChip(ref, prev && prev !== m.id ? "chip-moved" : prev ? "" : "chip-new");
      });
      const dead = DEAD.test(m.state || "");
      return h(
        "div",
        { class: `grp-member ${dead ? "is-dead" : ""}`, "data-testid": "group-member", "data-member": m.id },
        h("span", { class: "grp-member-id", title: m.id }, shortMember(m.id, this.groupId)),
        h(
          "span",
          { class: "grp-chips" },
          chips.length ? chips : h("span", { class: "grp-idle" }, dead ? m.state : "idle"),
        ),
      );
    });
    this.owners = nextOwners;
    this.list.replaceChildren(...rows);
  }
}
