import { DelayedError, UnrecoverableError, type Job } from 'bullmq';
import type { ResourceDefinition } from '../connector.js';
import { PaginationLoopError, type Cursor, type PageResult } from '../pagination/types.js';
import type { ResolvedSource } from '../sources.js';
import { normalizePage } from '../sync/normalize-page.js';
import { pageContext } from '../sync/walk-plan.js';
import { disableResource, pauseSource, sourcePause } from '../warehouse/source-state.js';
import { commitPage, failWalks, getWalk, runningWalks, type WalkRow } from '../warehouse/walks.js';
import { definitionOf, laneOf, sourceOf, whereOf, type EngineContext } from './context.js';
import { decideFailure, type FailureRecord } from './failure-policy.js';
import { holdLane, type Lane, type LaneWaitKind, type PageJobData } from './lanes.js';
import type { PageQueue } from './page-queue.js';
import { enterSession } from './session-lock.js';
import { startChildWalks } from './walk-start.js';

/** What the page job needs from the engine besides the shared context. */
export interface PageJobDeps {
  ctx: EngineContext;
  queue: PageQueue;
  /** Pauses every lane queue of a source in BullMQ. */
  pauseSourceQueues(sourceId: string): Promise<void>;
}

/** A page job's outcome, for logs and tests. */
export type PageOutcome = 'walk-gone' | 'walk-finished' | 'already-committed' | 'stale' | 'committed' | 'raced';

/**
 * Processes one page job: check the walk, pass the gate, make the one vendor request, parse,
 * normalize, and commit rows and cursor in one transaction; then queue the next page or the
 * nested walks. A job whose page is already committed only makes sure the walk goes on.
 * Throws BullMQ's RateLimitError / DelayedError / UnrecoverableError, or a retryable error.
 */
export async function processPage(deps: PageJobDeps, job: Job<PageJobData>, token?: string): Promise<PageOutcome> {
  const { ctx, queue } = deps;
  const { walkId, page } = job.data;
  const startedAt = Date.now();
  const walk = await getWalk(ctx.db, walkId);
  if (!walk) return 'walk-gone';
  if (walk.status !== 'running') {
    await queue.enqueueChildren(walk.id);
    return 'walk-finished';
  }
  if (walk.pages > page) {
    await queue.enqueue(walk, walk.pages);
    return 'already-committed';
  }
  if (walk.pages < page) return 'stale';

  const src = sourceOf(ctx, walk.source_id);
  const def = definitionOf(src, walk.resource);
  const lane = laneOf(ctx, src, def);
  const where = whereOf(ctx, walk, page);
  const hold = (ms: number, reason: string | null, kind: LaneWaitKind) => holdLane(ctx, lane, walk.id, ms, reason, kind);
  const pageCtx = pageContext(src, def, walk, page);
  const cursor = (walk.cursor ?? def.pagination.first(pageCtx)) as Cursor;
  let releaseSession: (() => Promise<void>) | null = null;

  try {
    const paused = await sourcePause(ctx.db, src.id);
    if (paused) {
      await deps.pauseSourceQueues(src.id);
      // The paused queue holds the job; the short limit only keeps this worker from spinning
      // (a long one would keep it asleep well after `resume`).
      return await hold(1_000, `source paused: ${paused.reason ?? ''}`, 'paused');
    }
    let body: unknown = null;
    let requestId: string | null = null;
    if (def.pagination.kind !== 'static') {
      const request = def.pagination.request(cursor, pageCtx);
      releaseSession = await enterSession({ ...ctx, requestTimeoutMs: ctx.worker.requestTimeoutMs }, src, lane, walk.scope, {
        defer: async (ms) => {
          if (token === undefined) return await hold(ms, null, 'gate');
          await job.moveToDelayed(Date.now() + ms, token);
          throw new DelayedError();
        },
        holdLane: (ms) => hold(ms, null, 'gate'),
      });
      const wait = await lane.gate.take();
      if (wait > 0) return await hold(wait, null, 'gate');
      const t0 = Date.now();
      const res = await lane.http(request);
      ctx.log.trace({ where, ms: Date.now() - t0, status: res.status, requestId: res.requestId }, 'request');
      body = res.body;
      requestId = res.requestId;
      if (res.throttleMs > 0) await lane.gate.pauseUntil(Date.now() + res.throttleMs);
      await releaseSession?.();
      releaseSession = null;
    }
    const result = def.pagination.parse(body, cursor, pageCtx);
    if (result.next && JSON.stringify(result.next) === JSON.stringify(cursor)) {
      throw new PaginationLoopError(`pagination loop: the next cursor ${JSON.stringify(result.next).slice(0, 300)} does not advance`);
    }
    const committed = await commit(ctx, src, def, walk, page, result, where, requestId, startedAt);
    if (committed) {
      if (result.next) await queue.enqueue(walk, page + 1);
      else await queue.enqueueChildren(walk.id);
    }
    return committed ? 'committed' : 'raced';
  } catch (err) {
    await releaseSession?.().catch(() => undefined);
    return await handleFailure(deps, err, job, src, lane, walk, where);
  }
}

async function commit(ctx: EngineContext, src: ResolvedSource, def: ResourceDefinition, walk: WalkRow, page: number, result: PageResult, where: string, requestId: string | null, startedAt: number): Promise<boolean> {
  const normalized = normalizePage(def, result.records, { sourceId: src.id, scope: walk.scope, where });
  const outcome = await commitPage(
    ctx.db,
    {
      walk,
      page,
      table: def.table,
      ...normalized,
      records: result.records.length,
      next: result.next === null ? null : JSON.stringify(result.next),
      total: result.total ?? null,
    },
    (trx) => startChildWalks(trx, src, def, walk),
  );
  if (!outcome.committed) return false;
  ctx.metrics?.rows(src.id, def.table, outcome.counts);
  ctx.log.debug({ source: src.id, resource: def.name, scope: walk.scope, page, rows: result.records.length, ...outcome.counts, requestId, ms: Date.now() - startedAt }, 'page committed');
  if (outcome.completed) await reportWalkComplete(ctx, src, def, walk);
  return true;
}

async function reportWalkComplete(ctx: EngineContext, src: ResolvedSource, def: ResourceDefinition, walk: WalkRow): Promise<void> {
  const w = await getWalk(ctx.db, walk.id);
  const ms = w?.finished_at ? new Date(w.finished_at).getTime() - new Date(w.started_at).getTime() : undefined;
  ctx.log.info(
    {
      source: src.id,
      resource: def.name,
      scope: walk.scope,
      pages: w?.pages,
      records: w?.records,
      inserted: w?.inserted,
      updated: w?.updated,
      unchanged: w?.unchanged,
      deleted: w?.deleted,
      quarantined: w?.quarantined,
      rows: w?.records,
      ms,
    },
    'walk complete',
  );
  if (w) {
    ctx.metrics?.rows(src.id, def.table, { deleted: w.deleted });
    if (ms !== undefined) ctx.metrics?.walkFinished(src.id, def.name, 'succeeded', ms / 1000);
  }
}

/** Fails walks of a run with a failure, reports them to metrics and logs the failure once. */
export async function failAndReport(ctx: EngineContext, walkIds: string[], runId: string, failure: FailureRecord): Promise<void> {
  const ended = await failWalks(ctx.db, walkIds, runId, failure);
  for (const w of ended) ctx.metrics?.walkFinished(w.source_id, w.resource, 'failed', (Date.now() - w.started_at.getTime()) / 1000);
  ctx.log.error({ runId, walks: walkIds.length, status: failure.status, requestId: failure.requestId }, failure.message);
}

/** Carries out the failure policy's decision for a page job's error. Always throws. */
async function handleFailure(deps: PageJobDeps, err: unknown, job: Job<PageJobData>, src: ResolvedSource, lane: Lane, walk: WalkRow, where: string): Promise<never> {
  const { ctx } = deps;
  const decision = decideFailure(err, {
    where,
    sourceId: src.id,
    resource: walk.resource,
    attempt: job.attemptsMade + 1,
    maxAttempts: job.opts.attempts ?? 1,
    // Without a Retry-After the vendor's documented backoff applies (Toggl: "a few minutes").
    rateLimitBackoffMs: src.config.rateLimitBackoffMs ?? src.vendor.rateLimitBackoffMs ?? 60_000,
  });
  switch (decision.action) {
    case 'pass':
      throw err;
    case 'retry':
      if (decision.giveUp) await failAndReport(ctx, [walk.id], walk.run_id, decision.giveUp);
      else ctx.log.warn({ source: src.id, attempt: job.attemptsMade + 1, requestId: decision.requestId ?? undefined }, decision.message);
      throw new Error(decision.message);
    case 'fail-walk':
      await failAndReport(ctx, [walk.id], walk.run_id, decision.failure);
      throw new UnrecoverableError(decision.failure.message);
    case 'pause-lane': {
      const { waitMs, failure } = decision;
      await lane.gate.pauseUntil(Date.now() + waitMs);
      ctx.metrics?.rateLimited(src.id, lane.laneClass);
      ctx.log.warn({ source: src.id, lane: lane.queue.name, waitMs, requestId: failure.requestId }, `${where}: ${failure.status ?? 429}, lane paused`);
      return await holdLane(ctx, lane, walk.id, waitMs, decision.reason, 'vendor');
    }
    case 'fail-run': {
      const running = await runningWalks(ctx.db, walk.run_id);
      await failAndReport(
        ctx,
        running.map((r) => r.id),
        walk.run_id,
        decision.failure,
      );
      throw new UnrecoverableError(decision.failure.message);
    }
    case 'pause-source': {
      const reason = decision.failure.message;
      await pauseSource(ctx.db, src.id, reason);
      await deps.pauseSourceQueues(src.id);
      ctx.log.error({ source: src.id, requestId: decision.failure.requestId }, reason);
      return await holdLane(ctx, lane, walk.id, 1_000, reason, 'paused');
    }
    case 'disable-resource': {
      const { failure } = decision;
      await disableResource(ctx.db, src.id, walk.resource, failure.status, failure.message);
      const same = await runningWalks(ctx.db, walk.run_id, walk.resource);
      await failAndReport(
        ctx,
        same.map((r) => r.id),
        walk.run_id,
        failure,
      );
      throw new UnrecoverableError(failure.message);
    }
  }
}
