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

/** This tab's room and control key: random, kept for the tab's life in sessionStorage. */
export function tabRoom() {
  const get = (k) => {
    try {
      return sessionStorage.getItem(k);
    } catch {
      return null;
    }
  };
  const set = (k, v) => {
    try {
      sessionStorage.setItem(k, v);
    } catch {
      /* private mode: the ids last for this page only */
    }
  };
  let room = get("fanout.room");
  let key = get("fanout.key");
  if (!room || !/^[A-Za-z0-9_-]{8,64}$/.test(room)) {
    room = randomId(12);
    set("fanout.room", room);
  }
  if (!key) {
    key = randomId(24);
    set("fanout.key", key);
  }
  return { room, key };
}
