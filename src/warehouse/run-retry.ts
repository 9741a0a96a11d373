import type { Kysely } from 'kysely';
import type { ResolvedSource } from '../sources.js';
import { plannedWalks } from '../queue/walk-start.js';
import type { Database } from './db.js';
import { insertRun, insertWalks, type RunRow } from './walks.js';

/** A walk of a finished run that did not succeed: what `runs retry` walks again. */
export interface RetryTarget {
  resource: string;
  scope: string;
  /** The walk's `since` (a backfill's date), kept for the retry. */
  since: Date | null;
}

/** The walks of a run that failed or were cancelled, one per (resource, scope). */
export async function retryTargets(db: Kysely<Database>, runId: string): Promise<RetryTarget[]> {
  const rows = await db
    .selectFrom('sync_walks')
    .select(['resource', 'scope', 'since'])
    .where('run_id', '=', runId)
    .where('status', 'in', ['failed', 'cancelled'])
    .orderBy('id')
    .execute();
  return rows.map((r) => ({ resource: r.resource, scope: r.scope, since: r.since === null ? null : new Date(r.since) }));
}

/**
 * The resources a retry run carries: those of the walks it retries, and the resources of the
 * original run nested (at any depth) under them, whose walks a failed parent never started; they
 * start when the retried parent walk completes. In the vendor's order.
 */
export function retryResources(src: Pick<ResolvedSource, 'vendor'>, original: readonly string[], targets: readonly RetryTarget[]): string[] {
  const parentOf = new Map(src.vendor.resources.map((r) => [r.name, r.parent]));
  const retried = new Set(targets.map((t) => t.resource));
  const under = (name: string): boolean => {
    for (let p = parentOf.get(name); p !== undefined; p = parentOf.get(p)) if (retried.has(p)) return true;
    return false;
  };
  return src.vendor.resources.map((r) => r.name).filter((n) => retried.has(n) || (original.includes(n) && under(n)));
}

/**
 * Inserts the retry of `run`: a new running run (trigger `retry:<id>`, the same mode) with one
 * fresh walk, from the first page, per target. Throws the unique violation (23505) when the source
 * has a running run already. Returns the new run's id.
 */
export async function insertRetryRun(db: Kysely<Database>, src: ResolvedSource, run: Pick<RunRow, 'id' | 'mode' | 'resources'>, targets: readonly RetryTarget[]): Promise<string> {
  const resources = retryResources(src, run.resources, targets);
  return db.transaction().execute(async (trx) => {
    const runId = await insertRun(trx, { sourceId: src.id, vendor: src.vendor.vendor, trigger: `retry:${run.id}`, mode: run.mode, resources });
    for (const t of targets) {
      const def = src.vendor.resources.find((r) => r.name === t.resource);
      if (!def) continue;
      await insertWalks(trx, await plannedWalks(trx, { runId, src, def, scopes: [t.scope], runMode: run.mode, runSince: t.since, parentWalkId: null }));
    }
    return runId;
  });
}
