// Playback over the runs' steps. The playhead lives in the state: null follows the end of
// the runs (the state after any parameter change), a number pins it to that step.

export class Playback {
  /** `end()` gives the last step of the longest run. */
  constructor(state, end) {
    this.state = state;
    this.end = end;
    this.lastTick = 0;
    this.carry = 0;
  }

  current() {
    const end = this.end();
    return this.state.playhead === null ? end : Math.min(this.state.playhead, end);
  }

  /** Play from where the playhead is, or from step 0 when it is at the end. */
  play() {
    const end = this.end();
    if (end < 1) return;
    const at = this.current();
    this.lastTick = 0;
    this.carry = 0;
    this.state.set({ playing: true, playhead: this.state.playhead === null || at >= end ? 0 : at });
  }

  pause() {
    this.state.set({ playing: false });
  }

  step(delta) {
    const end = this.end();
    const next = Math.max(0, Math.min(end, this.current() + delta));
    this.state.set({ playing: false, playhead: next >= end ? null : next });
  }

  scrub(step) {
    this.state.set({ playing: false, playhead: step >= this.end() ? null : step });
  }

  /** Advance by `speed` steps per second of wall time; called once per animation frame. */
  tick(now) {
    if (!this.state.playing) return;
    if (!this.lastTick) {
      this.lastTick = now;
      return;
    }
    this.carry += ((now - this.lastTick) / 1000) * this.state.speed;
    this.lastTick = now;
    const whole = Math.floor(this.carry);
    if (whole < 1) return;
    this.carry -= whole;
    const next = (this.state.playhead ?? 0) + whole;
    if (next >= this.end()) this.state.set({ playing: false, playhead: null });
    else this.state.set({ playhead: next });
  }
}
