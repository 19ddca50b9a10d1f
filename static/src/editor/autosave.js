// Continuous autosave of the edited document to localStorage, one draft per page address, so a
// reload or a crashed tab loses nothing. The draft is restored only when it differs from what
// the server sent; the user is told and can discard it.
const PREFIX = "fanout.draft:";

export class Autosave {
  constructor(scope) {
    this.key = PREFIX + scope;
    this.timer = null;
  }

  load() {
    try {
      const raw = localStorage.getItem(this.key);
      if (!raw) return null;
      const draft = JSON.parse(raw);
      return draft && draft.document ? draft : null;
    } catch {
      return null;
    }
  }

  /** Debounced: many tiny moves while dragging become one write. */
  save(getDocument) {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.saveNow(getDocument()), 250);
  }

  saveNow(doc) {
    clearTimeout(this.timer);
    try {
      localStorage.setItem(this.key, JSON.stringify({ savedAt: Date.now(), document: doc }));
    } catch {
      // Storage full or disabled (private mode): the editor keeps working without drafts.
    }
  }

  clear() {
    clearTimeout(this.timer);
    try {
      localStorage.removeItem(this.key);
    } catch {
      /* ignore */
    }
  }

  static clearScope(scope) {
    try {
      localStorage.removeItem(PREFIX + scope);
    } catch {
      /* ignore */
    }
  }
}
