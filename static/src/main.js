// Boot: reads the page's json_script configuration (#editor-config, #topology-document,
// #node-types) and wires the editor, the live view and the socket together. Modes:
//   new / edit  - edit the graph, autosave a draft, run it in this tab's room, save
//   readonly    - a shared topology: look, run it in this tab's room, fork (no edits)
//   watch       - follow someone else's room (/rooms/<room>/): no editing, no controls
import "./styles.css";
import { readJsonScript, fmtSeconds } from "./dom.js";
import { Banner } from "./banner.js";
import { EditorGraph } from "./editor/graph.js";
import { mountPalette } from "./editor/palette.js";
import { Inspector } from "./editor/inspector.js";
import { graphToDocument, documentToGraph, fingerprint, describePath, nodeIdOfPath } from "./editor/document.js";
import { Autosave } from "./editor/autosave.js";
import { postDocument, downloadDocument, slugify, tabRoom, forgetTabRoom } from "./editor/persistence.js";
import { FlowOverlay } from "./animation/overlay.js";
import { RoomSocket, roomUrl } from "./socket.js";
import { Counters } from "./live/counters.js";
import { RebalanceTimeline } from "./live/rebalances.js";
import { DlqPanel } from "./live/dlq.js";
import { LiveView } from "./live/view.js";
import { ThroughputChart } from "./charts.js";
import { Controls } from "./controls.js";

const $ = (sel) => document.querySelector(sel);
const testid = (id) => document.querySelector(`[data-testid="${id}"]`);

class App {
  constructor(config, types) {
    this.config = config;
    this.types = types;
    this.typeMap = new Map(this.types.map((t) => [t.name, t]));
    this.mode = this.config.mode || "new";
    this.readonly = this.mode === "readonly" || this.mode === "watch";
    this.canEdit = this.mode === "new" || this.mode === "edit";
    this.name = "Untitled topology";
    this.banner = new Banner($("#banners"));
    document.body.dataset.mode = this.mode;

    this.editor = new EditorGraph(testid("canvas"), this.types, {
      readonly: this.readonly,
      onChange: () => this.changed(),
      onSelect: (cells) => this.selected(cells),
      onRefused: (message) => this.banner.show("notice", message, { key: "refused", timeout: 6000 }),
    });
    if (this.canEdit) mountPalette($("#palette-items"), this.editor, this.types);
    this.inspector = new Inspector($("#inspector-body"), this.editor, {
      inspectorUrl: this.config.inspector_url || "/inspector/",
      edgeInspectorUrl: this.config.edge_inspector_url || null,
      readonly: !this.canEdit,
    });

    this.overlay = new FlowOverlay(testid("flow-overlay"), this.editor);
    this.live = new LiveView({
      editor: this.editor,
      overlay: this.overlay,
      counters: new Counters($("#counters")),
      chart: new ThroughputChart($("#chart")),
      timeline: new RebalanceTimeline($("#rebalance-list"), { labelOf: (id) => this.labelOf(id) }),
      dlq: new DlqPanel($("#dlq-list"), testid("dlq-count"), {
        labelOf: (id) => this.labelOf(id),
        command: (command) => this.send({ type: "command", command }),
        canRedrive: (id) => (this.typeMap.get(this.live.typeOf(id))?.commands || []).includes("redrive"),
        isEnabled: () => !!this.controller,
      }),
      onState: (state) => this.controls?.setState(state),
      types: this.typeMap,
      labelOf: (id) => this.labelOf(id),
    });

    this.loadInitialDocument();
    this.bindToolbar();
    this.connect();
  }

  // ----- document -----

  currentDocument() {
    return graphToDocument(this.editor, this.name, this.description);
  }

  labelOf(id) {
    return this.editor.graph.getCellById(id)?.getData()?.label || id || "";
  }

  loadInitialDocument() {
    const serverDoc = readJsonScript("topology-document");
    this.autosave = this.canEdit ? new Autosave(location.pathname + location.search) : null;
    this.showDocument(serverDoc);
    this.savedFingerprint = this.mode === "edit" ? fingerprint(this.currentDocument()) : null;

    const draft = this.autosave?.load();
    if (draft && fingerprint(draft.document) !== fingerprint(this.currentDocument())) {
      this.showDocument(draft.document);
      const ago = Math.max(0, Math.round((Date.now() - draft.savedAt) / 60000));
      this.banner.show(
        "notice",
        `Restored your unsaved changes from ${ago < 1 ? "moments" : ago === 1 ? "a minute" : `${ago} minutes`} ago.`,
        {
          key: "draft",
          actions: [
            {
              label: "Discard them",
              testid: "btn-discard-draft",
              onclick: () => {
                this.autosave.clear();
                this.showDocument(serverDoc);
                this.updateDirty();
              },
            },
          ],
        },
      );
    }
    this.updateDirty();
  }

  showDocument(doc) {
    if (!doc) return;
    this.name = doc.name || this.name;
    this.description = doc.description || "";
    const nameInput = testid("doc-name");
    if (nameInput) nameInput.value = this.name;
    this.showScenario(this.description);
    this.suppressChange = true;
    try {
      documentToGraph(this.editor, doc);
    } finally {
      this.suppressChange = false;
    }
    requestAnimationFrame(() => {
      if (this.editor.graph.getNodes().length) this.editor.graph.zoomToFit({ padding: 56, maxScale: 1.5 });
      this.live.refresh();
    });
  }

  /** The document's description, in the "What to watch for" box (hidden when there is none). */
  showScenario(text) {
    const box = testid("scenario");
    const body = testid("scenario-text");
    if (!box || !body) return;
    body.textContent = text || "";
    box.hidden = !text;
  }

  changed() {
    if (this.suppressChange) return;
    this.autosave?.save(() => this.currentDocument());
    clearTimeout(this.dirtyTimer);
    this.dirtyTimer = setTimeout(() => this.updateDirty(), 100);
  }

  updateDirty() {
    const fp = fingerprint(this.currentDocument());
    const unsaved = this.mode === "new" || (this.mode === "edit" && fp !== this.savedFingerprint);
    const chip = testid("save-state");
    if (chip) {
      chip.textContent = this.mode === "new" ? "Not saved yet" : unsaved ? "Unsaved changes" : "Saved";
      chip.classList.toggle("is-dirty", unsaved);
    }
    const stale = this.loadedFingerprint != null && fp !== this.loadedFingerprint;
    testid("run-stale")?.toggleAttribute("hidden", !stale || this.mode === "watch");
    const history = this.editor.graph;
    if (testid("btn-undo")) testid("btn-undo").disabled = !history.canUndo();
    if (testid("btn-redo")) testid("btn-redo").disabled = !history.canRedo();
  }

  selected(cells) {
    this.inspector.showSelection(cells);
    const node = cells.find((c) => c.isNode());
    if (node) {
      this.controls?.selectNode(node.id);
      this.controls?.updateConsumers(this.live.metrics, (id) => this.labelOf(id));
    }
  }

  describeErrors(errors, doc) {
    return {
      errors,
      describe: (path) => describePath(path, doc, this.typeMap),
    };
  }

  selectErrorNode(errors, doc) {
    const id = (errors || []).map((e) => nodeIdOfPath(e.path, doc)).find(Boolean);
    if (id && this.editor.graph.getCellById(id)) {
      this.editor.graph.cleanSelection();
      this.editor.graph.select(this.editor.graph.getCellById(id));
    }
  }

  // ----- toolbar: undo, save, export, share -----

  bindToolbar() {
    const g = this.editor.graph;
    testid("btn-undo")?.addEventListener("click", () => this.editor.undo());
    testid("btn-redo")?.addEventListener("click", () => this.editor.redo());
    g.on("history:change", () => this.updateDirty());
    testid("btn-zoom-in")?.addEventListener("click", () => g.zoom(0.2));
    testid("btn-zoom-out")?.addEventListener("click", () => g.zoom(-0.2));
    testid("btn-fit")?.addEventListener("click", () => {
      if (g.getNodes().length) g.zoomToFit({ padding: 56, maxScale: 1.5 });
      else {
        g.zoomTo(1);
        g.translate(0, 0);
      }
    });
    testid("btn-save")?.addEventListener("click", () => this.save());
    bindMenu(testid("examples-menu"));
    testid("btn-export")?.addEventListener("click", (e) => this.exportDocument(e));
    testid("btn-share-live")?.addEventListener("click", () => this.toggleShare());
    testid("btn-copy-share")?.addEventListener("click", () => this.copyShare());
    const nameInput = testid("doc-name");
    nameInput?.addEventListener("change", () => {
      this.name = nameInput.value.trim() || "Untitled topology";
      this.changed();
    });
    if (this.canEdit) {
      document.addEventListener("keydown", (e) => {
        if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === "s") {
          e.preventDefault();
          this.save();
        }
      });
    }
    window.addEventListener("beforeunload", () => {
      if (this.autosave && !this.leaving) this.autosave.saveNow(this.currentDocument());
    });
  }

  async save() {
    if (!this.canEdit) return;
    const doc = this.currentDocument();
    const url = this.mode === "new" ? this.config.create_url : this.config.save_url;
    const button = testid("btn-save");
    button.disabled = true;
    try {
      const { ok, status, data } = await postDocument(url, doc);
      if (ok && this.mode === "new" && data?.url) {
        this.leaving = true;
        this.autosave.clear();
        location.assign(data.url);
        return;
      }
      if (ok) {
        this.savedFingerprint = fingerprint(doc);
        this.autosave.clear();
        this.banner.clear("save");
        this.banner.show("success", "Saved.", { key: "save", timeout: 2500 });
      } else if (status === 400 && data?.errors) {
        this.banner.show("error", "Not saved: the topology has problems.", {
          key: "save",
          ...this.describeErrors(data.errors, doc),
        });
        this.selectErrorNode(data.errors, doc);
      } else if (status === 403) {
        this.banner.show(
          "error",
          "Not saved: this browser does not hold the edit key of this topology. Your changes are kept here; export them or fork the original.",
          { key: "save" },
        );
      } else {
        this.banner.show("error", `Not saved (${status ? `HTTP ${status}` : "no connection"}). Your changes are kept in this browser.`, {
          key: "save",
          errors: data?.errors,
        });
      }
    } finally {
      button.disabled = false;
      this.updateDirty();
    }
  }

  exportDocument(e) {
    const doc = this.currentDocument();
    const unchanged = this.savedFingerprint != null && fingerprint(doc) === this.savedFingerprint;
    if (this.config.export_url && (unchanged || this.mode === "readonly")) return; // the link serves it
    e.preventDefault();
    downloadDocument(doc, `${slugify(this.config.slug || doc.name)}.json`);
  }

  shareUrl() {
    const path = (this.config.watch_url_template || "/rooms/ROOM/").replace("ROOM", encodeURIComponent(this.room));
    return location.origin + path;
  }

  toggleShare() {
    const box = testid("share-box");
    const open = box.hidden;
    box.hidden = !open;
    if (open) {
      testid("share-live-url").value = this.shareUrl();
      const topo = testid("share-topology-url");
      if (topo) topo.value = this.config.slug ? location.origin + location.pathname : "";
      testid("share-topology")?.toggleAttribute("hidden", !this.config.slug);
      testid("share-live-url").select();
    }
  }

  async copyShare() {
    const input = testid("share-live-url");
    input.select();
    try {
      await navigator.clipboard.writeText(input.value);
      this.banner.show("success", "Live view link copied.", { key: "copy", timeout: 2000 });
    } catch {
      document.execCommand?.("copy");
    }
  }

  // ----- live -----

  connect() {
    this.controller = false;
    this.hasSimulation = false;
    this.loadedFingerprint = null;
    this.pending = null;

    this.controls = new Controls($("#run-controls"), $("#consumers"), {
      run: () => this.control("run"),
      pause: () => this.send({ type: "control", action: "pause" }),
      step: () => this.control("step"),
      reset: () => this.control("reset"),
      speed: (value) => {
        this.speed = value;
        // Without a simulation yet, the speed is sent right after the next load.
        if (this.hasSimulation) this.send({ type: "control", action: "speed", value });
      },
      command: (command) => this.send({ type: "command", command }),
    }, { types: this.typeMap, typeOf: (id) => this.live.typeOf(id) });
    this.controls.setEnabled(false);
    this.openSocket();
  }

  async openSocket() {
    let key = null;
    if (this.mode === "watch") {
      this.room = this.config.room;
    } else {
      // The server issues the room and its control key (a key it never issued controls nothing).
      try {
        ({ room: this.room, key } = await tabRoom(this.config.room_create_url));
      } catch (err) {
        this.room = null;
        this.banner.show("error", `No live room: ${err.message}; reload to try again.`, { key: "offline" });
      }
    }
    document.body.dataset.room = this.room || "";
    if (!this.room) return;

    this.socket = new RoomSocket(roomUrl(this.room, key), {
      onMessage: (msg) => this.receive(msg),
      onStatus: (open, state) => {
        const light = testid("ws-status");
        if (light) {
          light.textContent = open ? "Live" : state === "reconnecting" ? "Reconnecting…" : "Connecting…";
          light.classList.toggle("is-open", open);
          light.classList.toggle("is-reconnecting", state === "reconnecting");
        }
        if (!open) this.controls.setEnabled(false);
        // The snapshot every new connection starts with brings the view up to date.
        if (open) this.banner.clear("offline");
      },
    });
  }

  send(msg) {
    if (this.socket?.send(msg)) return true;
    this.banner.show("error", "Not connected to the server; reconnecting…", { key: "offline", timeout: 4000 });
    return false;
  }

  /** Run / step / reset: load the graph first when it changed since the last load. */
  control(action) {
    const doc = this.currentDocument();
    const fp = fingerprint(doc);
    const needLoad = this.mode !== "watch" && (!this.hasSimulation || fp !== this.loadedFingerprint);
    if (needLoad) {
      if (!this.send({ type: "load", document: doc })) return;
      setRoomPage(pageAddress());
      this.loadedFingerprint = fp;
      this.loadedDocument = doc;
      this.live.setDocument(doc);
      this.pending = action === "reset" ? null : action;
      this.live.clear();
      this.updateDirty();
      return;
    }
    this.send({ type: "control", action });
  }

  receive(msg) {
    switch (msg.type) {
      case "hello":
        // A room with no simulation: a fresh room, or a server that restarted under us. The
        // graph stays as the person left it; the next Run loads it into this room again.
        if (this.lostRoomKey(msg)) break;
        this.setController(!!msg.controller);
        this.hasSimulation = false;
        this.loadedFingerprint = null;
        this.controls.setState({ running: false, tick: 0, ...(msg.state || {}) });
        break;
      case "snapshot":
        if (this.lostRoomKey(msg)) break;
        this.setController(!!msg.controller);
        this.hasSimulation = true;
        if (this.mode === "watch") {
          if (msg.document && fingerprint(msg.document) !== this.watchedFingerprint) {
            this.watchedFingerprint = fingerprint(msg.document);
            this.showDocument(msg.document);
            testid("doc-title") && (testid("doc-title").textContent = msg.document.name || "Live room");
          }
        } else if (this.loadedFingerprint == null && msg.document) {
          this.loadedFingerprint = fingerprint(msg.document);
          // This tab's room runs a topology another page loaded (the tab went on to another
          // example or saved topology): that run is not this page's. Load this page's own
          // topology, paused at zero, so the canvas and the figures agree. A reload of the same
          // page keeps its run (the room page matches), edits or not.
          const page = roomPage();
          if (page && page !== pageAddress() && this.loadedFingerprint !== fingerprint(this.currentDocument())) {
            this.control("reset");
            break;
          }
        }
        this.live.snapshot(msg);
        this.afterState(msg);
        if (this.pending) {
          const action = this.pending;
          this.pending = null;
          if (this.speed && this.speed !== msg.state?.speed) {
            this.send({ type: "control", action: "speed", value: this.speed });
          }
          this.send({ type: "control", action });
        }
        break;
      case "frame":
        this.live.frame(msg);
        this.afterState(msg);
        break;
      case "error":
        this.serverError(msg);
        break;
      case "notice":
        // Transient news about the room (e.g. "resumed": it moved to another worker).
        this.banner.show("notice", msg.message || "The live run changed servers.", {
          key: `notice-${msg.code || "server"}`,
          timeout: 6000,
        });
        break;
      default:
        break;
    }
  }

  afterState(msg) {
    this.controls.updateConsumers(this.live.metrics, (id) => this.labelOf(id));
    const t = msg.t ?? msg.metrics?.t;
    const clock = testid("sim-clock");
    if (clock && Number.isFinite(t)) clock.textContent = fmtSeconds(t);
  }

  /** This tab's stored key is not one the server issued (its database was reset): get a new room, once. */
  lostRoomKey(msg) {
    if (this.mode === "watch" || msg.controller || this.renewedRoom) return false;
    this.renewedRoom = true;
    forgetTabRoom();
    const old = this.socket;
    this.socket = null;
    old?.close();
    this.openSocket();
    return true;
  }

  setController(controller) {
    this.controller = controller && this.mode !== "watch";
    this.controls.setEnabled(this.controller);
  }

  serverError(msg) {
    const doc = this.loadedDocument || this.currentDocument();
    if (msg.code === "invalid_document") {
      this.pending = null;
      this.loadedFingerprint = null;
      this.updateDirty();
      this.banner.show("error", `The simulation did not start: ${msg.message || "the topology is not valid"}`, {
        key: "ws-error",
        ...this.describeErrors(msg.errors || [], doc),
      });
      this.selectErrorNode(msg.errors, doc);
      return;
    }
    if (msg.code === "no_simulation") this.hasSimulation = false;
    this.banner.show("error", `${msg.message || "The server refused that."} (${msg.code || "error"})`, {
      key: "ws-error",
      errors: msg.errors,
      timeout: msg.code === "rate_limited" ? 4000 : undefined,
    });
  }
}

/** A <details> menu closes on a click elsewhere and on Escape. */
function bindMenu(menu) {
  if (!menu) return;
  document.addEventListener("click", (e) => {
    if (menu.open && !menu.contains(e.target)) menu.open = false;
  });
  menu.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && menu.open) {
      menu.open = false;
      menu.querySelector("summary")?.focus();
    }
  });
}

/** The node-type declarations: fetched once from their versioned URL (the browser caches them). */
async function loadNodeTypes(config) {
  const inline = readJsonScript("node-types");
  if (inline) return inline;
  if (!config.node_types_url) return [];
  const res = await fetch(config.node_types_url, { credentials: "same-origin" });
  if (!res.ok) throw new Error(`node types: HTTP ${res.status}`);
  return res.json();
}

async function boot() {
  // Pages without the editor (import, compare) load the same bundle for its styles.
  if (!testid("canvas")) return;
  try {
    const config = readJsonScript("editor-config") || { mode: "new" };
    new App(config, await loadNodeTypes(config));
    document.body.dataset.ready = "true";
  } catch (err) {
    document.body.dataset.ready = "error";
    const root = document.getElementById("banners");
    if (root) new Banner(root).show("error", `The editor failed to start: ${err.message}`);
    throw err;
  }
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", boot);
else boot();

/** The page a tab's room last loaded a topology from, so a reload can tell its run from another page's. */
function pageAddress() {
  return location.pathname + location.search;
}

function roomPage() {
  try {
    return sessionStorage.getItem("fanout.roomPage");
  } catch {
    return null;
  }
}

function setRoomPage(page) {
  try {
    sessionStorage.setItem("fanout.roomPage", page);
  } catch {
    /* private mode: a reload cannot tell; it keeps the run, as before */
  }
}
