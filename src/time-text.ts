/** Times as the CLI, the dashboard, the progress lines and `report` print them. Pure. */

/**
 * A duration as people read it: `850ms`, `42s`, `3m 05s`, `2h 04m`; `-` for none (still running,
 * unknown). Rounded once, so 59.6 s is `1m 00s`, never `60s`. A negative one keeps its sign.
 */
export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '-';
  if (seconds < 0) return `-${formatDuration(-seconds)}`;
  if (seconds < 1) return `${Math.round(seconds * 1000)}ms`;
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** An instant as `2026-11-24 08:27:00Z` (UTC, whole seconds); `-` for none. */
export function formatInstant(d: Date | string | null | undefined): string {
  if (d === null || d === undefined) return '-';
  const iso = typeof d === 'string' ? d : d.toISOString();
  return iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

const INTERVAL_PARTS: Readonly<Record<string, number>> = {
  // Postgres' own extract(epoch FROM interval): a month is 30 days, a year 365.25.
  years: 365.25 * 86_400,
  months: 30 * 86_400,
  days: 86_400,
  hours: 3_600,
  minutes: 60,
  seconds: 1,
  milliseconds: 0.001,
};

/**
 * The seconds of an interval as node-postgres parses it (`{ minutes: 3, milliseconds: 319.8 }`
 * with a toPostgres method), to the microsecond; null when `v` is not one.
 */
export function intervalSeconds(v: unknown): number | null {
  if (v === null || typeof v !== 'object' || typeof (v as { toPostgres?: unknown }).toPostgres !== 'function') return null;
  let total = 0;
  for (const [k, n] of Object.entries(v)) {
    const unit = INTERVAL_PARTS[k];
    if (unit === undefined || typeof n !== 'number') return null;
    total += n * unit;
  }
  return Math.round(total * 1e6) / 1e6;
}
