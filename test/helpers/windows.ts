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
