import { UnrecoverableError, Worker, type Job, type Queue } from 'bullmq';
import type { RedisClient } from '../redis.js';
import type { Kysely } from 'kysely';
import type { WorkerSettings } from '../config.js';
import { postgresConnectionReason } from '../infra-errors.js';
import type { Logger } from '../logger.js';
import type { EngineMetrics } from '../metrics.js';
import { expandResources, type ResolvedSource } from '../sources.js';
import { pageWhere } from '../sync/where.js';
import type { Database } from '../warehouse/db.js';
import { clearSourcePause, enableResource, pauseSource } from '../warehouse/source-state.js';
import { clearWaiting, findRunningRun, getRun, getWalk, runningRunIds, runningWalks, TERMINAL_RUN, type RunEnd, type RunRow, type WalkRow } from '../warehouse/walks.js';
import { TableStatistics } from './commit-report.js';
import { headStartOf, NO_HEAD_START, type HeadStart } from './head-start/index.js';
import { PagePrefetch } from './head-start/prefetch.js';
import { logRunFinished } from './run-end.js';
import { buildLanes, laneQueueName, type Lane, type PageJobData } from './lanes.js';
import { failAndReport, processPage, type PageJobDeps, type PageOutcome } from './page-job.js';
import type { WalkRoute } from './page-ref.js';
import { PageQueue } from './page-queue.js';
import { definitionOf, insertRunWithRoots } from './walk-start.js';

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

/** A lane and the queue its page jobs wait on (status, metrics and the dashboard read them). */
export interface LaneView {
  lane: Lane;
  queue: Queue<PageJobData>;
}

/**
 * The sync engine's facade: lanes, workers, runs, pauses. One job performs one vendor request;
 * its rows and the walk's cursor commit in one transaction (docs/design.md). The stages live in
 * page-job.ts (the page frame), commit.ts, head-start/, failure-policy.ts, walk-start.ts,
 * session-lock.ts and src/sync/ (pure decisions), src/warehouse/ (SQL).
 */
export class Engine {
  private readonly lanes: Map<string, Lane>;
  private readonly sources: Map<string, ResolvedSource>;
  private readonly db: Kysely<Database>;
  private readonly log: Logger;
  private readonly settings: WorkerSettings;
  private readonly queue: PageQueue;
  private readonly headStart: HeadStart;
  private readonly deps: PageJobDeps;
  private readonly workers: Worker<PageJobData>[] = [];
  private readonly onRedisError: (err: Error) => void;

  constructor(private readonly opts: EngineOptions) {
    const { db, logger: log, metrics, worker } = opts;
    this.db = db;
    this.log = log;
    this.settings = worker;
    this.sources = opts.sources;
    this.lanes = buildLanes(opts.sources.values(), { redis: opts.redis, prefix: opts.prefix, worker, metrics });
    this.onRedisError = opts.onRedisError ?? ((err) => log.error({ err: err.message }, 'redis error'));
    this.queue = new PageQueue({ db, redis: opts.redis, prefix: opts.prefix, worker, names: this.lanes.keys(), queueNameOf: (w) => this.route(w).lane.name, onRedisError: this.onRedisError });
    const commitDeps = { db, log, metrics, stats: new TableStatistics(db, log), maxInProcessWaitMs: worker.maxInProcessWaitMs };
    this.headStart = worker.fetchAhead ? headStartOf({ ...commitDeps, store: new PagePrefetch(), madeAhead: new WeakSet() }) : NO_HEAD_START;
    this.deps = {
      ...commitDeps,
      routeOf: (w) => this.route(w),
      queue: this.queue,
      headStart: this.headStart,
      session: { db, redis: opts.redis, prefix: opts.prefix, log, requestTimeoutMs: worker.requestTimeoutMs },
      worker,
      pauseSourceQueues: (id) => this.pauseSourceQueues(id),
    };
  }

  /** The configured source `id`; throws when it is not in the configuration. */
  private source(id: string): ResolvedSource {
    const s = this.sources.get(id);
    if (!s) throw new Error(`source "${id}" is not in the configuration`);
    return s;
  }

  /** The route of a walk: its source, resource definition and lane. Throws when one is not configured. */
  private route(walk: Pick<WalkRow, 'source_id' | 'resource'>): WalkRoute {
    const src = this.source(walk.source_id);
    const def = definitionOf(src, walk.resource);
    const lane = this.lanes.get(laneQueueName(src.id, def.lane));
    if (!lane) throw new Error(`${src.id}: no lane "${def.lane}" for ${def.name}`);
    return { src, def, lane };
  }

  /** The lanes of a source (all sources when none is given), each with its queue. */
  lanesOf(sourceId?: string): LaneView[] {
    return [...this.lanes.values()].filter((l) => sourceId === undefined || l.sourceId === sourceId).map((lane) => ({ lane, queue: this.queue.queue(lane.name) }));
  }

  /** The lane a resource of a source goes through; undefined when either is not configured. */
  laneOf(sourceId: string, resource: string): Lane | undefined {
    const def = this.sources.get(sourceId)?.vendor.resources.find((r) => r.name === resource);
    return def ? this.lanes.get(laneQueueName(sourceId, def.lane)) : undefined;
  }

  /**
   * Starts a run of a source, or joins the one already running (a run is never started twice).
   * Root walks (resources not nested under another) are created now; nested ones when their
   * parent walk completes. Returns the run id and whether an existing run was resumed.
   */
  async startRun(sourceId: string, opts: StartRunOptions): Promise<{ runId: string; resumed: boolean }> {
    const src = this.source(sourceId);
    const resources = expandResources(src, opts.resources);
    // One running run per source and kind: a backfill goes beside regular runs, never twice.
    const backfill = opts.trigger === 'backfill';
    const existing = await findRunningRun(this.db, src.id, backfill);
    if (existing) return this.join(existing);
    const mode = opts.mode ?? 'full';
    let started: { runId: string; emptyEnd: RunEnd | null };
    try {
      started = await insertRunWithRoots(this.db, { src, resources, mode, trigger: opts.trigger, since: opts.since ?? null });
    } catch (err) {
      // Another process started one between our check and insert: join it.
      const again = (err as { code?: string }).code === '23505' ? await findRunningRun(this.db, src.id, backfill) : null;
      if (again) return this.join(again);
      throw err;
    }
    await this.ensureJobs(started.runId);
    this.log.info({ source: src.id, runId: started.runId, resources, mode, trigger: opts.trigger, since: opts.since ?? undefined }, 'run started');
    await logRunFinished(this.db, this.log, started.emptyEnd);
    return { runId: started.runId, resumed: false };
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
    const walks = await runningWalks(this.db, runId);
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
    const runs = await runningRunIds(this.db, [...this.sources.keys()]);
    const before = Date.now() - (opts.settledMs ?? 0);
    let requeued = 0;
    for (const id of runs) {
      for (const w of await runningWalks(this.db, id)) {
        if (new Date(w.updated_at).getTime() > before) continue;
        if (await this.queue.enqueue(w, w.pages, true)) requeued++;
      }
    }
    return { runs, requeued };
  }

  /** Re-queues the running runs of the configured sources (worker start). Returns their ids. */
  async resumeRunningRuns(): Promise<string[]> {
    const ids = await runningRunIds(this.db, [...this.sources.keys()]);
    for (const id of ids) await this.ensureJobs(id);
    return ids;
  }

  /** Processes one page job (see page-job.ts). Exposed for tests and custom workers. */
  async processPage(job: Job<PageJobData>, token?: string): Promise<PageOutcome> {
    const leave = this.headStart.enter(job.queueName);
    try {
      return await processPage(this.deps, job, token);
    } finally {
      leave();
    }
  }

  /** Pauses every lane queue of a source in BullMQ (all worker processes stop taking its jobs). */
  async pauseSourceQueues(sourceId: string): Promise<void> {
    for (const { queue } of this.lanesOf(sourceId)) if (!(await queue.isPaused())) await queue.pause();
  }

  /** Pauses a source in every process until resumeSource: recorded in Postgres with `reason`, lanes paused in Redis. */
  async pauseSource(sourceId: string, reason: string): Promise<void> {
    this.source(sourceId);
    await pauseSource(this.db, sourceId, reason);
    await this.pauseSourceQueues(sourceId);
  }

  /**
   * Clears a source's pause (402 or `pause` command) and resumes its lanes in every process: the
   * held jobs continue the same run from their committed cursors. Also lifts the lane limits the
   * paused jobs set while bouncing, so workers do not sit out a stale wait after the resume.
   */
  async resumeSource(sourceId: string): Promise<void> {
    this.source(sourceId);
    await clearSourcePause(this.db, sourceId);
    await clearWaiting(this.db, sourceId);
    for (const { lane, queue } of this.lanesOf(sourceId)) {
      await lane.gate.clearPause();
      await queue.removeRateLimitKey();
      await queue.resume();
    }
  }

  /** Re-enables a resource a 410 disabled for a source. Returns false when it was not disabled. */
  enableResource(sourceId: string, resource: string): Promise<boolean> {
    return enableResource(this.db, sourceId, resource);
  }

  /**
   * Starts one BullMQ worker per lane of the given sources (default: all), with the lane's limit
   * as the BullMQ limiter. Safe to call in any number of processes at once.
   */
  startWorkers(sourceIds?: readonly string[]): void {
    const want = sourceIds ? new Set(sourceIds) : null;
    for (const { lane } of this.lanesOf()) {
      if (want && !want.has(lane.sourceId)) continue;
      const first = lane.windows[0];
      const worker = new Worker<PageJobData>(lane.name, (job, token) => this.processPage(job, token), {
        connection: this.opts.redis,
        prefix: this.opts.prefix,
        concurrency: lane.concurrency,
        // A token-bucket-only lane has no fixed window: the gate alone paces it.
        ...(first ? { limiter: { max: first.max, duration: first.durationMs } } : {}),
        lockDuration: this.settings.lockDurationMs,
        stalledInterval: Math.max(1000, Math.floor(this.settings.lockDurationMs / 2)),
        // A page job may be interrupted by many crashes; attempts, not stalls, decide failure.
        maxStalledCount: 20,
        autorun: true,
      });
      worker.on('failed', (job, err) => {
        if (!job) return;
        // Safety net: a job that BullMQ failed on its own (too many stalls) must not leave its walk running.
        // Left undone when Postgres is away: the reconciler gives the walk its job back later.
        void this.onJobFailed(job, err).catch((e: unknown) => this.log[postgresConnectionReason(e) ? 'debug' : 'error']({ err: (e as Error).message }, 'failed-job bookkeeping failed'));
      });
      worker.on('error', this.onRedisError);
      this.workers.push(worker);
    }
  }

  private async onJobFailed(job: Job<PageJobData>, err: Error): Promise<void> {
    const walk: WalkRow | undefined = await getWalk(this.db, job.data.walkId);
    if (!walk || walk.status !== 'running' || walk.pages !== job.data.page) return;
    const final = err instanceof UnrecoverableError || err.name === 'UnrecoverableError' || job.attemptsMade >= (job.opts.attempts ?? 1);
    if (!final) return;
    // The walk's source may be gone from the configuration since: its `where` needs no lane.
    const parent = this.sources.get(walk.source_id)?.vendor.resources.find((r) => r.name === walk.resource)?.parent;
    const message = err.message.startsWith(walk.source_id) ? err.message : `${pageWhere(walk, job.data.page, parent)}: ${err.message}`;
    await failAndReport(this.deps, [walk.id], walk.run_id, { message, status: null, requestId: null });
  }

  /**
   * Polls until a run ends (or `signal` aborts) and returns its row. Never throws on a failed
   * run: the caller reads its status.
   */
  async waitForRun(runId: string, opts: { signal?: AbortSignal; pollMs?: number; onPoll?: () => Promise<void> | void } = {}): Promise<RunRow> {
    for (;;) {
      const run = await getRun(this.db, runId);
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
    this.headStart.close();
    await Promise.all(this.workers.map((w) => w.close()));
    this.workers.length = 0;
    await this.queue.close();
  }
}
