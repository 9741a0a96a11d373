import { DelayedError, UnrecoverableError, type Job } from 'bullmq';
import type { WorkerSettings } from '../config.js';
import type { HttpPage } from '../http/client.js';
import { VendorError } from '../http/errors.js';
import { postgresConnectionReason, UNREACHABLE_CODES } from '../infra-errors.js';
import { rateLimitBackoffOf } from '../sources.js';
import { pausedResourceText } from '../sync/paused-resources.js';
import { pauseResource, walkPauses } from '../warehouse/resource-pauses.js';
import { disableResource, pauseSource } from '../warehouse/source-state.js';
import { failWalks, getWalk, markWalkWaiting, runHasCommittedPages, runningWalks, type WalkRow } from '../warehouse/walks.js';
import { startCommit, type CommitDeps } from './commit.js';
import { decideFailure, type FailureAction, type FailureRecord } from './failure-policy.js';
import type { HeadStart } from './head-start/index.js';
import { holdLane, type HoldDeps, type LaneWaitKind, type PageJobData } from './lanes.js';
import type { PageQueue } from './page-queue.js';
import { preparePage } from './page-prepare.js';
import { pageRef, type PageRef, type RouteOf } from './page-ref.js';
import { logRunFinished } from './run-end.js';
import { enterSession, reactivateSession, sessionMayBeLost, type SessionDeps, type SessionWaits } from './session-lock.js';

/** What the page job needs: the stages' own dependencies, the routes of walks, the queues and the head start. */
export interface PageJobDeps extends CommitDeps, HoldDeps {
  routeOf: RouteOf;
  queue: PageQueue;
  headStart: HeadStart;
  session: SessionDeps;
  worker: Pick<WorkerSettings, 'backoffMs' | 'connectFailureTimeoutMs'>;
}

/**
 * A page job's outcome, for logs and tests. `paused`: the source is paused, the job ended without a
 * request and resumeSource queues the walk's page again. `resource-paused`: the walk's resource is
 * paused (a plan-restriction 402), the walk failed with that reason without a request.
 */
export type PageOutcome = 'walk-gone' | 'walk-finished' | 'already-committed' | 'stale' | 'committed' | 'raced' | 'paused' | 'resource-paused';

/** How this job is put back to wait (moved to delayed; spends no attempt). Always throws. */
export type Defer = (ms: number) => Promise<never>;

/** The Defer of a job taken by a worker (its lock `token`): moved to delayed, then BullMQ's DelayedError. */
export function deferOf(job: Job<PageJobData>, token: string | undefined): Defer {
  return async (ms) => {
    if (token === undefined) throw new Error(`page job ${job.id ?? ''} has to wait ${ms} ms but was not taken by a worker (no lock token to move it)`);
    await job.moveToDelayed(Date.now() + ms, token);
    throw new DelayedError();
  };
}

/** The answer of a list that makes no request (static lists): parsed like any other. */
const NO_REQUEST: HttpPage = { status: 200, body: null, requestId: null, throttleMs: 0, headers: {} };

/**
 * Processes one page job: check the walk, make the one vendor request through the lane, prepare
 * the answer (parse, check, normalize, payload), and commit rows and cursor in one transaction;
 * then queue the next page or the nested walks. The head start (src/queue/head-start/) may have
 * the answer already, fetches the next page as soon as this one is parsed, and may write it while
 * this one commits. A job whose page is already committed only makes sure the walk goes on.
 * Throws BullMQ's DelayedError (a wait: the job was moved to delayed) / UnrecoverableError, or a retryable error.
 */
export async function processPage(deps: PageJobDeps, job: Job<PageJobData>, defer: Defer): Promise<PageOutcome> {
  const { walkId, page } = job.data;
  const walk = await getWalk(deps.db, walkId);
  const settled = await settledPage(deps.queue, walk, page);
  if (settled !== null || !walk) return settled ?? 'walk-gone';
  const ref = pageRef(deps.routeOf(walk), walk, page);
  try {
    const paused = await walkPauses(deps.db, ref.src.id, walk.resource);
    if (paused.source) {
      // Nothing waits in Redis for a paused source: its walks keep their cursors and resumeSource
      // queues their pages again, so a paused account costs no job, timer or connection.
      deps.metrics?.laneWait(ref.src.id, ref.lane.laneClass, 0, 'paused');
      await markWalkWaiting(deps.db, walk.id, null, `source paused: ${paused.source.reason ?? ''}`);
      return 'paused';
    }
    if (paused.resource) {
      // Paused by a 402 of another walk (another scope, or a run beside this one): the endpoint
      // would answer 402 again, so the walk ends as that one did, without a request.
      await failAndReport(deps, [walk.id], walk.run_id, { message: `${ref.where}: ${pausedResourceText(walk.resource, paused.resource.reason)}`, status: paused.resource.status, requestId: null });
      return 'resource-paused';
    }
    const held = await deps.headStart.take(ref);
    const answer = held?.answer ?? (await askVendor(deps, ref, waitsOf(deps, ref, defer)));
    // The page after it is asked for as soon as this one is parsed; asking twice sends it once.
    const prepared = held?.prepared ?? preparePage(ref, answer, (next) => deps.headStart.fetchNext(ref, next));
    deps.headStart.fetchNext(ref, prepared.frame.next);
    const commit = startCommit(deps, ref, prepared);
    const ahead = deps.headStart.writeNext(ref, prepared, commit);
    const committed = await commit.done.catch(async (err: unknown) => {
      await ahead;
      throw err;
    });
    const aheadCommitted = await ahead;
    if (!committed) return 'raced';
    // A page written ahead never ends the walk (write-ahead.ts): the page after it follows.
    if (aheadCommitted) await deps.queue.enqueue(walk, page + 2);
    else if (prepared.frame.next) await deps.queue.enqueue(walk, page + 1);
    else await deps.queue.enqueueChildren(walk.id);
    return 'committed';
  } catch (err) {
    return await handleFailure(deps, err, { job, defer }, ref);
  }
}

/** The outcome of a job whose walk has nothing for it to do (gone, ended, past or behind its page), after making sure the walk goes on; null: the page is the walk's next. */
async function settledPage(queue: PageQueue, walk: WalkRow | undefined, page: number): Promise<PageOutcome | null> {
  if (!walk) return 'walk-gone';
  if (walk.status !== 'running') {
    await queue.enqueueChildren(walk.id);
    return 'walk-finished';
  }
  if (walk.pages > page) {
    await queue.enqueue(walk, walk.pages);
    return 'already-committed';
  }
  return walk.pages < page ? 'stale' : null;
}

/** This page waits for its lane (holdLane): the job is put back as delayed. Always throws. */
function hold(deps: PageJobDeps, ref: PageRef, h: { ms: number; reason: string | null; kind: LaneWaitKind; defer: Defer }): Promise<never> {
  return holdLane(deps, ref.lane, { walkId: ref.walk.id, ms: h.ms, reason: h.reason, kind: h.kind }, h.defer);
}

/** How a page waits: `defer` re-schedules this job only (a busy session), `holdLane` for its lane's gate (counted as a lane wait). */
function waitsOf(deps: PageJobDeps, ref: PageRef, defer: Defer): SessionWaits {
  return {
    defer,
    holdLane: (ms) => hold(deps, ref, { ms, reason: null, kind: 'gate', defer }),
  };
}

/**
 * The page's one vendor request, through its lane (gate, the vendor's throttle), inside the
 * source's session where it has one (src/queue/session-lock.ts); a static list asks nothing.
 * Holds the lane (throws) when the gate has no room; throws the vendor's failure.
 */
async function askVendor(deps: PageJobDeps, ref: PageRef, waits: SessionWaits): Promise<HttpPage> {
  if (ref.def.pagination.kind === 'static') return NO_REQUEST;
  const walk = { src: ref.src, lane: ref.lane, scope: ref.walk.scope };
  const release = await enterSession(deps.session, walk, waits);
  try {
    const t0 = Date.now();
    const reply = await ref.lane.request(ref.request).catch(async (err: unknown) => {
      if (release === null || !sessionMayBeLost(err)) throw err;
      // The state Redis remembers may be one the vendor forgot (its restart or expiry, or
      // another client of the account switched it): activate it again, once, and ask again.
      await reactivateSession(deps.session, walk, waits);
      return ref.lane.request(ref.request);
    });
    if (!reply.sent) return await waits.holdLane(reply.waitMs);
    deps.log.trace({ where: ref.where, ms: Date.now() - t0, status: reply.page.status, requestId: reply.page.requestId }, 'request');
    await release?.();
    return reply.page;
  } catch (err) {
    await release?.().catch(() => undefined);
    throw err;
  }
}

/** Fails walks of a run with a failure, reports them to metrics and logs the failure once. */
export async function failAndReport(deps: HoldDeps, walkIds: string[], runId: string, failure: FailureRecord, status: 'failed' | 'cancelled' = 'failed'): Promise<void> {
  const { ended, runEnd } = await failWalks(deps.db, walkIds, runId, failure, status);
  for (const w of ended) deps.metrics?.walkFinished(w.source_id, w.resource, 'failed', (Date.now() - w.started_at.getTime()) / 1000);
  // Like every line about a run's work: `source` and `runId` (jq and `runs logs` follow a run by them);
  // a cancel is an operator's decision, not a fault, and has no HTTP status or request id to show.
  const source = ended[0]?.source_id;
  const fields = { ...(source ? { source } : {}), runId, walks: walkIds.length, ...(failure.status !== null ? { status: failure.status } : {}), ...(failure.requestId !== null ? { requestId: failure.requestId } : {}) };
  if (status === 'cancelled') deps.log.warn(fields, failure.message);
  else deps.log.error(fields, failure.message);
  await logRunFinished(deps.db, deps.log, runEnd);
}

/** Carries out the failure policy's decision for a page job's error (src/queue/failure-policy.ts). Throws, except for a source it paused ('paused'). */
async function handleFailure(deps: PageJobDeps, err: unknown, at: { job: Job<PageJobData>; defer: Defer }, ref: PageRef): Promise<PageOutcome> {
  const { job } = at;
  const { src, walk } = ref;
  const decision = decideFailure(err, {
    where: ref.where,
    sourceId: src.id,
    resource: walk.resource,
    attempt: job.attemptsMade + 1,
    maxAttempts: job.opts.attempts ?? 1,
    // Without a Retry-After the vendor's documented backoff applies (Toggl: "a few minutes").
    rateLimitBackoffMs: rateLimitBackoffOf(src),
    quotaPerHour: ref.lane.quotaPerHour,
    paymentRequired: src.vendor.paymentRequired ?? 'source',
    firstRequest: await isFirstRequest(deps, err, ref),
    backoffMs: deps.worker.backoffMs,
    connectFailureTimeoutMs: deps.worker.connectFailureTimeoutMs,
  });
  switch (decision.action) {
    case 'pass':
      throw err;
    case 'retry':
      if (decision.giveUp) await failAndReport(deps, [walk.id], walk.run_id, decision.giveUp);
      // A lost Postgres fails every job in flight; its outage is logged once by the pool (db.ts).
      else if (!(err instanceof VendorError) && postgresConnectionReason(err) !== null) deps.log.debug({ source: src.id, attempt: job.attemptsMade + 1 }, decision.message);
      else deps.log.warn({ source: src.id, attempt: job.attemptsMade + 1, requestId: decision.requestId ?? undefined }, decision.message);
      throw new Error(decision.message);
    case 'fail-walk':
      return await failWalksOf(deps, ref, decision.failure, [walk.id]);
    case 'pause-lane': {
      // The lane paused itself when the answer came (Lane.request); this job waits it out.
      const { waitMs, failure } = decision;
      deps.metrics?.rateLimited(src.id, ref.lane.laneClass);
      deps.log.warn({ source: src.id, lane: ref.lane.name, waitMs, requestId: failure.requestId }, `${ref.where}: ${failure.status ?? 429}, lane paused`);
      return await hold(deps, ref, { ms: waitMs, reason: decision.reason, kind: 'vendor', defer: at.defer });
    }
    case 'wait':
      // The job waits, no attempt spent; nothing recorded on the walk: Postgres may have no room for the write (reason null, <= 5 s).
      deps.log.error({ source: src.id, lane: ref.lane.name, waitMs: decision.waitMs }, decision.message);
      return await hold(deps, ref, { ms: decision.waitMs, reason: null, kind: 'paused', defer: at.defer });
    case 'fail-run':
      return await failWalksOf(deps, ref, decision.failure, (await runningWalks(deps.db, walk.run_id)).map((r) => r.id));
    case 'pause-source':
    case 'pause-resource':
    case 'disable-resource':
      return await stopFor(deps, ref, decision);
  }
}

/**
 * A 402 or 410 stops more than this page: the source pauses (every walk of it waits with its
 * cursor for `resume`; 'paused'), or the resource pauses (402, a plan restriction) or is disabled
 * (410): its running walks of the run fail (throws UnrecoverableError), the source's other
 * resources go on, and later runs skip it until `resume` / `enable`.
 */
async function stopFor(deps: PageJobDeps, ref: PageRef, decision: Extract<FailureAction, { action: 'pause-source' | 'pause-resource' | 'disable-resource' }>): Promise<PageOutcome> {
  const { src, walk } = ref;
  const { failure } = decision;
  if (decision.action === 'pause-source') {
    await pauseSource(deps.db, src.id, failure.message);
    deps.log.error({ source: src.id, requestId: failure.requestId }, failure.message);
    deps.metrics?.laneWait(src.id, ref.lane.laneClass, 0, 'paused');
    await markWalkWaiting(deps.db, walk.id, null, `source paused: ${failure.message}`);
    return 'paused';
  }
  if (decision.action === 'pause-resource') {
    await pauseResource(deps.db, { sourceId: src.id, resource: walk.resource, status: failure.status, reason: failure.message, requestId: failure.requestId, runId: walk.run_id });
  } else {
    await disableResource(deps.db, src.id, walk.resource, failure.status, failure.message);
  }
  return await failWalksOf(deps, ref, failure, (await runningWalks(deps.db, walk.run_id, walk.resource)).map((r) => r.id));
}

/**
 * Whether a connection failure (host not found, refused) met the run's first request: no walk of
 * the run that requests anything committed a page yet (a wrong baseUrl, then). Static lists
 * commit without a request: their pages say nothing about the host.
 */
async function isFirstRequest(deps: PageJobDeps, err: unknown, ref: PageRef): Promise<boolean> {
  const connectFailure = err instanceof VendorError && err.code !== null && UNREACHABLE_CODES.has(err.code);
  if (!connectFailure || ref.walk.pages > 0) return false;
  const requesting = ref.src.vendor.resources.filter((r) => r.pagination.kind !== 'static').map((r) => r.name);
  return !(await runHasCommittedPages(deps.db, ref.walk.run_id, requesting));
}

/** Fails these walks of the page's run with `failure` and ends the job for good. Always throws UnrecoverableError. */
async function failWalksOf(deps: PageJobDeps, ref: PageRef, failure: FailureRecord, walkIds: string[]): Promise<never> {
  await failAndReport(deps, walkIds, ref.walk.run_id, failure);
  throw new UnrecoverableError(failure.message);
}
