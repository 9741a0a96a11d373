import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database } from './db.js';

type Db = Kysely<Database> | Transaction<Database>;

/** A resource of a source paused by a plan-restriction 402 (docs/toggl.md), until `fleetsync resume`. */
export interface ResourcePause {
  resource: string;
  pausedAt: Date;
  status: number | null;
  /** The failure that paused it: where, the vendor's status and message, and how to resume. */
  reason: string;
  requestId: string | null;
  /** The run whose walk met the 402. */
  runId: string | null;
}

/** What pauses a page's walk, read in one query per page: its source's pause and its resource's. */
export interface WalkPauses {
  /** The source's pause (`pause` command or a 402 that stops the whole account); null when none. */
  source: { reason: string | null } | null;
  resource: { reason: string; status: number | null } | null;
}

/** Pauses a resource of a source with the failure that paused it; idempotent, the latest failure wins. */
export async function pauseResource(db: Db, p: { sourceId: string; resource: string; status: number | null; reason: string; requestId: string | null; runId: string | null }): Promise<void> {
  const row = { source_id: p.sourceId, resource: p.resource, status: p.status, reason: p.reason, request_id: p.requestId, run_id: p.runId };
  await db
    .insertInto('sync_paused_resources')
    .values(row)
    .onConflict((oc) => oc.columns(['source_id', 'resource']).doUpdateSet({ status: p.status, reason: p.reason, request_id: p.requestId, run_id: p.runId, paused_at: sql`now()` }))
    .execute();
}

/**
 * Resumes paused resources of a source: those named, or all of them when `resources` is null.
 * Returns the pauses it lifted (none for a resource that was not paused).
 */
export async function resumeResources(db: Db, sourceId: string, resources: readonly string[] | null): Promise<ResourcePause[]> {
  let q = db.deleteFrom('sync_paused_resources').where('source_id', '=', sourceId);
  if (resources !== null) {
    if (resources.length === 0) return [];
    q = q.where('resource', 'in', [...resources]);
  }
  return (await q.returningAll().execute()).map(toPause).sort((a, b) => a.resource.localeCompare(b.resource));
}

/** The paused resources of a source, by name. */
export async function pausedResources(db: Db, sourceId: string): Promise<Map<string, ResourcePause>> {
  const rows = await db.selectFrom('sync_paused_resources').selectAll().where('source_id', '=', sourceId).orderBy('resource').execute();
  return new Map(rows.map((r) => [r.resource, toPause(r)]));
}

/** The paused resources of these sources (all sources when null), in source then resource order. */
export async function pausedResourcesOf(db: Db, sourceIds: readonly string[] | null): Promise<Array<ResourcePause & { sourceId: string }>> {
  if (sourceIds !== null && sourceIds.length === 0) return [];
  let q = db.selectFrom('sync_paused_resources').selectAll().orderBy('source_id').orderBy('resource');
  if (sourceIds !== null) q = q.where('source_id', 'in', [...sourceIds]);
  return (await q.execute()).map((r) => ({ sourceId: r.source_id, ...toPause(r) }));
}

/** The source's pause and the resource's, in one round trip (every page job asks before its request). */
export async function walkPauses(db: Db, sourceId: string, resource: string): Promise<WalkPauses> {
  const rows = await sql<{ kind: 'source' | 'resource'; reason: string | null; status: number | null }>`
    SELECT 'source' AS kind, paused_reason AS reason, NULL::int AS status FROM sync_sources WHERE source_id = ${sourceId} AND paused_at IS NOT NULL
    UNION ALL
    SELECT 'resource', reason, status FROM sync_paused_resources WHERE source_id = ${sourceId} AND resource = ${resource}`.execute(db);
  const source = rows.rows.find((r) => r.kind === 'source');
  const res = rows.rows.find((r) => r.kind === 'resource');
  return { source: source ? { reason: source.reason } : null, resource: res ? { reason: res.reason ?? '', status: res.status } : null };
}

/** Adds resources a running run skips because they are paused to what it records; resources it already records keep their reason. */
export async function recordRunSkips(db: Db, runId: string, skips: Readonly<Record<string, string>>): Promise<void> {
  if (Object.keys(skips).length === 0) return;
  // `||` keeps the right side's keys: the recorded reasons win over the new ones.
  await db
    .updateTable('sync_runs')
    .set({ paused_resources: sql`${JSON.stringify(skips)}::jsonb || paused_resources` })
    .where('id', '=', runId)
    .execute();
}

function toPause(r: { resource: string; paused_at: Date; status: number | null; reason: string; request_id: string | null; run_id: string | null }): ResourcePause {
  return { resource: r.resource, pausedAt: r.paused_at, status: r.status, reason: r.reason, requestId: r.request_id, runId: r.run_id };
}
