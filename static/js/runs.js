// One run slot: its WebSocket, the frames on screen and the run streaming in behind them.

import { RunChannel } from "./api.js";
import { norm2 } from "./format.js";

/** A new run stays behind the one on screen until it is as long, done, or this old (ms). */
const SWAP_AFTER_MS = 120;

let sequence = 0;

export class RunSlot {
  /**
   * `config`, `frames`, `status` and `summary` always describe the run on screen, so they
   * can be compared with `POST /api/runs` for `config`.
   */
  constructor(id, { onChange }) {
    this.id = id;
    this.onChange = onChange;
    this.config = null;
    this.frames = [];
    this.status = "running";
    this.summary = null;
    /** The run's `analysis` (events, outcome, curvature, stability), once it is done. */
    this.analysis = null;
    this.error = null;
    this.version = 0;
    this.incoming = null;
    this.pending = null;
    this.awaiting = false;
    this.series = null;
    this.channel = new RunChannel({
      onMessage: (message) => this.receive(message),
      onReopen: () => this.restart(),
    });
  }

  /** Ask for a run of `config`; sent now, or as soon as the run in flight has shown progress. */
  submit(config) {
    this.pending = config;
    this.status = "running";
    this.error = null;
    this.flush();
  }

  flush() {
    if (!this.pending || this.awaiting) return;
    const config = this.pending;
    this.pending = null;
    sequence += 1;
    const requestId = `${this.id}.${sequence}`;
    this.incoming = { requestId, config, frames: [], firstAt: 0 };
    this.awaiting = true;
    this.channel.send({ type: "run", run_id: requestId, ...config });
  }

  /** The socket reopened after a drop: the run in flight there is gone, so ask again. */
  restart() {
    if (!this.incoming) return;
    this.awaiting = false;
    this.submit(this.pending || this.incoming.config);
  }

  receive(message) {
    const incoming = this.incoming;
    if (!incoming || message.run_id !== incoming.requestId) return;
    if (message.type === "frames") {
      incoming.frames.push(...message.frames);
      if (!incoming.firstAt) incoming.firstAt = performance.now();
      if (message.frames.some((frame) => frame.step > 0)) this.settle();
      const shown = incoming.frames === this.frames;
      const ready =
        this.frames.length === 0 ||
        incoming.frames.length >= this.frames.length ||
        performance.now() - incoming.firstAt > SWAP_AFTER_MS;
      if (shown || ready) this.show(incoming);
    } else if (message.type === "done") {
      this.show(incoming);
      this.status = message.status;
      this.summary = message.summary;
      this.analysis = message.analysis || null;
      this.incoming = null;
      this.settle();
      this.touch();
    } else if (message.type === "error") {
      this.status = "error";
      this.error = message.detail;
      this.analysis = null;
      this.incoming = null;
      this.settle();
      this.touch();
    }
  }

  show(incoming) {
    if (this.frames !== incoming.frames) {
      this.frames = incoming.frames;
      this.config = incoming.config;
      this.summary = null;
      this.analysis = null;
      this.status = "running";
    }
    this.touch();
  }

  settle() {
    if (!this.awaiting) return;
    this.awaiting = false;
    // A slider being dragged queued a newer run: send it now that this one moved.
    queueMicrotask(() => this.flush());
  }

  touch() {
    this.version += 1;
    this.series = null;
    this.onChange(this);
  }

  /** Column arrays for plotting, rebuilt only when the frames change. */
  columns() {
    if (this.series) return this.series;
    const frames = this.frames;
    const n = frames.length;
    const s = {
      step: new Array(n),
      x: new Array(n),
      y: new Array(n),
      loss: new Array(n),
      gnorm: new Array(n),
      lr: new Array(n),
    };
    for (let i = 0; i < n; i++) {
      const f = frames[i];
      s.step[i] = f.step;
      s.x[i] = f.x;
      s.y[i] = f.y;
      s.loss[i] = f.loss;
      s.gnorm[i] = norm2(f.grad);
      s.lr[i] = f.lr;
    }
    this.series = s;
    return s;
  }

  dispose() {
    this.channel.close();
  }
}
