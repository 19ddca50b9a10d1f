// Partition chips and short member names, shared by the group cards, the consumers panel and
// the rebalance timeline: the same partition has the same colour everywhere.
import { h } from "../dom.js";
import { partitionColor } from "../colors.js";

/** "billing-consumer-3" / "consumer-3" -> "C3": member names must fit beside their chips. */
export function shortMember(id, groupId) {
  let s = String(id);
  if (groupId && s.startsWith(groupId + "-")) s = s.slice(groupId.length + 1);
  const m = /^consumer-?(\d+)$/i.exec(s);
  return m ? `C${m[1]}` : s;
}

/** A "topic/p" reference as a coloured chip "P<p>". */
export function partitionChip(ref, extraClass = "") {
  const p = Number(String(ref).split("/").pop());
  return h(
    "span",
    { class: `chip ${extraClass}`, style: { background: partitionColor(p) }, title: ref, "data-partition": ref },
    `P${p}`,
  );
}
