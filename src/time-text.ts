/** Times as the CLI, the dashboard and the progress lines print them. */

/** A duration as people read it: `850ms`, `42s`, `3m 05s`, `2h 04m`; `-` for none (still running, unknown). */
export function formatDuration(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return '-';
  if (seconds < 1) return `${Math.round(seconds * 1000)}ms`;
  if (seconds < 60) return `${Math.round(seconds)}s`;
  const s = Math.round(seconds);
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** An instant as `2026-11-24 08:27:00Z` (UTC, whole seconds); `-` for none. */
export function formatInstant(d: Date | string | null): string {
  if (d === null) return '-';
  const iso = typeof d === 'string' ? d : d.toISOString();
  return iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}
