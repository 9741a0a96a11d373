/** The most requests a vendor saw in any window of `durationMs`: a sliding log over their arrival times, as vendors count. */
export function busiestWindow(arrivals: readonly number[], durationMs: number): number {
  const at = [...arrivals].sort((a, b) => a - b);
  let best = 0;
  let lo = 0;
  for (let hi = 0; hi < at.length; hi++) {
    while (at[hi]! - at[lo]! >= durationMs) lo++;
    best = Math.max(best, hi - lo + 1);
  }
  return best;
}

/**
 * How many requests found the vendor's token bucket empty (each a 429 at the vendor): its bucket
 * replayed over their arrival times, as the vendor keeps it, full at the first arrival. A refused
 * request takes no token.
 */
export function emptyBucketArrivals(arrivals: readonly number[], bucket: { capacity: number; refillPerMinute: number }): number {
  const at = [...arrivals].sort((a, b) => a - b);
  const perMs = bucket.refillPerMinute / 60_000;
  let tokens = bucket.capacity;
  let last = at[0] ?? 0;
  let refused = 0;
  for (const t of at) {
    tokens = Math.min(bucket.capacity, tokens + (t - last) * perMs);
    last = t;
    // Both sides read a millisecond clock, each rounded down: two milliseconds of refill is
    // the most that rounding can hide.
    if (tokens < 1 - 2 * perMs) refused++;
    else tokens -= 1;
  }
  return refused;
}
