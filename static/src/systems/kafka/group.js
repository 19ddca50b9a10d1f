// Inside each Consumer Group card: its state and generation, then one row per member with its
// assigned partitions as coloured chips and its lag, then the group's lag over time with its
// alert threshold. When a rebalance moves a partition, its chip appears under the new owner with
// a short highlight, so the class sees the move; while lag is over the threshold the card turns
// red and says so. Static members (group.instance.id) and each member's rack carry a badge; the
// group's cross-rack share, its offset resets and the consumers' offset errors get a line each.
import { h, fmtCompact, fmtSeconds } from "../../dom.js";
import { partitionChip, shortMember } from "../../live/chips.js";
import { GroupLagChart } from "../../charts.js";

const DEAD = /killed|dead|expired|left|removed|stalled/i;

export class GroupMembers {
  constructor(slot, groupId) {
    this.slot = slot;
    this.groupId = groupId;
    this.owners = new Map(); // "topic/p" -> member id
    this.signature = "";
    this.status = h("div", { class: "grp-status" });
    this.list = h("div", { class: "grp-members" });
    this.chartRoot = h("div", { class: "grp-lag-chart", "data-testid": "group-lag-chart" });
    // Lag over time for the group, per consumer or per partition.
    this.views = h(
      "div",
      { class: "grp-lag-views", role: "group", "aria-label": "Lag chart shows" },
      ["group", "consumers", "partitions"].map((mode) =>
        h("button", {
          type: "button",
          class: `grp-lag-view ${mode === "group" ? "is-on" : ""}`,
          "data-testid": `lag-view-${mode}`,
          "aria-pressed": mode === "group" ? "true" : "false",
          onclick: (e) => {
            e.stopPropagation();
            this.chart?.setMode(mode);
            for (const b of this.views.children) {
              const on = b.dataset.testid === `lag-view-${mode}`;
              b.classList.toggle("is-on", on);
              b.setAttribute("aria-pressed", on ? "true" : "false");
            }
          },
        }, mode === "group" ? "lag" : `per ${mode === "consumers" ? "consumer" : "partition"}`),
      ),
    );
    slot.replaceChildren(this.status, this.list, this.views, this.chartRoot);
    this.chart = null; // created on the first frame, once the card has its width
  }

  update(state, t) {
    if (!state) return;
    const rebalancing = state.state && !/^stable$/i.test(state.state);
    const card = this.slot.closest(".node-card");
    card?.classList.toggle("is-rebalancing", !!rebalancing);
    card?.classList.toggle("is-alerting", !!state.alerting);
    const cooperative = state.protocol === "cooperative";
    const empty = state.coordinator_state === "Empty";
    const statusText = empty
      ? "Empty · no consumer: offsets may be reset"
      : rebalancing
        ? cooperative ? "⟳ Rebalancing · members keep their partitions" : "⟳ Rebalancing · processing paused"
        : `Stable · generation ${state.generation ?? 0}`;
    const lagText = state.alerting
      ? `⚠ lag ${fmtCompact(state.lag ?? 0)} > ${fmtCompact(state.lag_alert)}`
      : `lag ${fmtCompact(state.lag ?? 0)}`;
    const pausedText = state.paused_s ? `${state.protocol} · partitions paused ${fmtSeconds(state.paused_s)}` : state.protocol || "";
    // "Check order" on: how many records were processed out of total order and out of key order.
    const order = state.order;
    const orderText = order
      ? `out of order ${fmtCompact(order.out_of_order)} · out of key order ${fmtCompact(order.out_of_key_order)}`
      : "";
    // Transactions: what it writes and how, what it reads, and duplicates counted end to end.
    const txnText = txnLine(state);
    const dups = state.e2e_duplicates;
    const dupsText = dups == null ? "" : `end-to-end duplicates ${fmtCompact(dups)}`;
    const rackText = racksLine(state.racks);
    const resetText = resetLine(state.offset_resets, state.auto_offset_reset);
    const errorText = errorLine(state.offset_errors);
    const statusSig = statusText + lagText + pausedText + orderText + txnText + dupsText + rackText + resetText + errorText;
    if (this.status.dataset.sig !== statusSig) {
      this.status.dataset.sig = statusSig;
      this.status.replaceChildren(
        h("span", { class: `grp-state ${rebalancing ? "is-warn" : ""}` }, statusText),
        h("span", { class: `grp-lag ${state.alerting ? "is-alert" : ""}`, "data-testid": "group-lag" }, lagText),
        h("span", { class: "grp-protocol" }, pausedText),
        ...(order ? [h("span", { class: `grp-order ${order.out_of_key_order ? "is-alert" : ""}`,
          "data-testid": "group-order" }, orderText)] : []),
        ...(txnText ? [h("span", { class: "grp-txn", "data-testid": "group-txn" }, txnText)] : []),
        ...(dupsText ? [h("span", { class: `grp-dups ${dups ? "is-alert" : "is-good"}`, "data-testid": "group-e2e-dups",
          "data-count": String(dups) }, dupsText)] : []),
        ...(rackText ? [h("span", { class: `grp-racks ${state.racks.cross_rack ? "is-warn" : "is-good"}`,
          "data-testid": "group-racks" }, rackText)] : []),
        ...(resetText ? [h("span", { class: "grp-reset", "data-testid": "group-reset" }, resetText)] : []),
        ...(errorText ? [h("span", { class: "grp-error is-alert", "data-testid": "group-offset-error" }, errorText)] : []),
      );
    }
    if (!this.chart && this.chartRoot.isConnected) this.chart = new GroupLagChart(this.chartRoot);
    this.chart?.update(t, state.lag ?? 0, state.lag_alert ?? 0, state.members || [], state.partitions || []);
    const members = state.members || [];
    // Only what the rows show: a live member's state changes every frame, a dead one's is shown.
    const sig = JSON.stringify(members.map((m) => [m.id, DEAD.test(m.state || "") ? m.state : "", m.partitions, m.lag,
      m.instance_id, m.rack]));
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
        h("span", { class: "grp-member-id", title: memberTitle(m) }, shortMember(m.id, this.groupId)),
        h(
          "span",
          { class: "grp-chips" },
          ...memberBadges(m),
          chips.length ? chips : h("span", { class: "grp-idle" }, dead ? m.state : "idle"),
        ),
        m.lag != null ? h("span", { class: "grp-member-lag", title: "lag of its partitions" }, fmtCompact(m.lag)) : null,
      );
    });
    this.owners = nextOwners;
    this.list.replaceChildren(...rows);
  }
}

/** "exactly once → out · 12 commits · 1 aborted · reads read_committed", or "" when the group
 * neither writes an output topic nor reads read_committed. */
function txnLine(state) {
  const out = state.output;
  const reads = state.isolation_level === "read_committed" ? "reads read_committed" : "";
  if (!out) return reads;
  const parts = out.guarantee === "exactly_once"
    ? [`exactly once → ${out.topic}`, `${fmtCompact(out.commits)} commits`, `${fmtCompact(out.aborts)} aborted`]
    : [`at least once → ${out.topic}`, `${fmtCompact(out.written)} written`];
  if (reads) parts.push(reads);
  return parts.join(" · ");
}

/** "static" for a member with a group.instance.id, its rack when it has one. */
export function memberBadges(m) {
  const badges = [];
  if (m.instance_id) {
    badges.push(h("span", { class: "grp-badge is-static", "data-testid": "member-static",
      title: `group.instance.id ${m.instance_id}: static member (KIP-345)` }, "static"));
  }
  if (m.rack) {
    badges.push(h("span", { class: "grp-badge is-rack", "data-testid": "member-rack", title: `runs in rack ${m.rack}` },
      `rack ${m.rack}`));
  }
  return badges;
}

function memberTitle(m) {
  return [m.id, m.instance_id ? `group.instance.id ${m.instance_id}` : "dynamic member", m.rack ? `rack ${m.rack}` : ""]
    .filter(Boolean).join(" · ");
}

/** "cross-rack 8% of 4.3k fetched · client.rack set", or "" without racks. */
function racksLine(racks) {
  if (!racks) return "";
  const total = (racks.cross_rack || 0) + (racks.same_rack || 0);
  const share = total ? `${Math.round((100 * racks.cross_rack) / total)}%` : "–";
  return `cross-rack ${share} of ${fmtCompact(total)} fetched · client.rack ${racks.client_rack ? "set" : "not set"}`;
}

/** The last offset reset ("reset to datetime t=12 s: 6 partitions, −540"), or the
 * auto.offset.reset policy when it is not the default here. */
function resetLine(resets, policy) {
  const last = resets?.[resets.length - 1];
  const parts = [];
  if (policy) parts.push(`auto.offset.reset=${policy}`);
  if (last) {
    const value = last.to === "datetime" ? ` t=${fmtSeconds(last.value)}` : last.to === "shift" || last.to === "offset"
      ? ` ${last.value}` : "";
    const moved = last.moved > 0 ? `+${fmtCompact(last.moved)}` : last.moved < 0 ? `−${fmtCompact(-last.moved)}` : "0";
    parts.push(`reset to ${last.to}${value}: ${last.partitions} partitions, ${moved}${last.approximate ? " (index precision)" : ""}`);
  }
  return parts.join(" · ");
}

/** The newest NoOffsetForPartitionException / OffsetOutOfRangeException a consumer died of. */
function errorLine(errors) {
  const last = errors?.[errors.length - 1];
  if (!last) return "";
  const more = last.partitions.length > 1 ? ` +${last.partitions.length - 1}` : "";
  return `⚠ ${last.member}: ${last.error} (${last.partitions[0]}${more})`;
}
