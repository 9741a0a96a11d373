import type { ScheduleConfig } from '../config.js';
import type { SourceInfo } from '../source-registry.js';

// Which sources a schedule's firing starts, and when: pure, so the spreading is tested without a clock.

/** The part of a schedule that chooses its sources. */
export type SourceChoice = Pick<ScheduleConfig, 'sources' | 'select'>;

/**
 * The sources a firing starts: the ones named in `sources`, plus every known source matching
 * `select` (its vendor is one of the vendors given, and it carries every tag given). Neither given:
 * every known source. Names keep their order; selected ones follow in the registry's order, once.
 */
export function selectSources(choice: SourceChoice, known: readonly SourceInfo[]): string[] {
  if (!choice.sources && !choice.select) return known.map((s) => s.id);
  const out = new Set(choice.sources ?? []);
  const sel = choice.select;
  if (sel) {
    const vendors = sel.vendor === undefined ? null : new Set(Array.isArray(sel.vendor) ? sel.vendor : [sel.vendor]);
    for (const s of known) {
      if (vendors && !vendors.has(s.vendor)) continue;
      if (sel.tags && !sel.tags.every((t) => s.tags.includes(t))) continue;
      out.add(s.id);
    }
  }
  return [...out];
}

/**
 * When each of `n` runs of a firing starts, in ms after the firing: evenly spread so that at most
 * `maxPerMinute` start in any minute (1,000 sources at 1,200 a minute: one every 50 ms, the last
 * after 50 s), instead of all hitting Postgres and the vendor in the same second.
 */
export function startDelays(n: number, maxPerMinute: number): number[] {
  const gap = 60_000 / maxPerMinute;
  return Array.from({ length: n }, (_, i) => Math.floor(i * gap));
}
