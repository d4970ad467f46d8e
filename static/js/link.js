// The page's link: the state written into the address bar (state.js encodes it), at once
// where the browser allows, so a copied or bookmarked URL is always the view on screen.

/** Chrome drops replaceState calls beyond 200 in 10 s: stay under half of that. */
const BUDGET = 100;
const WINDOW_MS = 10000;
const RETRY_MS = 100;

export class LinkWriter {
  /** `encode()`: the query string of the state now; `held()`: a slider is being dragged. */
  constructor(encode, held) {
    this.encode = encode;
    this.held = held;
    this.timer = 0;
    this.writes = [];
  }

  /** Write the link now. */
  write() {
    const query = this.encode();
    if (query !== location.search) {
      history.replaceState(null, "", `${location.pathname}${query}${location.hash}`);
    }
  }

  /**
   * Write on every change, at once while under the browser's budget; a long slider drag
   * falls back to a trailing write every 100 ms.
   */
  save() {
    // A slider in live drag writes once it rests (replaceState takes ~2 ms, a frame's eighth).
    if (this.held()) {
      clearTimeout(this.timer);
      this.timer = setTimeout(() => this.save(), RETRY_MS);
      return;
    }
    const now = performance.now();
    this.writes = this.writes.filter((t) => now - t < WINDOW_MS);
    clearTimeout(this.timer);
    if (this.writes.length < BUDGET) {
      this.writes.push(now);
      this.write();
    } else {
      this.timer = setTimeout(() => {
        this.writes.shift();
        this.save();
      }, RETRY_MS);
    }
  }
}
