import { UnrecoverableError, Worker, type Job } from 'bullmq';
import type { RedisClient } from '../redis.js';
import type { Kysely } from 'kysely';
import type { WorkerSettings } from '../config.js';
import { postgresConnectionReason } from '../infra-errors.js';
import type { Logger } from '../logger.js';
import type { EngineMetrics } from '../metrics.js';
import { expandResources, type ResolvedSource } from '../sources.js';
import type { Database } from '../warehouse/db.js';
import { clearSourcePause, disabledResources, enableResource, pauseSource } from '../warehouse/source-state.js';
import { clearWaiting, finalizeRunIfDone, findRunningRun, getRun, getWalk, insertRun, insertWalks, runningRunIds, runningWalks, TERMINAL_RUN, type RunEnd, type RunRow, type WalkRow } from '../warehouse/walks.js';
import { logRunFinished } from './run-end.js';
import { definitionOf, sourceOf, whereOf, type EngineContext } from './context.js';
import { PagePrefetch } from './prefetch.js';
import { buildLanes, type Lane, type PageJobData } from './lanes.js';
import { failAndReport, processPage, type PageOutcome } from './page-job.js';
import { PageQueue } from './page-queue.js';
import { plannedWalks } from './walk-start.js';

export { laneQueueName, type Lane, type PageJobData } from './lanes.js';
export { BACKFILL_PRIORITY, pagePriority } from '../sync/walk-plan.js';
export type { RunRow, WalkRow } from '../warehouse/walks.js';

/** Options of Engine. Everything is passed in; the engine owns none of these connections. */
export interface EngineOptions {
  db: Kysely<Database>;
  /** ioredis connection with maxRetriesPerRequest: null (BullMQ requires it). */
  redis: RedisClient;
  sources: Map<string, ResolvedSource>;
  worker: WorkerSettings;
  /** BullMQ key prefix; tests use their own. */
  prefix: string;
  logger: Logger;
  /** Receives request, row, wait and walk-duration counts; optional. */
  metrics?: EngineMetrics;
  /** Receives the 'error' events of the lane queues and workers (a lost Redis); default: logged. */
  onRedisError?: (err: Error) => void;
}

/** Options of Engine.startRun(). */
export interface StartRunOptions {
  resources?: readonly string[];
  trigger: string;
  mode?: 'full' | 'incremental';
  /** Stored in sync_walks.since of every walk of the run (vendors that filter by date use it). */
  since?: Date | null;
}

/**
 * The sync engine's facade: lanes, workers, runs, pauses. One job performs one vendor request;
 * its rows and the walk's cursor commit in one transaction (docs/design.md). The stages live in
 * page-job.ts (the page frame), failure-policy.ts, walk-start.ts, session-lock.ts and
 * src/sync/ (pure decisions), src/warehouse/walks.ts (SQL).
 */
export class Engine {
  readonly lanes: Map<string, Lane>;
  private readonly ctx: EngineContext;
  private readonly queue: PageQueue;
  private readonly workers: Worker<PageJobData>[] = [];

  constructor(opts: EngineOptions) {
    this.lanes = buildLanes(opts.sources.values(), { redis: opts.redis, prefix: opts.prefix, worker: opts.worker, metrics: opts.metrics });
    this.ctx = { db: opts.db, redis: opts.redis, prefix: opts.prefix, sources: opts.sources, lanes: this.lanes, worker: opts.worker, log: opts.logger, metrics: opts.metrics, ...(opts.worker.fetchAhead ? { prefetch: new PagePrefetch() } : {}) };
    this.queue = new PageQueue(this.ctx);
    this.onRedisError = opts.onRedisError ?? ((err) => opts.logger.error({ err: err.message }, 'redis error'));
    // A BullMQ queue without an 'error' listener prints each connection error's stack to stderr.
    for (const lane of this.lanes.values()) lane.queue.on('error', this.onRedisError);
  }

  private readonly onRedisError: (err: Error) => void;

  /**
   * Starts a run of a source, or joins the one already running (a run is never started twice).
   * Root walks (resources not nested under another) are created now; nested ones when their
   * parent walk completes. Returns the run id and whether an existing run was resumed.
   */
  async startRun(sourceId: string, opts: StartRunOptions): Promise<{ runId: string; resumed: boolean }> {
    const { db, log } = this.ctx;
    const src = sourceOf(this.ctx, sourceId);
    const resources = expandResources(src, opts.resources);
    const disabled = await disabledResources(db, src.id);
    // One running run per source and kind: a backfill goes beside regular runs, never twice.
    const backfill = opts.trigger === 'backfill';
    const existing = await findRunningRun(db, src.id, backfill);
    if (existing) return this.join(existing);
    const mode = opts.mode ?? 'full';
    let runId: string;
    let emptyEnd: RunEnd | null = null;
    try {
      runId = await db.transaction().execute(async (trx) => {
        const id = await insertRun(trx, { sourceId: src.id, vendor: src.vendor.vendor, trigger: opts.trigger, mode, resources });
        const roots = resources.filter((r) => !definitionOf(src, r).parent && !disabled.has(r));
        // One root walk per root scope: '-' unless the vendor walks each of several (OUs).
        const scopes = src.vendor.rootScopes?.() ?? ['-'];
        for (const r of roots) {
          await insertWalks(trx, await plannedWalks(trx, { runId: id, src, def: definitionOf(src, r), scopes, runMode: mode, runSince: opts.since ?? null, parentWalkId: null }));
        }
        if (roots.length === 0) emptyEnd = await finalizeRunIfDone(trx, id);
        return id;
      });
    } catch (err) {
      // Another process started one between our check and insert: join it.
      const again = (err as { code?: string }).code === '23505' ? await findRunningRun(db, src.id, backfill) : null;
      if (again) return this.join(again);
      throw err;
    }
    await this.ensureJobs(runId);
    log.info({ source: src.id, runId, resources, mode, trigger: opts.trigger, since: opts.since ?? undefined }, 'run started');
    await logRunFinished(db, log, emptyEnd);
    return { runId, resumed: false };
  }

  private async join(runId: string): Promise<{ runId: string; resumed: true }> {
    await this.ensureJobs(runId);
    return { runId, resumed: true };
  }

  /**
   * Makes sure every running walk of a run has its current page job queued. Idempotent (job ids
   * are deterministic); this is how a run resumes after a crash or a lost Redis.
   */
  async ensureJobs(runId: string): Promise<number> {
    const walks = await runningWalks(this.ctx.db, runId);
    for (const w of walks) await this.queue.enqueue(w, w.pages, true);
    return walks.length;
  }

  /**
   * Gives every running walk of the configured sources' running runs its current page job back
   * when it has none waiting, delayed, prioritized or active (Redis restarted without persistence,
   * a job lost with its final failure unrecorded). Returns the runs looked at and how many jobs
   * were added. Idempotent; a duplicate is harmless (the committed-page check). `settledMs`
   * skips walks changed more recently than that: a walk just created or advanced by another
   * process may not have its job yet, and is not stranded.
   */
  async requeueStranded(opts: { settledMs?: number } = {}): Promise<{ runs: string[]; requeued: number }> {
    const runs = await runningRunIds(this.ctx.db, [...this.ctx.sources.keys()]);
    const before = Date.now() - (opts.settledMs ?? 0);
    let requeued = 0;
    for (const id of runs) {
      for (const w of await runningWalks(this.ctx.db, id)) {
        if (new Date(w.updated_at).getTime() > before) continue;
        if (await this.queue.enqueue(w, w.pages, true)) requeued++;
      }
    }
    return { runs, requeued };
  }

  /** Re-queues the running runs of the configured sources (worker start). Returns their ids. */
  async resumeRunningRuns(): Promise<string[]> {
    const ids = await runningRunIds(this.ctx.db, [...this.ctx.sources.keys()]);
    for (const id of ids) await this.ensureJobs(id);
    return ids;
  }

  /** Processes one page job (see page-job.ts). Exposed for tests and custom workers. */
  async processPage(job: Job<PageJobData>, token?: string): Promise<PageOutcome> {
    const leave = this.ctx.prefetch?.enter(job.queueName);
    try {
      return await processPage({ ctx: this.ctx, queue: this.queue, pauseSourceQueues: (id) => this.pauseSourceQueues(id) }, job, token);
    } finally {
      leave?.();
    }
  }

  /** Pauses every lane queue of a source in BullMQ (all worker processes stop taking its jobs). */
  async pauseSourceQueues(sourceId: string): Promise<void> {
    for (const lane of this.lanes.values()) if (lane.sourceId === sourceId && !(await lane.queue.isPaused())) await lane.queue.pause();
  }

  /** Pauses a source in every process until resumeSource: recorded in Postgres with `reason`, lanes paused in Redis. */
  async pauseSource(sourceId: string, reason: string): Promise<void> {
    sourceOf(this.ctx, sourceId);
    await pauseSource(this.ctx.db, sourceId, reason);
    await this.pauseSourceQueues(sourceId);
  }

  /**
   * Clears a source's pause (402 or `pause` command) and resumes its lanes in every process: the
   * held jobs continue the same run from their committed cursors. Also lifts the lane limits the
   * paused jobs set while bouncing, so workers do not sit out a stale wait after the resume.
   */
  async resumeSource(sourceId: string): Promise<void> {
    sourceOf(this.ctx, sourceId);
    await clearSourcePause(this.ctx.db, sourceId);
    await clearWaiting(this.ctx.db, sourceId);
    for (const lane of this.lanes.values()) {
      if (lane.sourceId !== sourceId) continue;
      await lane.gate.clearPause();
      await lane.queue.removeRateLimitKey();
      await lane.queue.resume();
    }
  }

  /** Re-enables a resource a 410 disabled for a source. Returns false when it was not disabled. */
  enableResource(sourceId: string, resource: string): Promise<boolean> {
    return enableResource(this.ctx.db, sourceId, resource);
  }

  /**
   * Starts one BullMQ worker per lane of the given sources (default: all), with the lane's limit
   * as the BullMQ limiter. Safe to call in any number of processes at once.
   */
  startWorkers(sourceIds?: readonly string[]): void {
    const want = sourceIds ? new Set(sourceIds) : null;
    const { worker: settings, log } = this.ctx;
    for (const [name, lane] of this.lanes) {
      if (want && !want.has(lane.sourceId)) continue;
      const first = lane.windows[0];
      const worker = new Worker<PageJobData>(name, (job, token) => this.processPage(job, token), {
        connection: this.ctx.redis,
        prefix: this.ctx.prefix,
        concurrency: lane.concurrency,
        // A token-bucket-only lane has no fixed window: the gate alone paces it.
        ...(first ? { limiter: { max: first.max, duration: first.durationMs } } : {}),
        lockDuration: settings.lockDurationMs,
        stalledInterval: Math.max(1000, Math.floor(settings.lockDurationMs / 2)),
        // A page job may be interrupted by many crashes; attempts, not stalls, decide failure.
        maxStalledCount: 20,
        autorun: true,
      });
      worker.on('failed', (job, err) => {
        if (!job) return;
        // Safety net: a job that BullMQ failed on its own (too many stalls) must not leave its walk running.
        // Left undone when Postgres is away: the reconciler gives the walk its job back later.
        void this.onJobFailed(job, err).catch((e: unknown) => log[postgresConnectionReason(e) ? 'debug' : 'error']({ err: (e as Error).message }, 'failed-job bookkeeping failed'));
      });
      worker.on('error', this.onRedisError);
      this.workers.push(worker);
    }
  }

  private async onJobFailed(job: Job<PageJobData>, err: Error): Promise<void> {
    const walk: WalkRow | undefined = await getWalk(this.ctx.db, job.data.walkId);
    if (!walk || walk.status !== 'running' || walk.pages !== job.data.page) return;
    const final = err instanceof UnrecoverableError || err.name === 'UnrecoverableError' || job.attemptsMade >= (job.opts.attempts ?? 1);
    if (!final) return;
    const message = err.message.startsWith(walk.source_id) ? err.message : `${whereOf(this.ctx, walk, job.data.page)}: ${err.message}`;
    await failAndReport(this.ctx, [walk.id], walk.run_id, { message, status: null, requestId: null });
  }

  /**
   * Polls until a run ends (or `signal` aborts) and returns its row. Never throws on a failed
   * run: the caller reads its status.
   */
  async waitForRun(runId: string, opts: { signal?: AbortSignal; pollMs?: number; onPoll?: () => Promise<void> | void } = {}): Promise<RunRow> {
    for (;;) {
      const run = await getRun(this.ctx.db, runId);
      if (TERMINAL_RUN.has(run.status)) return run;
      if (opts.signal?.aborted) return run;
      await opts.onPoll?.();
      await new Promise<void>((resolve) => {
        const onAbort = () => {
          clearTimeout(t);
          resolve();
        };
        const t = setTimeout(() => {
          opts.signal?.removeEventListener('abort', onAbort);
          resolve();
        }, opts.pollMs ?? 200);
        opts.signal?.addEventListener('abort', onAbort, { once: true });
      });
    }
  }

  /**
   * Stops the workers after the pages in hand (each commits or is left to be redelivered),
   * then closes the queues. Does not close the db or redis passed in.
   */
  async close(): Promise<void> {
    this.ctx.prefetch?.close();
    await Promise.all(this.workers.map((w) => w.close()));
    this.workers.length = 0;
    await Promise.all([...this.lanes.values()].map((l) => l.queue.close()));
  }
}
