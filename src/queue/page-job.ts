import { DelayedError, UnrecoverableError, type Job } from 'bullmq';
import type { ResourceDefinition } from '../connector.js';
import { VendorError } from '../http/errors.js';
import { postgresConnectionReason, UNREACHABLE_CODES } from '../infra-errors.js';
import { describeRequest, requestHash } from '../pagination/request-key.js';
import type { Cursor, PageContext, PageRequest } from '../pagination/types.js';
import { canonicalJson, checkPage, finishPage, pageFrame, parsePage, type PageFrame, type PreparedPage } from './page-prepare.js';
import { deletePolicyOf, rateLimitBackoffOf, type ResolvedSource } from '../sources.js';
import { normalizePage } from '../sync/normalize-page.js';
import { recordTexts } from '../sync/record-texts.js';
import { pageContext } from '../sync/walk-plan.js';
import { scopeLabel } from '../sync/where.js';
import { keepsHistory } from '../warehouse/history.js';
import { disableResource, pauseSource, sourcePause } from '../warehouse/source-state.js';
import { analyzeIfStale, statsCheckDue } from '../warehouse/table-stats.js';
import { commitPage, failWalks, getWalk, runHasCommittedPages, runningWalks, type CommitOrder, type WalkRow } from '../warehouse/walks.js';
import { definitionOf, laneOf, sourceOf, whereOf, type EngineContext } from './context.js';
import { decideFailure, type FailureRecord } from './failure-policy.js';
import { holdLane, type Lane, type LaneWaitKind, type PageJobData } from './lanes.js';
import { askAboutMissedRows } from './missed-rows.js';
import { fetchAhead, PagePrefetch, sendFirst } from './prefetch.js';
import type { PageQueue } from './page-queue.js';
import { logRunFinished } from './run-end.js';
import { enterSession, reactivateSession, sessionMayBeLost } from './session-lock.js';
import { startChildWalks } from './walk-start.js';
import { writeAheadRefusal } from './write-ahead.js';

/** What the page job needs from the engine besides the shared context. */
export interface PageJobDeps {
  ctx: EngineContext;
  queue: PageQueue;
  /** Pauses every lane queue of a source in BullMQ. */
  pauseSourceQueues(sourceId: string): Promise<void>;
}

/** A page job's outcome, for logs and tests. */
export type PageOutcome = 'walk-gone' | 'walk-finished' | 'already-committed' | 'stale' | 'committed' | 'raced';

/** A page in hand for its commit: prepared ahead, or its parsed records to normalize now. */
type PageContent = { frame: PageFrame } & ({ prepared: PreparedPage } | { records: unknown[]; body: unknown });

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
    let headers: Record<string, string> = {};
    let prepared: PreparedPage | null = null;
    const request = def.pagination.request(cursor, pageCtx);
    const thisRequestHash = requestHash(request);
    if (def.pagination.kind !== 'static') {
      // A request the previous page's job sent ahead has passed the gate already; its answer,
      // or its failure, is this job's.
      const ahead = ctx.prefetch?.takePage(PagePrefetch.key(walk.id, page, thisRequestHash)) ?? null;
      let res = ahead ? await ahead.response : null;
      if (ahead) {
        const made = await ahead.prepared;
        // Made from the cursor this job reads from the committed walk, or not used.
        if (made && made.cursorKey === canonicalJson(cursor)) prepared = made;
      }
      if (res === null) {
        const sessionDeps = { ...ctx, requestTimeoutMs: ctx.worker.requestTimeoutMs };
        const waits = {
          defer: async (ms: number): Promise<never> => {
            if (token === undefined) return await hold(ms, null, 'gate');
            await job.moveToDelayed(Date.now() + ms, token);
            throw new DelayedError();
          },
          holdLane: (ms: number) => hold(ms, null, 'gate'),
        };
        releaseSession = await enterSession(sessionDeps, src, lane, walk.scope, waits);
        const wait = await lane.gate.take();
        if (wait > 0) return await hold(wait, null, 'gate');
        const t0 = Date.now();
        try {
          res = await lane.http(request);
        } catch (err) {
          if (releaseSession === null || !sessionMayBeLost(err)) throw err;
          // The state Redis remembers may be one the vendor forgot (its restart or expiry, or
          // another client of the account switched it): activate it again, once, and ask again.
          await reactivateSession(sessionDeps, src, lane, walk.scope, waits);
          const again = await lane.gate.take();
          if (again > 0) return await hold(again, null, 'gate');
          res = await lane.http(request);
        }
        ctx.log.trace({ where, ms: Date.now() - t0, status: res.status, requestId: res.requestId }, 'request');
      }
      body = res.body;
      requestId = res.requestId;
      headers = res.headers;
      if (res.throttleMs > 0) await lane.gate.pauseUntil(Date.now() + res.throttleMs);
      await releaseSession?.();
      releaseSession = null;
    }
    let content: PageContent;
    if (prepared) content = { frame: prepared.frame, prepared };
    else {
      const result = def.pagination.parse(body, cursor, pageCtx, { headers });
      checkPage(def, result, cursor, pageCtx);
      content = { frame: pageFrame(result), records: result.records, body };
    }
    const { frame } = content;
    const next = frame.next ? nextRequest(def, frame.next, pageContext(src, def, walk, page + 1)) : null;
    // Not awaited: its loop check and gate token are two round trips the commit need not wait
    // for (the page is reserved before this returns, so it is never fetched twice). A failure only
    // costs the head start: the next page's job asks the vendor itself.
    if (frame.next) {
      fetchAheadFrom(ctx, src, def, lane, walk, page + 1, frame.next, [thisRequestHash]).catch((err: unknown) => ctx.log.debug({ err, where }, 'the next page was not fetched ahead'));
    }
    let began = (): void => undefined;
    const holding = new Promise<void>((resolve) => (began = resolve));
    const committing = commit(ctx, src, def, walk, page, cursor, content, where, requestId, startedAt, {
      requestHash: thisRequestHash,
      ...(next ? { nextRequestHash: next.nextRequestHash, nextRequestText: next.nextRequestText } : { nextRequestHash: null }),
    }, { began });
    // A commit that fails before its transaction holds the walk row must not leave the page
    // written ahead waiting for it.
    committing.then(began, began);
    const ahead = prepared && next ? writeAhead(ctx, src, def, lane, walk, page, prepared, next.nextRequestHash, thisRequestHash, committing, holding) : Promise.resolve(false);
    let committed: boolean;
    try {
      committed = await committing;
    } catch (err) {
      await ahead;
      throw err;
    }
    const aheadCommitted = await ahead;
    if (committed) {
      // A page written ahead never ends the walk (writeAheadRefusal): the page after it follows.
      if (aheadCommitted) await queue.enqueue(walk, page + 2);
      else if (frame.next) await queue.enqueue(walk, page + 1);
      else await queue.enqueueChildren(walk.id);
    }
    return committed ? 'committed' : 'raced';
  } catch (err) {
    await releaseSession?.().catch(() => undefined);
    return await handleFailure(deps, err, job, src, lane, walk, where);
  }
}

/**
 * Fetches page `page` of the walk ahead, its request made from `cursor` (fetchAhead says when),
 * and prepares its answer as it comes (src/queue/page-prepare.ts). `earlier` holds the request
 * hashes of the latest pages before it (the job's own page first): a request among them is a
 * loop, never sent (the commit fails the walk for it).
 * As soon as the answer is parsed, before it is normalized and hashed, the page after it is
 * fetched ahead in turn, while the lane has room (PagePrefetch.hasRoom): a walk's requests then
 * follow each other at the vendor's pace plus a parse, not plus the whole preparation.
 */
async function fetchAheadFrom(ctx: EngineContext, src: ResolvedSource, def: ResourceDefinition, lane: Lane, walk: WalkRow, page: number, cursor: Cursor, earlier: readonly string[]): Promise<void> {
  if (!ctx.prefetch) return;
  const pageCtx = pageContext(src, def, walk, page);
  // The page's job reads its cursor back from the walk's jsonb: prepare from that same copy.
  const copy = JSON.parse(JSON.stringify(cursor)) as Cursor;
  const where = whereOf(ctx, walk, page);
  const norm = { sourceId: src.id, scope: walk.scope, where };
  const request = nextRequest(def, cursor, pageCtx);
  if (earlier.includes(request.nextRequestHash)) return;
  const chain = [...earlier.slice(-(CHAIN_MEMORY - 1)), request.nextRequestHash];
  await fetchAhead(ctx, src, lane, walk, page, request, async (res) => {
    const result = parsePage(def, res, copy, pageCtx);
    const next = result.next;
    if (next) {
      await sendFirst(
        () => fetchAheadFrom(ctx, src, def, lane, walk, page + 1, next, chain),
        (err: unknown) => ctx.log.debug({ err, where }, 'the next page was not fetched ahead'),
      );
    }
    return finishPage(def, result, copy, norm, res.body);
  });
}

/** How many of a chain's latest requests fetchAheadFrom compares a new one with. */
const CHAIN_MEMORY = 4;

/**
 * Writes page `page + 1` of the walk while page `page` commits (src/queue/write-ahead.ts): when
 * its answer was fetched and prepared ahead in this process from the cursor `thisPage` ends
 * with, and writeAheadRefusal lets it. Its transaction writes the rows at once and commits only
 * after `committing` (page `page`) committed that cursor; `holding` settles once that page's
 * transaction holds the walk row, so this one waits for it in Postgres (and never takes the
 * pool's last connection from it). Returns true when it committed the page; false leaves the page
 * to its own job. Never throws.
 */
async function writeAhead(
  ctx: EngineContext,
  src: ResolvedSource,
  def: ResourceDefinition,
  lane: Lane,
  walk: WalkRow,
  page: number,
  thisPage: PreparedPage,
  nextHash: string,
  thisHash: string,
  committing: Promise<boolean>,
  holding: Promise<void>,
): Promise<boolean> {
  const prefetch = ctx.prefetch;
  const nextCursor = thisPage.frame.next;
  if (!prefetch || nextCursor === null) return false;
  const key = PagePrefetch.key(walk.id, page + 1, nextHash);
  const held = prefetch.peekPage(key);
  if (!held) return false;
  const where = whereOf(ctx, walk, page + 1);
  try {
    // A failed answer stays held for the page's own job, which meets the failure (a 4xx is never asked twice).
    const made = await held.prepared;
    if (!made || made.cursorKey !== canonicalJson(nextCursor)) return false;
    const afterNext = made.frame.next ? nextRequest(def, made.frame.next, pageContext(src, def, walk, page + 2)) : null;
    const refusal = writeAheadRefusal({
      ids: thisPage.payload.records.map((r) => r.id),
      nextIds: made.payload.records.map((r) => r.id),
      nextIsLast: made.frame.next === null,
      requestHash: thisHash,
      nextRequestHash: nextHash,
      afterNextRequestHash: afterNext?.nextRequestHash ?? null,
    });
    if (refusal !== null) {
      ctx.log.trace({ where, refusal }, 'page not written ahead');
      return false;
    }
    if (prefetch.takePage(key)?.prepared !== held.prepared) return false;
    const res = await held.response;
    if (made.frame.next) {
      fetchAheadFrom(ctx, src, def, lane, walk, page + 2, made.frame.next, [thisHash, nextHash]).catch((err: unknown) => ctx.log.debug({ err, where }, 'the next page was not fetched ahead'));
    }
    await holding;
    return await commit(
      ctx,
      src,
      def,
      walk,
      page + 1,
      nextCursor,
      { frame: made.frame, prepared: made },
      where,
      res?.requestId ?? null,
      Date.now(),
      { requestHash: nextHash, ...(afterNext ? { nextRequestHash: afterNext.nextRequestHash, nextRequestText: afterNext.nextRequestText } : { nextRequestHash: null }) },
      { after: committing, fromCursor: (committed) => canonicalJson(committed) === made.cursorKey },
    );
  } catch (err) {
    ctx.log.debug({ err, where }, 'the page written ahead did not commit: its own job writes it');
    return false;
  }
}

/** The next page's request, its hash and text (for the loop check in commitPage and fetching ahead). */
function nextRequest(def: ResourceDefinition, next: Cursor, nextCtx: PageContext): { request: PageRequest; nextRequestHash: string; nextRequestText: string } {
  const request = def.pagination.request(next, nextCtx);
  return { request, nextRequestHash: requestHash(request), nextRequestText: describeRequest(request) };
}

async function commit(
  ctx: EngineContext,
  src: ResolvedSource,
  def: ResourceDefinition,
  walk: WalkRow,
  page: number,
  cursor: Cursor,
  content: PageContent,
  where: string,
  requestId: string | null,
  startedAt: number,
  requests: { requestHash: string; nextRequestHash: string | null; nextRequestText?: string },
  order: CommitOrder = {},
): Promise<boolean> {
  const { frame } = content;
  const prepared = 'prepared' in content ? content.prepared : null;
  const normalized = 'prepared' in content ? content.prepared.normalized : normalizePage(def, content.records, { sourceId: src.id, scope: walk.scope, where }, recordTexts(content.body, content.records));
  const policy = deletePolicyOf(src.config, def.name);
  // The last page's cursor says what the whole walk covered.
  const sweepRange = frame.next === null ? (def.sweepRange?.(cursor) ?? null) : null;
  const asked = frame.next === null ? await askAboutMissedRows(ctx, src, def, walk, normalized, sweepRange, policy) : undefined;
  if (asked?.problem) ctx.log.warn({ source: src.id, resource: def.name, scope: walk.scope, gone: asked.gone.length, present: asked.present.length, unknown: asked.unknown }, `${where}: ${asked.unknown} missed rows stay missing, not deleted: ${asked.problem}`);
  const outcome = await commitPage(
    ctx.db,
    {
      walk,
      page,
      table: def.table,
      ...normalized,
      ...requests,
      records: frame.records,
      next: frame.next === null ? null : JSON.stringify(frame.next),
      total: frame.total ?? null,
      sweepRange,
      sweep: { ...policy, label: `${def.name} of ${scopeLabel(walk.scope, def.parent)}` },
      history: keepsHistory(def.table, src.config.history),
      ...(prepared ? { payload: prepared.payload } : {}),
      ...(asked ? { asked } : {}),
    },
    (trx) => startChildWalks(trx, src, def, walk),
    order,
  );
  if (!outcome.committed) return false;
  // Only inserts grow a table; a resync of unchanged rows never asks. Not awaited: the check
  // (a catalog query, now and then an ANALYZE) is no part of the walk's page-after-page path.
  if (outcome.counts.inserted > 0) void keepStatistics(ctx, def.table);
  ctx.metrics?.rows(src.id, def.table, outcome.counts);
  ctx.log.debug({ source: src.id, resource: def.name, scope: walk.scope, page, rows: frame.records, ...outcome.counts, requestId, ms: Date.now() - startedAt }, 'page committed');
  if (normalized.duplicates > 0 || normalized.quarantine.length > 0) {
    ctx.log.warn(
      { source: src.id, resource: def.name, scope: walk.scope, page, duplicates: normalized.duplicates, quarantined: normalized.quarantine.length, unidentified: normalized.unidentified, repaired: normalized.repaired },
      `${where}: ${normalized.duplicates} duplicate ids, ${normalized.quarantine.length} records quarantined (${normalized.unidentified} without a usable id)`,
    );
  }
  if (outcome.sweep) {
    ctx.metrics?.sweep?.(src.id, def.name, outcome.sweep.outcome);
    // A held or inconsistent sweep is news for whoever watches the logs: nothing was marked.
    if (outcome.sweep.reason !== null) ctx.log.warn({ source: src.id, resource: def.name, scope: walk.scope, sweep: outcome.sweep.outcome }, `${src.id}: ${outcome.sweep.reason}`);
  }
  if (outcome.completed) await reportWalkComplete(ctx, src, def, walk);
  // After the commit: the transaction that ended the run is the only one that reports it.
  await logRunFinished(ctx.db, ctx.log, outcome.runEnd);
  return true;
}

/** When each table's statistics were last checked, per engine (epoch ms; Infinity while a check runs). */
const checked = new WeakMap<EngineContext, Map<string, number>>();

/**
 * Analyzes the page's table and its history when a sync grew them (src/warehouse/table-stats.ts),
 * at most once per STATS_CHECK_INTERVAL_MS per table in this engine (statsCheckDue), and never
 * while a check of that table is running here. Never throws: a failure only costs plan quality.
 */
async function keepStatistics(ctx: EngineContext, table: string): Promise<void> {
  const last = checked.get(ctx) ?? new Map<string, number>();
  checked.set(ctx, last);
  const now = Date.now();
  if (!statsCheckDue(last.get(table), now)) return;
  last.set(table, Number.POSITIVE_INFINITY);
  try {
    const analyzed = await analyzeIfStale(ctx.db, [table, `${table}_history`]);
    if (analyzed.length > 0) ctx.log.debug({ tables: analyzed }, 'analyzed tables whose statistics were stale');
  } catch (err) {
    ctx.log.debug({ table, err: err instanceof Error ? err.message : String(err) }, 'analyze skipped');
  } finally {
    last.set(table, now);
  }
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
      missing: w?.missing,
      sweep: w?.sweep,
      quarantined: w?.quarantined,
      unidentified: w?.unidentified,
      repaired: w?.repaired,
      duplicates: w?.duplicates,
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
  const { ended, runEnd } = await failWalks(ctx.db, walkIds, runId, failure);
  for (const w of ended) ctx.metrics?.walkFinished(w.source_id, w.resource, 'failed', (Date.now() - w.started_at.getTime()) / 1000);
  ctx.log.error({ runId, walks: walkIds.length, status: failure.status, requestId: failure.requestId }, failure.message);
  await logRunFinished(ctx.db, ctx.log, runEnd);
}

/** Carries out the failure policy's decision for a page job's error. Always throws. */
async function handleFailure(deps: PageJobDeps, err: unknown, job: Job<PageJobData>, src: ResolvedSource, lane: Lane, walk: WalkRow, where: string): Promise<never> {
  const { ctx } = deps;
  // Only a connection failure needs to know whether the run ever had an answer (a wrong baseUrl).
  const connectFailure = err instanceof VendorError && err.code !== null && UNREACHABLE_CODES.has(err.code);
  // Static lists commit without a request: their pages say nothing about the host.
  const requesting = src.vendor.resources.filter((r) => r.pagination.kind !== 'static').map((r) => r.name);
  const firstRequest = connectFailure && walk.pages === 0 && !(await runHasCommittedPages(ctx.db, walk.run_id, requesting));
  const decision = decideFailure(err, {
    where,
    sourceId: src.id,
    resource: walk.resource,
    attempt: job.attemptsMade + 1,
    maxAttempts: job.opts.attempts ?? 1,
    // Without a Retry-After the vendor's documented backoff applies (Toggl: "a few minutes").
    rateLimitBackoffMs: rateLimitBackoffOf(src),
    firstRequest,
    backoffMs: ctx.worker.backoffMs,
    connectFailureTimeoutMs: ctx.worker.connectFailureTimeoutMs,
  });
  switch (decision.action) {
    case 'pass':
      throw err;
    case 'retry':
      if (decision.giveUp) await failAndReport(ctx, [walk.id], walk.run_id, decision.giveUp);
      // A lost Postgres fails every job in flight; its outage is logged once by the pool (db.ts).
      else if (!(err instanceof VendorError) && postgresConnectionReason(err) !== null) ctx.log.debug({ source: src.id, attempt: job.attemptsMade + 1 }, decision.message);
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
