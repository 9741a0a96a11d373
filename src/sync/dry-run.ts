import { sql, type Kysely, type Transaction } from 'kysely';
import { DEFAULT_FULL_WALK_EVERY_MS } from '../config.js';
import type { ResourceDefinition } from '../connector.js';
import { laneWindows, quotaPerHour } from '../queue/quota.js';
import { expandResources, type ResolvedSource } from '../sources.js';
import { laneLimitText } from '../status.js';
import type { Database } from '../warehouse/db.js';
import { pausedResources } from '../warehouse/resource-pauses.js';
import { disabledResources, sourcePause } from '../warehouse/source-state.js';
import { findRunningRun, liveParentRows, scopeHistory } from '../warehouse/walks.js';
import { expectedRequests, minDurationMs } from './request-estimate.js';
import { DEFAULT_OVERLAP_MS, FULL_WALK, planWalks } from './walk-plan.js';

// What `sync --dry-run` shows: the walks a run would start (root scopes, and the scopes of nested
// resources from the parent rows the last walks left), each one's pages in the last completed walk
// of its scope, and the least time that many requests take under the lanes' limits. Reads only.

/** One walk the run would make. */
export interface DryRunWalk {
  resource: string;
  scope: string;
  mode: 'full' | 'incremental';
  lane: string;
  /** Pages of the last succeeded walk of this scope (of the same mode where there is one); null: never walked. */
  pages: number | null;
  /** That walk: its run, mode and end. */
  from: { runId: string; mode: 'full' | 'incremental'; finishedAt: string } | null;
  /** Requests expected: the pages (1 when never walked), none for a list the connector holds itself. */
  requests: number;
}

/** One lane's share. */
export interface DryRunLane {
  lane: string;
  limit: string;
  requests: number;
  minDurationMs: number;
}

/** The whole dry run. */
export interface DryRunPlan {
  source: string;
  mode: 'full' | 'incremental';
  resources: string[];
  /** Resources disabled by a 410 (`fleetsync enable`): not walked, nor what is nested under them. */
  disabled: string[];
  /** Resources a plan-restriction 402 paused (`fleetsync resume --resource`): not walked, nor what is nested under them. */
  pausedResources: string[];
  /** A running run `sync` would join instead of starting one. */
  joins: string | null;
  /** Why the source is paused, when it is: the run would wait for `resume`. */
  paused: string | null;
  walks: DryRunWalk[];
  lanes: DryRunLane[];
  /** Requests in all (a walk never walked counts 1), and the walks among them never walked. */
  requests: number;
  unknownWalks: number;
  /** The slowest lane's least time: lanes run side by side. */
  minDurationMs: number;
}

type LastWalks = Map<string, { pages: number; runId: string; finishedAt: Date }>;
const key = (resource: string, scope: string, mode: string) => `${resource}\u0000${scope}\u0000${mode}`;

/** The last succeeded walk of every (resource, scope, mode) of the source. */
async function lastWalks(trx: Transaction<Database>, sourceId: string): Promise<LastWalks> {
  const rows = await trx
    .selectFrom('sync_walks')
    .select(['resource', 'scope', 'mode', 'pages', 'run_id', sql<Date>`finished_at`.as('finished_at')])
    .distinctOn(['resource', 'scope', 'mode'])
    .where('source_id', '=', sourceId)
    .where('status', '=', 'succeeded')
    .orderBy('resource')
    .orderBy('scope')
    .orderBy('mode')
    .orderBy('finished_at', 'desc')
    .execute();
  return new Map(rows.map((r) => [key(r.resource, r.scope, r.mode), { pages: r.pages, runId: r.run_id, finishedAt: new Date(r.finished_at) }]));
}

/** The walks of one resource over its scopes, planned full or incremental as the engine would. */
async function walksOf(trx: Transaction<Database>, src: ResolvedSource, def: ResourceDefinition, scopes: string[], ctx: { mode: 'full' | 'incremental'; last: LastWalks }): Promise<DryRunWalk[]> {
  const history = ctx.mode === 'incremental' && def.incremental ? await scopeHistory(trx, src.id, def.name, scopes) : [];
  const plans = planWalks({ scopes, runMode: ctx.mode, runSince: null, incremental: def.incremental !== undefined, overlapMs: def.incremental?.overlapMs ?? DEFAULT_OVERLAP_MS, fullWalkEveryMs: src.config.fullWalkEvery ?? DEFAULT_FULL_WALK_EVERY_MS, now: Date.now(), history });
  return scopes.map((scope) => {
    const mode = (plans.get(scope) ?? FULL_WALK).mode;
    const other = mode === 'full' ? 'incremental' : 'full';
    const last = ctx.last.get(key(def.name, scope, mode)) ?? ctx.last.get(key(def.name, scope, other));
    const from = last ? { runId: last.runId, mode: ctx.last.has(key(def.name, scope, mode)) ? mode : other, finishedAt: last.finishedAt.toISOString() } : null;
    const pages = last?.pages ?? null;
    return { resource: def.name, scope, mode, lane: def.lane, pages, from, requests: def.pagination.kind === 'static' ? 0 : expectedRequests(pages) };
  });
}

/** The scopes of a nested resource: one per live row of its parent in each scope the parent is walked in. */
async function childScopes(trx: Transaction<Database>, src: ResolvedSource, def: ResourceDefinition, parent: { table: ResourceDefinition['table']; scopes: readonly string[] }): Promise<string[]> {
  const out: string[] = [];
  for (const s of parent.scopes) {
    for (const row of await liveParentRows(trx, parent.table, src.id, s)) {
      const scope = def.scopeFrom ? def.scopeFrom({ external_id: row.external_id, raw: row.raw, scope: s }) : row.external_id;
      if (scope !== null) out.push(scope);
    }
  }
  return out;
}

/** Per lane: its requests, its limit and their least time. */
function lanesOf(src: ResolvedSource, walks: readonly DryRunWalk[]): DryRunLane[] {
  const perHour = quotaPerHour(src.config, src.vendor);
  const requests = new Map<string, number>();
  for (const w of walks) requests.set(w.lane, (requests.get(w.lane) ?? 0) + w.requests);
  return [...requests].map(([lane, n]) => {
    const limit = src.lanes.get(lane) ?? {};
    const shape = { windows: laneWindows({ ...limit }, perHour), tokenBucket: limit.tokenBucket };
    return { lane, limit: laneLimitText(shape) || 'unlimited', requests: n, minDurationMs: minDurationMs(n, shape) };
  });
}

/**
 * What `sync --source X [--resource R]... [--mode M]` would do, from the warehouse as it is: reads
 * in one read-only transaction, writes nothing, queues nothing.
 */
export async function planDryRun(db: Kysely<Database>, src: ResolvedSource, opts: { resources: readonly string[]; mode: 'full' | 'incremental' }): Promise<DryRunPlan> {
  const resources = expandResources(src, opts.resources);
  return db
    .transaction()
    .setAccessMode('read only')
    .execute(async (trx) => {
      const [disabled, pausedRes, joins, pause, last] = await Promise.all([disabledResources(trx, src.id), pausedResources(trx, src.id), findRunningRun(trx, src.id, false), sourcePause(trx, src.id), lastWalks(trx, src.id)]);
      const scopesOf = new Map<string, string[]>();
      const walks: DryRunWalk[] = [];
      for (const name of resources) {
        const def = src.vendor.resources.find((r) => r.name === name)!;
        const parentScopes = def.parent ? scopesOf.get(def.parent) : undefined;
        if (disabled.has(name) || pausedRes.has(name) || (def.parent && parentScopes === undefined)) continue;
        const parentDef = def.parent ? src.vendor.resources.find((r) => r.name === def.parent)! : undefined;
        const scopes = parentDef ? await childScopes(trx, src, def, { table: parentDef.table, scopes: parentScopes! }) : (src.vendor.rootScopes?.() ?? ['-']);
        scopesOf.set(name, scopes);
        walks.push(...(await walksOf(trx, src, def, scopes, { mode: opts.mode, last })));
      }
      const lanes = lanesOf(src, walks);
      const requests = lanes.reduce((n, l) => n + l.requests, 0);
      const paused = pause === null ? null : (pause.reason ?? 'paused');
      return { source: src.id, mode: opts.mode, resources, disabled: resources.filter((r) => disabled.has(r)), pausedResources: resources.filter((r) => pausedRes.has(r)), joins, paused, walks, lanes, requests, unknownWalks: walks.filter((w) => w.pages === null).length, minDurationMs: Math.max(0, ...lanes.map((l) => l.minDurationMs)) };
    });
}
