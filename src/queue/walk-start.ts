import type { Kysely, Transaction } from 'kysely';
import { DEFAULT_FULL_WALK_EVERY_MS } from '../config.js';
import type { ResourceDefinition } from '../connector.js';
import type { ResolvedSource } from '../sources.js';
import { DEFAULT_OVERLAP_MS, FULL_WALK, needsHistory, newWalkValues, planWalks } from '../sync/walk-plan.js';
import type { Database } from '../warehouse/db.js';
import { runPausedResources, runSkips } from '../sync/paused-resources.js';
import { pausedResources, recordRunSkips } from '../warehouse/resource-pauses.js';
import { disabledResources } from '../warehouse/source-state.js';
import { finalizeRunIfDone, insertRun, insertWalks, liveParentRows, scopeHistory, type NewWalkValues, type RunEnd, type WalkRow } from '../warehouse/walks.js';

/** Which walks of one resource to create. */
export interface WalkRequest {
  runId: string;
  src: ResolvedSource;
  def: ResourceDefinition;
  scopes: readonly string[];
  runMode: 'full' | 'incremental';
  runSince: Date | null;
  parentWalkId: string | null;
}

/** The new walks of one resource, each planned full or incremental (reads the scopes' history only when it matters). */
export async function plannedWalks(trx: Transaction<Database>, req: WalkRequest): Promise<NewWalkValues[]> {
  const { src, def, scopes } = req;
  const input = { scopes, runMode: req.runMode, runSince: req.runSince, incremental: def.incremental !== undefined };
  const history = needsHistory(input) ? await scopeHistory(trx, src.id, def.name, scopes) : [];
  const plans = planWalks({
    ...input,
    overlapMs: def.incremental?.overlapMs ?? DEFAULT_OVERLAP_MS,
    fullWalkEveryMs: src.config.fullWalkEvery ?? DEFAULT_FULL_WALK_EVERY_MS,
    now: Date.now(),
    history,
  });
  return scopes.map((scope) => newWalkValues(req.runId, src, def, scope, req.parentWalkId, plans.get(scope) ?? FULL_WALK));
}

/**
 * Inside the transaction that completed `walk`: starts the walks nested under its resource, one
 * per live parent row of the walk's scope (resources of the run that are not disabled or paused), then
 * ends the run if nothing else runs (returning that end, to be reported after the commit).
 */
export async function startChildWalks(trx: Transaction<Database>, src: ResolvedSource, def: ResourceDefinition, walk: WalkRow): Promise<RunEnd | null> {
  const run = await trx.selectFrom('sync_runs').select(['resources', 'mode', 'paused_resources']).where('id', '=', walk.run_id).executeTakeFirstOrThrow();
  const disabled = await disabledResources(trx, src.id);
  const nested = src.vendor.resources.filter((r) => r.parent === def.name && run.resources.includes(r.name) && !disabled.has(r.name));
  const paused = nested.length > 0 ? await pausedResources(trx, src.id) : new Map<string, { reason: string }>();
  // A resource paused since the run started (by a run beside it) is skipped too, and recorded.
  await recordRunSkips(trx, walk.run_id, runSkips(nested.map((r) => r.name), paused, runPausedResources(run.paused_resources)));
  const children = nested.filter((r) => !paused.has(r.name));
  if (children.length > 0) {
    const parents = await liveParentRows(trx, def.table, src.id, walk.scope);
    const values: NewWalkValues[] = [];
    for (const child of children) {
      const scopes: string[] = [];
      for (const p of parents) {
        const scope = child.scopeFrom ? child.scopeFrom({ external_id: p.external_id, raw: p.raw, scope: walk.scope }) : p.external_id;
        if (scope !== null) scopes.push(scope);
      }
      const since = walk.since === null ? null : new Date(walk.since);
      values.push(...(await plannedWalks(trx, { runId: walk.run_id, src, def: child, scopes, runMode: run.mode, runSince: since, parentWalkId: walk.id })));
    }
    await insertWalks(trx, values);
  }
  return finalizeRunIfDone(trx, walk.run_id);
}

/** A vendor resource of a source; throws when the vendor has none of that name. */
export function definitionOf(src: ResolvedSource, resource: string): ResourceDefinition {
  const def = src.vendor.resources.find((r) => r.name === resource);
  if (!def) throw new Error(`${src.id}: vendor ${src.vendor.vendor} has no resource "${resource}"`);
  return def;
}

/** What a new run is: its source, resources, mode and trigger, and a backfill's `since`. */
export interface NewRun {
  src: ResolvedSource;
  resources: string[];
  mode: 'full' | 'incremental';
  trigger: string;
  since: Date | null;
}

/**
 * Inserts a running run and its root walks (resources not nested under another, not disabled, not
 * paused) in one transaction; ends it at once when it has none. The run records which of its
 * resources it skips because they are paused (sync_runs.paused_resources). Throws the unique
 * violation (23505) when the source already has a running run of its kind.
 */
export async function insertRunWithRoots(db: Kysely<Database>, run: NewRun): Promise<{ runId: string; emptyEnd: RunEnd | null }> {
  const { src } = run;
  const disabled = await disabledResources(db, src.id);
  const paused = await pausedResources(db, src.id);
  return db.transaction().execute(async (trx) => {
    const runId = await insertRun(trx, { sourceId: src.id, vendor: src.vendor.vendor, trigger: run.trigger, mode: run.mode, resources: run.resources });
    await recordRunSkips(trx, runId, runSkips(run.resources, paused));
    const roots = run.resources.filter((r) => !definitionOf(src, r).parent && !disabled.has(r) && !paused.has(r));
    // One root walk per root scope: '-' unless the vendor walks each of several (OUs).
    const scopes = src.vendor.rootScopes?.() ?? ['-'];
    for (const r of roots) {
      await insertWalks(trx, await plannedWalks(trx, { runId, src, def: definitionOf(src, r), scopes, runMode: run.mode, runSince: run.since, parentWalkId: null }));
    }
    return { runId, emptyEnd: roots.length === 0 ? await finalizeRunIfDone(trx, runId) : null };
  });
}
