import type { RateWindow, TokenBucket } from '../config.js';

// How long requests take at the least under a lane's limits: `sync --dry-run`'s estimate. Pure.

/**
 * The least time `n` requests take through a lane whose gate holds these windows and token
 * bucket, each sent as soon as the limits allow: in a window of `max` per `durationMs`, request
 * k (from 0) goes no earlier than floor(k / max) windows after the first; a bucket lets
 * `capacity` go at once and then one per refill. Response times come on top.
 */
export function minDurationMs(n: number, limit: { windows: readonly RateWindow[]; tokenBucket?: TokenBucket | undefined }): number {
  if (n <= 0) return 0;
  let ms = 0;
  for (const w of limit.windows) ms = Math.max(ms, Math.floor((n - 1) / w.max) * w.durationMs);
  const b = limit.tokenBucket;
  if (b && n > b.capacity) ms = Math.max(ms, Math.ceil(((n - b.capacity) / b.refillPerMinute) * 60_000));
  return ms;
}

/** A walk's expected requests: its pages in the last completed walk, or 1 (at least the first page) when none is known. */
export function expectedRequests(pages: number | null): number {
  return pages === null ? 1 : Math.max(1, pages);
}
