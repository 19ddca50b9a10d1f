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

/** A "topic/p" reference as a coloured chip "P<p>"; what other systems assign (a partition
 * name like "p0", a hash range) is shown as it is, on a neutral chip. */
export function partitionChip(ref, extraClass = "") {
  const text = String(ref);
  const tail = text.split("/").pop();
  const p = /^p?(\d+)$/i.test(tail) ? Number(tail.replace(/^p/i, "")) : NaN;
  const known = Number.isInteger(p);
  return h(
    "span",
    {
      class: `chip ${extraClass}`,
      style: { background: known ? partitionColor(p) : "#64748b" },
      title: text,
      "data-partition": text,
    },
    known ? `P${p}` : tail,
  );
}
