// Frames carry only the metrics that changed since the previous frame ("delta": true; see
// playground/live/protocol.py, metrics_delta): merge them into what the page holds. A plain
// object merges key by key, {"$list": {i: delta}} merges into element i of a list of the same
// length, {"$set": value} replaces, anything else is the new value. Unchanged branches keep
// their identity, so a widget can tell cheaply that its node did not move.
export function mergeMetrics(held, delta) {
  if (delta === null || typeof delta !== "object" || Array.isArray(delta)) return delta;
  if ("$set" in delta) return delta.$set;
  if ("$list" in delta) {
    const out = Array.isArray(held) ? held.slice() : [];
    for (const [i, item] of Object.entries(delta.$list)) out[Number(i)] = mergeMetrics(out[Number(i)], item);
    return out;
  }
  const base = held && typeof held === "object" && !Array.isArray(held) ? held : {};
  const out = { ...base };
  for (const [key, value] of Object.entries(delta)) out[key] = mergeMetrics(base[key], value);
  return out;
}

/** The metrics after a frame: a complete frame replaces them, a delta frame is merged in. */
export function frameMetrics(held, msg) {
  return msg.delta ? mergeMetrics(held, msg.metrics) : msg.metrics;
}
