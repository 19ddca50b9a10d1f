// The room's websocket. partysocket's ReconnectingWebSocket reconnects with exponential
// backoff (0.5 s doubling to 10 s); this module adds what Fanout's protocol needs on top:
// JSON frames, seq gap detection (a missed frame means our state may be wrong, so ask for a
// snapshot instead of guessing), and `document.body.dataset.ws` = "open" | "closed" for tests
// and for the status light.
import ReconnectingWebSocket from "partysocket/ws";

export const PROTOCOL_VERSION = 1;

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
    this.resyncing = false;
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
      this.resyncing = false;
      this.setStatus(true);
    });
    this.ws.addEventListener("close", () => this.setStatus(false));
    this.ws.addEventListener("message", (e) => this.receive(e.data));
  }

  get open() {
    return this.ws.readyState === 1;
  }

  setStatus(open) {
    document.body.dataset.ws = open ? "open" : "closed";
    this.handlers.onStatus?.(open);
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
    } else if (msg.type === "snapshot") {
      this.lastSeq = msg.seq ?? null;
      this.resyncing = false;
    }
    this.handlers.onMessage(msg);
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
