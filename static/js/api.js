// HTTP and WebSocket client for the losslab API (docs/API.md).

import { t, ts } from "./i18n.js";

export class ApiError extends Error {
  constructor(status, detail) {
    super(typeof detail === "string" ? detail : `HTTP ${status}`);
    this.status = status;
    this.detail = detail;
  }
}

/** A pause that an abort `signal` (if any) cuts short with an AbortError. */
export function sleep(ms, signal) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => {
      clearTimeout(timer);
      reject(new DOMException("aborted", "AbortError"));
    });
  });
}

/**
 * Every HTTP request of the page: `fetch`, and a failed answer thrown as an ApiError with the
 * server's `detail`. With `onWait`, a 429 (busy) waits its Retry-After seconds, counting them
 * down through `onWait(seconds)` (then `onWait(0)`), and tries once more.
 */
export async function send(url, init = {}, { onWait, signal } = {}) {
  const go = () => fetch(url, signal ? { ...init, signal } : init);
  let response = await go();
  if (response.status === 429 && onWait) {
    const seconds = Math.ceil(Number(response.headers.get("retry-after")) || 2);
    for (let wait = Math.max(1, seconds); wait > 0; wait -= 1) {
      onWait(wait);
      await sleep(1000, signal);
    }
    onWait(0);
    response = await go();
  }
  if (response.ok) return response;
  const body = await response.json().catch(() => null);
  if (response.status === 429 && onWait) {
    throw new ApiError(429, t("The server is still busy: try again in a moment."));
  }
  throw new ApiError(response.status, body && body.detail);
}

async function request(url, init) {
  return (await send(url, init)).json();
}

const jsonInit = (body, signal) => ({
  method: "POST",
  headers: { "content-type": "application/json" },
  body: JSON.stringify(body),
  signal,
});

export async function postJSON(url, body, signal, options) {
  return (await send(url, jsonInit(body, signal), options)).json();
}

export async function postText(url, body, signal) {
  return (await send(url, jsonInit(body, signal))).text();
}

export async function postCSV(url, text) {
  const init = { method: "POST", headers: { "content-type": "text/csv" }, body: text };
  return (await send(url, init)).json();
}

/**
 * What went wrong, in the server's words: a 422's messages (with `withField`, each after the
 * field it names unless it names it itself), a string detail, or the error's own message;
 * the server's English in the page's language (`ts`).
 */
export function errorText(error, { withField = false } = {}) {
  const detail = error && error.detail;
  if (Array.isArray(detail) && detail.length) {
    return detail
      .map((d) => {
        const at = Array.isArray(d.loc) ? d.loc.filter((p) => p !== "body").join(".") : "";
        const named = String(d.msg).includes(at.split(".").pop());
        const message = ts(String(d.msg));
        return withField && at && !named ? t("{field}: {message}", { field: at, message }) : message;
      })
      .join(t("; "));
  }
  if (typeof detail === "string") return ts(detail);
  if (error && error.status === 429) return t("The server is busy: try again in a moment.");
  return error && error.message ? ts(error.message) : t("The request failed.");
}

/**
 * The first payload, inlined into the page by the server (app/web/routes/pages.py) so the page
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
  /** The default benchmark's request, every field spelled out (app/benchmark.py). */
  benchmarkDefaults: () => first("benchmark_defaults", "/api/benchmarks/defaults"),
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
