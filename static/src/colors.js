// One fixed colour per partition, the same in every view (dots, log bars, member chips), so a
// class can say "the orange partition" and everyone sees the same thing. Saturated, distinct
// on a projector, red kept out (red means dead-lettered).
const PARTITION_COLORS = [
  "#2563eb", // blue
  "#ea580c", // orange
  "#16a34a", // green
  "#9333ea", // purple
  "#0891b2", // cyan
  "#ca8a04", // gold
  "#db2777", // pink
  "#4f46e5", // indigo
  "#65a30d", // lime
  "#0d9488", // teal
  "#a16207", // brown
  "#475569", // slate
];

export const DEAD_COLOR = "#dc2626";

export function partitionColor(p) {
  const i = Number(p) || 0;
  if (i < PARTITION_COLORS.length) return PARTITION_COLORS[i];
  // Past the fixed palette: golden-angle hues stay distinct from their neighbours.
  return `hsl(${Math.round((i * 137.508) % 360)} 70% 42%)`;
}
