import { sql, type Kysely } from 'kysely';
import type { SourceInfo } from './source-registry.js';
import { table } from './status.js';
import type { Database } from './warehouse/db.js';
import { countHeldSweeps } from './warehouse/held-sweeps.js';
import { pausedResourcesOf } from './warehouse/resource-pauses.js';

/** Above this many sources, `status` without --source or --all summarizes instead of listing each. */
export const STATUS_SUMMARY_ABOVE = 20;

/** One source that needs a look, and why. */
export interface SourceAttention {
  sourceId: string;
  vendor: string;
  why: string[];
}

/** `status` over many sources: counts, and the sources that need attention first. */
export interface StatusSummary {
  sources: number;
  fromConfig: number;
  fromDatabase: number;
  running: number;
  paused: number;
  lastRunFailed: number;
  heldSweeps: number;
  neverSynced: number;
  attention: SourceAttention[];
}

/** Reads the summary in five queries, whatever the number of sources. */
export async function collectSummary(db: Kysely<Database>, sources: readonly SourceInfo[]): Promise<StatusSummary> {
  const known = new Set(sources.map((s) => s.id));
  const paused = new Map((await db.selectFrom('sync_sources').select(['source_id', 'paused_reason']).where('paused_at', 'is not', null).execute()).map((r) => [r.source_id, r.paused_reason]));
  const last = await sql<{ source_id: string; status: string; error_message: string | null }>`
    SELECT DISTINCT ON (source_id) source_id, status, error_message FROM sync_runs ORDER BY source_id, id DESC`.execute(db);
  const lastBy = new Map(last.rows.map((r) => [r.source_id, r]));
  const held = new Map<string, number>();
  for (const h of await countHeldSweeps(db)) held.set(h.source_id, (held.get(h.source_id) ?? 0) + h.n);
  const pausedRes = new Map<string, string[]>();
  for (const p of await pausedResourcesOf(db, null)) pausedRes.set(p.sourceId, [...(pausedRes.get(p.sourceId) ?? []), p.resource]);
  const attention: SourceAttention[] = [];
  for (const s of sources) {
    const why: string[] = [];
    if (paused.has(s.id)) why.push(`paused: ${paused.get(s.id) ?? ''}`);
    for (const r of pausedRes.get(s.id) ?? []) why.push(`resource ${r} paused`);
    const run = lastBy.get(s.id);
    if (run && (run.status === 'failed' || run.status === 'partial')) why.push(`last run ${run.status}: ${run.error_message ?? ''}`);
    if (held.has(s.id)) why.push(`${held.get(s.id)} held sweep(s)`);
    if (why.length) attention.push({ sourceId: s.id, vendor: s.vendor, why });
  }
  const count = (f: (id: string) => boolean) => sources.filter((s) => f(s.id)).length;
  return {
    sources: sources.length,
    fromConfig: sources.filter((s) => s.origin === 'config').length,
    fromDatabase: sources.filter((s) => s.origin === 'database').length,
    running: last.rows.filter((r) => r.status === 'running' && known.has(r.source_id)).length,
    paused: count((id) => paused.has(id)),
    lastRunFailed: count((id) => ['failed', 'partial'].includes(lastBy.get(id)?.status ?? '')),
    heldSweeps: count((id) => held.has(id)),
    neverSynced: count((id) => !lastBy.has(id)),
    attention,
  };
}

/** The summary for a terminal: counts, then at most `limit` sources that need attention. */
export function formatSummary(s: StatusSummary, limit: number): string {
  const lines = [
    `${s.sources} sources (${s.fromConfig} in the config file, ${s.fromDatabase} in Postgres): ${s.running} running, ${s.paused} paused, ${s.lastRunFailed} whose last run failed, ${s.heldSweeps} with held sweeps, ${s.neverSynced} never synced`,
  ];
  if (s.attention.length === 0) lines.push('nothing needs attention');
  else {
    lines.push('', `needs attention (${s.attention.length}${s.attention.length > limit ? `, first ${limit}` : ''}):`);
    lines.push(...table([['  source', 'vendor', 'why'], ...s.attention.slice(0, limit).map((a) => [`  ${a.sourceId}`, a.vendor, a.why.join('; ').slice(0, 160)])]));
  }
  lines.push('', 'one source in full: fleetsync status --source ID; every source in full: fleetsync status --all');
  return lines.join('\n');
}
