// The browser side of each messaging system, one module per system. Adding one: an import line
// and an entry in SYSTEMS below, nothing else here.
//
// A system module exports:
//   export const cards = {
//     "<node type name>": {
//       preview(slot, data, typeInfo) {}  // card body before a run; data = {type, label, params}
//       live(slot, nodeId, typeInfo) {    // called once when the run's first state arrives
//         return { update(state, ctx) {} }; // every frame; state = metrics.nodes[nodeId]
//       },
//       // optional:
//       summary(params, typeInfo) {}      // one line under the label (default: declared params)
//       size(params, state) {}            // {width?, height?}; missing: width 240, height measured
//     },
//   };
//   export function edgeLabel(edge) {}  // edge = {id, source, target, params, sourceType,
//                                       // targetType, sourceParams, targetParams, edgeParams
//                                       // (the source type's declarations)}; text or null
// Any hook left out falls back to the generic card (generic.js). edgeLabel is asked only about
// edges with an end of one of the module's types; when such a module answers null, the edge has
// no label (the generic label, non-default params, is for edges no module knows).
//
// ctx (second argument of update): {t, metrics, document, typeOf(id), nodesOfType(type) ->
// [[id, state]], labelOf(id)}. `document` is the document being simulated.
import * as generic from "./generic.js";
import * as kafka from "./kafka.js";
import * as redis from "./redis.js";
import * as rabbitmq from "./rabbitmq.js";
import * as gcp_pubsub from "./gcp_pubsub.js";
import * as pulsar from "./pulsar.js";
import * as sqs from "./sqs.js";
import * as bridge from "./bridge.js";
import * as streams from "./streams.js";
import * as schemas from "./schemas.js";

export const SYSTEMS = [
  kafka,
  rabbitmq,
  gcp_pubsub,
  pulsar,
  redis,
  sqs,
  bridge,
  streams,
  schemas,
];

const resolved = new Map();

/** The card hooks of a node type: its system's, completed by the generic card's. */
export function cardFor(type) {
  let card = resolved.get(type);
  if (!card) {
    const own = SYSTEMS.find((m) => m.cards?.[type])?.cards[type] || {};
    card = { ...generic.card, ...own, generic: !SYSTEMS.some((m) => m.cards?.[type]) };
    resolved.set(type, card);
  }
  return card;
}

/** The text drawn on an edge, or null. */
export function edgeLabelFor(edge) {
  const owners = SYSTEMS.filter(
    (m) => typeof m.edgeLabel === "function" && (m.cards?.[edge.sourceType] || m.cards?.[edge.targetType]),
  );
  for (const m of owners) {
    const text = m.edgeLabel(edge);
    if (text != null && text !== "") return String(text);
  }
  return owners.length ? null : generic.edgeLabel(edge);
}
