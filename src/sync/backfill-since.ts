/**
 * Which resources a backfill's `--since` narrows: only those whose vendor filters by update time
 * (a resource definition with `incremental`); the others walk fully. Pure.
 */

/** A resource as far as `--since` is concerned. */
export interface SinceCapable {
  name: string;
  incremental?: unknown;
}

/** The asked resources split into those `--since` narrows and those that walk fully anyway. */
export function sinceCoverage(defs: readonly SinceCapable[], asked: readonly string[]): { narrowed: string[]; full: string[] } {
  const byName = new Map(defs.map((d) => [d.name, d]));
  const narrowed = asked.filter((n) => byName.get(n)?.incremental !== undefined);
  return { narrowed, full: asked.filter((n) => !narrowed.includes(n)) };
}

/**
 * The refusal of a `--since` that narrows nothing (every asked resource walks fully: the flag
 * would be silently ignored), or null when it narrows at least one.
 */
export function sinceRefusal(sourceId: string, vendor: string, coverage: { narrowed: readonly string[]; full: readonly string[] }): string | null {
  if (coverage.narrowed.length > 0) return null;
  return `--since: ${vendor} filters none of ${coverage.full.join(', ')} of ${sourceId} by update time, so a backfill walks them fully anyway; leave out --since`;
}
