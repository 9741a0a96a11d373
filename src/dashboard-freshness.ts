import type { Kysely } from 'kysely';
import { formatDuration } from './time-text.js';
import { measureFreshness } from './freshness.js';
import type { SourceConfig } from './config.js';
import type { Database } from './warehouse/db.js';
import { lastSucceededWalks } from './warehouse/run-history.js';

function esc(v: unknown): string {
  return String(v ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);
}

/**
 * The overview's freshness cell of each source: its stale resources with how long ago they last
 * succeeded and their threshold (`devices 30h ago, freshness 6h`), or `fresh` with the tightest
 * threshold; `-` before a first success. Keyed by source id.
 */
export async function freshnessCells(db: Kysely<Database>, sourceIds: readonly string[], configOf: (id: string) => Pick<SourceConfig, 'freshness'> | undefined, now = Date.now()): Promise<Map<string, string>> {
  const measured = measureFreshness(await lastSucceededWalks(db, sourceIds), configOf, now);
  const cells = new Map<string, string>();
  for (const id of sourceIds) {
    const mine = measured.filter((f) => f.source === id);
    if (mine.length === 0) {
      cells.set(id, '-');
      continue;
    }
    const stale = mine.filter((f) => f.overdueMs > 0);
    const ago = (at: Date) => formatDuration((now - at.getTime()) / 1000);
    cells.set(
      id,
      stale.length > 0
        ? `<span class="failed stale">stale: ${stale.map((f) => `${esc(f.resource)} ${esc(ago(f.lastSuccess))} ago, freshness ${esc(formatDuration(f.thresholdMs / 1000))}`).join('; ')}</span>`
        : `<span class="succeeded">fresh</span> (within ${esc(formatDuration(Math.min(...mine.map((f) => f.thresholdMs)) / 1000))})`,
    );
  }
  return cells;
}
