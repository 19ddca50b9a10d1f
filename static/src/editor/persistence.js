// Save, export and share: the only places the editor talks to the Django views over HTTP.
import { csrfToken } from "../dom.js";

/**
 * POST the document as JSON. Resolves to {ok, status, data}; data is the parsed JSON body
 * ({"slug","url"} on create, {"ok":true} on save, {"errors":[{path,message}]} on 400).
 */
export async function postDocument(url, doc) {
  let res;
  try {
    res = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "Content-Type": "application/json",
        Accept: "application/json",
        "X-CSRFToken": csrfToken(),
      },
      body: JSON.stringify(doc),
    });
  } catch (err) {
    return { ok: false, status: 0, data: { errors: [{ path: "", message: `network error: ${err.message}` }] } };
  }
  let data = null;
  try {
    data = await res.json();
  } catch {
    data = null;
  }
  return { ok: res.ok, status: res.status, data };
}

/** Offer the document as a .json download (for unsaved work, or work changed since saving). */
export function downloadDocument(doc, filename) {
  const blob = new Blob([JSON.stringify(doc, null, 2) + "\n"], { type: "application/json" });
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

export function slugify(name) {
  return (
    String(name || "topology")
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, "-")
      .replace(/^-+|-+$/g, "")
      .slice(0, 60) || "topology"
  );
}

/** Random URL-safe id from the platform's CSPRNG (room ids and control keys). */
export function randomId(bytes = 16) {
  const buf = new Uint8Array(bytes);
  crypto.getRandomValues(buf);
  let s = "";
  for (const b of buf) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

const ROOM_ITEM = "fanout.room";
const KEY_ITEM = "fanout.key";
// Keys made by the browser before the server issued them control nothing: this marks issued ones.
const ISSUED_ITEM = "fanout.keyIssued";

function stored(k) {
  try {
    return sessionStorage.getItem(k);
  } catch {
    return null;
  }
}

function store(k, v) {
  try {
    if (v == null) sessionStorage.removeItem(k);
    else sessionStorage.setItem(k, v);
  } catch {
    /* private mode: the room lasts for this page only */
  }
}

/**
 * This tab's room and control key, kept for the tab's life in sessionStorage. The server issues
 * both (POST to `createUrl`); the key is its proof of control and is never made here.
 */
export async function tabRoom(createUrl = "/rooms/") {
  const room = stored(ROOM_ITEM);
  const key = stored(KEY_ITEM);
  if (room && key && stored(ISSUED_ITEM) === "1" && /^[A-Za-z0-9_-]{8,64}$/.test(room)) return { room, key };
  const res = await fetch(createUrl, {
    method: "POST",
    credentials: "same-origin",
    headers: { Accept: "application/json", "X-CSRFToken": csrfToken() },
  });
  if (!res.ok) throw new Error(`the server refused a new room (HTTP ${res.status})`);
  const data = await res.json();
  store(ROOM_ITEM, data.room);
  store(KEY_ITEM, data.key);
  store(ISSUED_ITEM, "1");
  return { room: data.room, key: data.key };
}

/** Drop this tab's room (its key is unknown to the server): the next tabRoom() asks for a new one. */
export function forgetTabRoom() {
  store(ROOM_ITEM, null);
  store(KEY_ITEM, null);
  store(ISSUED_ITEM, null);
}
