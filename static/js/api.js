// HTTP and WebSocket client for the losslab API (docs/API.md).

export class ApiError extends Error {
  constructor(status, detail) {
    super(typeof detail === "string" ? detail : `HTTP ${status}`);
    this.status = status;
    this.detail = detail;
  }
}

async function request(url, init) {
  const response = await fetch(url, init);
  const body = await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, body && body.detail);
  return body;
}

/**
 * The first payload, inlined into the page by the server (app/routes/pages.py) so the page
 * needs no round trip to boot: data blocks, never executed. Each part is handed out once;
 * later calls, and a page without the blocks, fetch as usual.
 */
function readBlock(id) {
  const node = document.getElementById(id);
  if (!node) return null;
  node.remove(); // its text is parsed once here; the DOM need not keep half a megabyte
  try {
    return { value: JSON.parse(node.textContent), data: node.dataset };
  } catch {
    return null; // a damaged block: fetch instead
  }
}

const inline = readBlock("boot-data")?.value || {};
let inlineGrid = readBlock("boot-grid");
let limits = null;
const inlineLimits = readBlock("boot-limits")?.value || null;

function first(key, url) {
  if (!(key in inline)) return request(url);
  const value = inline[key];
  delete inline[key];
  return Promise.resolve(value);
}

function grid(name, resolution) {
  const block = inlineGrid;
  if (block && block.data.surface === name && Number(block.data.resolution) === resolution) {
    inlineGrid = null;
    return Promise.resolve(block.value);
  }
  return request(`/api/surfaces/${encodeURIComponent(name)}/grid?resolution=${resolution}`);
}

export const api = {
  surfaces: () => first("surfaces", "/api/surfaces"),
  optimizers: () => first("optimizers", "/api/optimizers"),
  schedulers: () => first("schedulers", "/api/schedulers"),
  presets: () => first("presets", "/api/presets"),
  /** The server's limits (`max_*` settings, by their LOSSLAB_ names), asked for once. */
  limits: () =>
    (limits ??= inlineLimits ? Promise.resolve(inlineLimits) : request("/api/limits")),
  grid,
  run: (body) =>
    request("/api/runs", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    }),
};

const SOCKET_URL = `${location.protocol === "https:" ? "wss:" : "ws:"}//${location.host}/ws/runs`;

/**
 * One WebSocket for one run slot (or for the page's sweeps, live.js). `send` delivers at once
 * when open, otherwise when the socket (re)opens; after an unexpected close the socket
 * reconnects with backoff and calls `onReopen` so the owner can restart an unfinished run.
 * Text messages go to `onMessage` as JSON, binary ones (LLB1 sweeps) to `onBinary`.
 */
export class RunChannel {
  constructor({ onMessage, onReopen, onBinary = null }) {
    this.onMessage = onMessage;
    this.onReopen = onReopen;
    this.onBinary = onBinary;
    this.socket = null;
    this.queue = [];
    this.closed = false;
    this.retries = 0;
    this.timer = 0;
    this.connect();
  }

  connect() {
    if (this.closed) return;
    const socket = new WebSocket(SOCKET_URL);
    socket.binaryType = "arraybuffer";
    this.socket = socket;
    socket.addEventListener("open", () => {
      const reopened = this.retries > 0;
      this.retries = 0;
      const queued = this.queue.splice(0);
      for (const text of queued) socket.send(text);
      if (reopened && queued.length === 0) this.onReopen();
    });
    socket.addEventListener("message", (event) => {
      if (typeof event.data !== "string") {
        if (this.onBinary) this.onBinary(event.data);
        return;
      }
      let message;
      try {
        message = JSON.parse(event.data);
      } catch {
        return;
      }
      this.onMessage(message);
    });
    socket.addEventListener("close", () => {
      if (this.socket !== socket || this.closed) return;
      this.retries += 1;
      const delay = Math.min(4000, 200 * 2 ** Math.min(this.retries, 5));
      this.timer = setTimeout(() => this.connect(), delay);
    });
  }

  send(message) {
    const text = JSON.stringify(message);
    if (this.socket && this.socket.readyState === WebSocket.OPEN) {
      this.socket.send(text);
    } else {
      // Only the newest run matters: an older queued one would be cancelled anyway.
      this.queue = [text];
    }
  }

  close() {
    this.closed = true;
    clearTimeout(this.timer);
    if (this.socket) this.socket.close();
  }
}
