// The room's websocket. partysocket's ReconnectingWebSocket reconnects with exponential
// backoff (0.5 s doubling to 10 s); this module adds what Fanout's protocol needs on top:
// JSON frames, seq gap detection (a missed frame means our state may be wrong, so ask for a
// snapshot instead of guessing), acks (the server's flow control: a viewer that stops acking
// is sent no more than a window of frames, then the latest snapshot once it acks again), and
// `document.body.dataset.ws` = "open" | "closed" for tests, with `dataset.wsState` =
// "connecting" | "open" | "reconnecting" for the status light. Every (re)connection starts
// with a snapshot from the server: a reconnect resyncs by itself.
import ReconnectingWebSocket from "partysocket/ws";

export const PROTOCOL_VERSION = 1;
// Ack at least this often (in frames); the server skips frames past 30 unacknowledged ones.
export const ACK_EVERY = 10;

export function roomUrl(room, key) {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const query = key ? `?key=${encodeURIComponent(key)}` : "";
  return `${scheme}://${location.host}/ws/rooms/${encodeURIComponent(room)}/${query}`;
}

export class RoomSocket {
  /**
   * @param {string} url
   * @param {{onMessage: (msg: object) => void, onStatus?: (open: boolean) => void}} handlers
   */
  constructor(url, handlers) {
    this.handlers = handlers;
    this.lastSeq = null;
    this.lastAck = null;
    this.resyncing = false;
    this.wasOpen = false;
    this.setStatus(false);
    this.ws = new ReconnectingWebSocket(url, [], {
      minReconnectionDelay: 500,
      maxReconnectionDelay: 10000,
      reconnectionDelayGrowFactor: 2,
      connectionTimeout: 5000,
      // Never replay stale commands after a reconnect: a "run" typed a minute ago is not wanted.
      maxEnqueuedMessages: 0,
    });
    this.ws.addEventListener("open", () => {
      // A new connection starts with a snapshot (or hello); forget the old sequence.
      this.lastSeq = null;
      this.lastAck = null;
      this.resyncing = false;
      this.wasOpen = true;
      this.setStatus(true);
    });
    this.ws.addEventListener("close", () => this.setStatus(false));
    this.ws.addEventListener("message", (e) => this.receive(e.data));
  }

  get open() {
    return this.ws.readyState === 1;
  }

  setStatus(open) {
    const state = open ? "open" : this.wasOpen ? "reconnecting" : "connecting";
    document.body.dataset.ws = open ? "open" : "closed";
    document.body.dataset.wsState = state;
    this.handlers.onStatus?.(open, state);
  }

  receive(text) {
    let msg;
    try {
      msg = JSON.parse(text);
    } catch {
      return;
    }
    if (!msg || typeof msg !== "object") return;
    if (msg.type === "frame") {
      if (this.resyncing) return; // frames before the snapshot we asked for are moot
      if (this.lastSeq != null && msg.seq !== this.lastSeq + 1) {
        if (msg.seq <= this.lastSeq) return; // a duplicate or late frame
        this.resync();
        return;
      }
      this.lastSeq = msg.seq;
      if (this.lastAck == null || msg.seq - this.lastAck >= ACK_EVERY) this.ack(msg.seq);
    } else if (msg.type === "snapshot") {
      this.lastSeq = msg.seq ?? null;
      this.resyncing = false;
      if (this.lastSeq != null) this.ack(this.lastSeq);
    }
    this.handlers.onMessage(msg);
  }

  ack(seq) {
    this.lastAck = seq;
    this.send({ type: "ack", seq });
  }

  resync() {
    this.resyncing = true;
    this.send({ type: "resync" });
  }

  /** Returns false when the socket is not open (the caller tells the user). */
  send(msg) {
    if (!this.open) return false;
    this.ws.send(JSON.stringify(msg));
    return true;
  }

  close() {
    this.ws.close();
  }
}
