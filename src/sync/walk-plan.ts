import type { ResourceDefinition } from '../connector.js';
import type { PageContext } from '../pagination/types.js';
import type { ResolvedSource } from '../sources.js';

/** How a new walk runs: full, or incremental from `since` (carrying the previous high-water mark). */
export interface WalkPlan {
  mode: 'full' | 'incremental';
  since: Date | null;
  mark: Date | null;
}

/** A full walk from the start: what every walk is unless the plan says otherwise. */
export const FULL_WALK: WalkPlan = { mode: 'full', since: null, mark: null };

/** Overlap an incremental walk re-reads below the last high-water mark, unless the resource says. */
export const DEFAULT_OVERLAP_MS = 5 * 60_000;

/** Priority of backfill page jobs (BullMQ: larger is later; 0/none first). */
export const BACKFILL_PRIORITY = 1000;

/**
 * BullMQ priority of the page jobs of a run started by `trigger`: backfills go behind everything
 * else in their lane (jobs without a priority are always taken first), so they never starve a
 * scheduled or manual sync of the same lane. undefined = no priority (taken first).
 */
export function pagePriority(trigger: string): number | undefined {
  return trigger === 'backfill' ? BACKFILL_PRIORITY : undefined;
}

/** The last succeeded walks of one (source, resource, scope): its highest mark and its last full walk's start. */
export interface ScopeHistory {
  scope: string;
  mark: Date | null;
  lastFull: Date | null;
}

/** What planWalks decides from. */
export interface PlanInput {
  scopes: readonly string[];
  runMode: 'full' | 'incremental';
  /** A backfill's `--since`, or null. */
  runSince: Date | null;
  /** Whether the resource can fetch only what changed (has an incremental spec). */
  incremental: boolean;
  overlapMs: number;
  fullWalkEveryMs: number;
  now: number;
  /** The scopes' history; only read when needsHistory() said so. */
  history: readonly ScopeHistory[];
}

/** Whether planWalks needs the scopes' walk history (a database read) for this run. */
export function needsHistory(input: Pick<PlanInput, 'scopes' | 'runMode' | 'runSince' | 'incremental'>): boolean {
  return input.runSince === null && input.runMode === 'incremental' && input.incremental && input.scopes.length > 0;
}

/**
 * Decides how the new walks of a resource run, per scope. A backfill `--since` makes every walk
 * carry that date (incremental where the vendor filters by date, else full, never from saved
 * marks). Otherwise a walk is incremental only when the run asks for it, the resource supports
 * it, the scope has a high-water mark from a succeeded walk, and a full walk of the scope
 * succeeded within `fullWalkEveryMs`; else full, so deletes are still detected periodically.
 * Pure; returns a plan for every scope.
 */
export function planWalks(input: PlanInput): Map<string, WalkPlan> {
  if (input.runSince !== null) {
    const plan: WalkPlan = { mode: input.incremental ? 'incremental' : 'full', since: input.runSince, mark: null };
    return new Map(input.scopes.map((s) => [s, plan]));
  }
  const plans = new Map<string, WalkPlan>(input.scopes.map((s) => [s, FULL_WALK]));
  if (!needsHistory(input)) return plans;
  for (const h of input.history) {
    if (!plans.has(h.scope) || !h.mark || !h.lastFull) continue;
    if (input.now - h.lastFull.getTime() > input.fullWalkEveryMs) continue;
    plans.set(h.scope, { mode: 'incremental', since: new Date(h.mark.getTime() - input.overlapMs), mark: h.mark });
  }
  return plans;
}

/** The part of a walk a page request depends on. */
export interface WalkShape {
  scope: string;
  mode?: 'full' | 'incremental';
  since?: Date | string | null;
}

/**
 * The request context of page `page` of a walk: path, page size (the source's, capped at the
 * vendor's maximum), the resource's params and, for an incremental walk, its changed-since filter.
 */
export function pageContext(src: ResolvedSource, def: ResourceDefinition, walk: WalkShape, page: number): PageContext {
  const changedSince = walk.mode === 'incremental' && walk.since && def.incremental ? def.incremental.params(new Date(walk.since)) : {};
  return {
    scope: walk.scope,
    pageSize: Math.min(src.config.pageSize ?? def.pagination.defaultPageSize, def.pagination.maxPageSize),
    path: def.path(walk.scope, src.config),
    params: { ...(def.params?.(walk.scope, src.config) ?? {}), ...changedSince },
    baseUrl: src.config.baseUrl,
    first: page === 0,
  };
}

/** The sync_walks row of a new walk, its cursor at the first page. Pure. */
export function newWalkValues(runId: string, src: ResolvedSource, def: ResourceDefinition, scope: string, parentWalkId: string | null, plan: WalkPlan) {
  const cursor = def.pagination.first(pageContext(src, def, { scope, mode: plan.mode, since: plan.since }, 0));
  return {
    run_id: runId,
    source_id: src.id,
    resource: def.name,
    scope,
    parent_walk_id: parentWalkId,
    mode: plan.mode,
    status: 'running' as const,
    cursor: JSON.stringify(cursor),
    total: null,
    since: plan.since,
    high_water_mark: plan.mark,
    waiting_until: null,
    waiting_reason: null,
    error_status: null,
    error_message: null,
    error_request_id: null,
    finished_at: null,
  };
}
