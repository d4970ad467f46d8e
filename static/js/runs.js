// One run slot: its WebSocket, the frames on screen and the run streaming in behind them,
// and while a slider moves a preview (a path from a sweep, live.js) standing in for the run.

import { RunChannel } from "./api.js";
import { norm2 } from "./format.js";

/** A new run stays behind the one on screen until it is as long, done, or this old (ms). */
const SWAP_AFTER_MS = 120;

let sequence = 0;

export class RunSlot {
  /**
   * `config`, `frames`, `status` and `summary` always describe the last exact run shown, so
   * they can be compared with `POST /api/runs` for `config`. While `preview` is set, the page
   * draws it instead: {key, columns, length, name, value, target, status}, the swept path
   * nearest to the request whose JSON is `key`; the exact run of `key` replaces it.
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
    this.preview = null;
    /** Show a new run's first frames at once (the start point being dragged), no hold. */
    this.eager = false;
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
    // While the start is dragged the newest run goes at once (the server cancels the one in
    // flight); otherwise after the one in flight has shown progress.
    if (!this.pending || (this.awaiting && !this.eager)) return;
    const config = this.pending;
    this.pending = null;
    sequence += 1;
    const requestId = `${this.id}.${sequence}`;
    this.incoming = { requestId, config, key: JSON.stringify(config), frames: [], firstAt: 0 };
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
      // A preview of this very request holds the screen until the run is as long; an old
      // path is held up to SWAP_AFTER_MS (a run of a new request often starts far away).
      const ready = this.previews(incoming)
        ? incoming.frames.length >= this.preview.length
        : this.eager ||
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
      this.preview = null;
      // The frames on screen belong to an older request: the page must not show them as
      // this run's. Frames this very request streamed before failing stay.
      if (this.frames !== incoming.frames) {
        this.frames = [];
        this.config = incoming.config;
      }
      this.summary = null;
      this.status = "error";
      this.error = message.detail;
      this.analysis = null;
      this.incoming = null;
      this.settle();
      this.touch();
    }
  }

  /** Whether the run of request `key` (its JSON) is queued or streaming here. */
  awaits(key) {
    const pending = this.pending && JSON.stringify(this.pending) === key;
    return Boolean(pending || (this.incoming && this.incoming.key === key));
  }

  /** Whether the preview on screen stands for `incoming`'s request. */
  previews(incoming) {
    return this.preview !== null && this.preview.key === incoming.key;
  }

  /**
   * Put a preview on screen (null takes it off). The version stays: it counts exact frames,
   * and the plots redraw a preview on their own fast path (landscape.js, charts.js).
   */
  setPreview(preview) {
    this.preview = preview;
  }

  /** Frames on screen: the preview's, or the run's. */
  get length() {
    return this.preview ? this.preview.length : this.frames.length;
  }

  show(incoming) {
    if (this.previews(incoming)) this.preview = null;
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

  /**
   * Column arrays for plotting, rebuilt only when the frames change. A Schedule-Free run's
   * frames are its evaluation points and carry the training point (`train_point`, where the
   * gradient is taken): its columns add `tx`, `ty`, `tloss` (else those are null).
   */
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
      tx: null,
      ty: null,
      tloss: null,
      // A sharpness-aware run's frames carry the ascent point of the step leaving them.
      ascent: n > 0 && Array.isArray(frames[0].ascent),
    };
    const train = n > 0 && Array.isArray(frames[0].train_point);
    if (train) {
      s.tx = new Array(n);
      s.ty = new Array(n);
      s.tloss = new Array(n);
    }
    for (let i = 0; i < n; i++) {
      const f = frames[i];
      s.step[i] = f.step;
      s.x[i] = f.x;
      s.y[i] = f.y;
      s.loss[i] = f.loss;
      s.gnorm[i] = norm2(f.grad);
      // An optimizer without a learning rate (AliG) says null: a gap in the lr chart.
      s.lr[i] = f.lr ?? null;
      if (train) {
        const t = f.train_point;
        s.tx[i] = t ? t[0] : null;
        s.ty[i] = t ? t[1] : null;
        s.tloss[i] = f.train_loss ?? null;
      }
    }
    this.series = s;
    return s;
  }

  dispose() {
    this.channel.close();
  }
}
