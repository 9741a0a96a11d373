/**
 * The loopback simulators' rate limiter: fixed windows counted per simulator (HttpSimulator's
 * dispatch step 2). The clock is the caller's (tests replace it), read once per decision.
 */

export interface RateWindow {
  max: number;
  windowMs: number;
  /** When false the window is only counted/reported (e.g. for x-ratelimit-* headers), never enforced. Default true. */
  enforce?: boolean;
  /**
   * Windows start at multiples of windowMs since the epoch (a vendor that reports its reset as an
   * epoch second keys its windows on the clock) instead of at the first request. Default false.
   */
  aligned?: boolean;
}

export interface RateLimitStatus {
  limit: number;
  remaining: number;
  /** Epoch ms when the window resets. */
  resetAt: number;
}

interface WindowState {
  cfg: RateWindow;
  start: number;
  count: number;
}

/** A request must fit in every enforced window; every window counts it. */
export class RateWindows {
  private windows: WindowState[] = [];

  /** Replace the configuration (resets counters). `undefined` disables the limiter. */
  configure(rateLimit: RateWindow | RateWindow[] | undefined): void {
    const list = rateLimit === undefined ? [] : Array.isArray(rateLimit) ? rateLimit : [rateLimit];
    for (const w of list) {
      if (!(w.max >= 1) || !(w.windowMs >= 1)) throw new Error(`invalid rate window ${JSON.stringify(w)}`);
    }
    this.windows = list.map((cfg) => ({ cfg, start: 0, count: 0 }));
  }

  reset(): void {
    for (const w of this.windows) {
      w.start = 0;
      w.count = 0;
    }
  }

  /** Status of the first configured window, or null without limiter. */
  status(clock: () => number): RateLimitStatus | null {
    const w = this.windows[0];
    if (!w) return null;
    const now = clock();
    roll(w, now);
    return {
      limit: w.cfg.max,
      remaining: Math.max(0, w.cfg.max - w.count),
      resetAt: (w.start === 0 ? now : w.start) + w.cfg.windowMs,
    };
  }

  /** Counts a request; returns Retry-After seconds if it must be rejected, else null. */
  consume(clock: () => number): number | null {
    if (this.windows.length === 0) return null;
    const now = clock();
    let retryMs = -1;
    for (const w of this.windows) {
      roll(w, now);
      if ((w.cfg.enforce ?? true) && w.count >= w.cfg.max) {
        retryMs = Math.max(retryMs, w.start + w.cfg.windowMs - now);
      }
    }
    if (retryMs >= 0) return Math.max(1, Math.ceil(retryMs / 1000));
    for (const w of this.windows) w.count++;
    return null;
  }
}

function roll(w: WindowState, now: number): void {
  if (w.start === 0 || now >= w.start + w.cfg.windowMs) {
    w.start = w.cfg.aligned ? now - (now % w.cfg.windowMs) : now;
    w.count = 0;
  }
}
