import type { Job, Queue, Worker } from 'bullmq';
import type { Kysely } from 'kysely';
import type { WorkerSettings } from '../config.js';
import { ConfigError } from '../config-errors.js';
import { keepAliveAgents } from '../http/client.js';
import type { Logger } from '../logger.js';
import type { SourceRegistry } from '../source-registry.js';
import { overdueAfterMs, overduePageJobs } from '../overdue-jobs.js';
import { expandResources, type ResolvedSource } from '../sources.js';
import type { Database } from '../warehouse/db.js';
import { clearSourcePause, enableResource, pauseSource } from '../warehouse/source-state.js';
import { clearWaiting, findRunningRun, runningRuns, runningWalks, type RunEnd, type RunRow, type WalkRow } from '../warehouse/walks.js';
import { closeAfterPagesInHand, PagesInHand } from '../pages-in-hand.js';
import { TableStatistics } from './commit-report.js';
import { failAfterFinalFailure, failMisconfigured } from './job-failures.js';
import { headStartOf, NO_HEAD_START, type HeadStart } from './head-start/index.js';
import { PagePrefetch } from './head-start/prefetch.js';
import { laneInfos, type LaneInfo } from './lane-info.js';
import { LaneRegistry } from './lane-registry.js';
import { LaneSlots } from './lane-slots.js';
import { laneName, type Lane, type PageJobData } from './lanes.js';
import { admitPage } from './page-admission.js';
import { deferOf, failAndReport, processPage, type PageJobDeps, type PageOutcome } from './page-job.js';
import type { WalkRoute } from './page-ref.js';
import { pageQueueName, PageQueue } from './page-queue.js';
import { startPageWorker } from './page-workers.js';
import { logRunFinished } from './run-end.js';
import { requeueStranded, workableRuns, type RequeueDeps } from './run-requeue.js';
import { waitForRun, type RunWaitOptions } from './run-wait.js';
import { definitionOf, insertRunWithRoots } from './walk-start.js';
import type { EngineOptions, StartRunOptions } from './engine-options.js';

export { type Lane, type PageJobData } from './lanes.js';
export { pageQueueName } from './page-queue.js';
export { BACKFILL_PRIORITY, pagePriority } from '../sync/walk-plan.js';
export type { RunRow, WalkRow } from '../warehouse/walks.js';
export type { EngineOptions, StartRunOptions } from './engine-options.js';

/**
 * The sync engine's facade: queues, workers, runs, pauses. One job performs one vendor request;
 * its rows and the walk's cursor commit in one transaction (docs/design.md). Page jobs of every
 * source of a vendor share one queue; a source's lanes are opened on its first page and closed
 * when idle (lane-registry.ts), so an idle source costs no connection, timer or memory here. The
 * stages live in page-job.ts (the page frame), commit.ts, head-start/, failure-policy.ts,
 * walk-start.ts, session-lock.ts and src/sync/ (pure decisions), src/warehouse/ (SQL).
 */
export class Engine {
  private readonly sources: SourceRegistry;
  private readonly db: Kysely<Database>;
  private readonly log: Logger;
  private readonly queue: PageQueue;
  private readonly slots = new LaneSlots();
  private readonly lanes: LaneRegistry;
  private readonly headStart: HeadStart;
  private readonly deps: PageJobDeps;
  private readonly workers = new Map<string, Worker<PageJobData>>();
  /** Page jobs this process is working on (src/pages-in-hand.ts): what a shutdown waits for. */
  readonly pagesInHand = new PagesInHand();
  private readonly onRedisError: (err: Error) => void;
  /** The sources this process works (worker --source); null: all. */
  private served: ReadonlySet<string> | null = null;
  private pruneTimer: NodeJS.Timeout | null = null;

  constructor(private readonly opts: EngineOptions) {
    const { db, logger: log, metrics, worker } = opts;
    this.db = db;
    this.log = log;
    this.sources = opts.sources;
    this.lanes = new LaneRegistry({ redis: opts.redis, prefix: opts.prefix, worker, metrics, agents: keepAliveAgents() }, this.slots);
    this.onRedisError = opts.onRedisError ?? ((err) => log.error({ err: err.message }, 'redis error'));
    this.queue = new PageQueue({ db, redis: opts.redis, prefix: opts.prefix, worker, queueNameOf: (w) => this.queueNameOf(w.source_id), onRedisError: this.onRedisError });
    const commitDeps = { db, log, metrics, stats: new TableStatistics(db, log), maxInProcessWaitMs: worker.maxInProcessWaitMs };
    metrics?.trackOverdue?.(() => overduePageJobs(this.queues(), overdueAfterMs(worker)));
    this.headStart = worker.fetchAhead ? headStartOf({ ...commitDeps, store: new PagePrefetch(Date.now, this.slots), madeAhead: new WeakSet() }) : NO_HEAD_START;
    this.deps = {
      ...commitDeps,
      routeOf: (w) => this.route(w),
      queue: this.queue,
      headStart: this.headStart,
      session: { db, redis: opts.redis, prefix: opts.prefix, log, requestTimeoutMs: worker.requestTimeoutMs },
      worker,
    };
  }

  /** The worker settings the engine was built with. */
  get settings(): WorkerSettings {
    return this.opts.worker;
  }

  /** The source `id` with its credentials; throws when it is not configured (or does not resolve: ConfigError). */
  private source(id: string): ResolvedSource {
    const s = this.sources.get(id);
    if (!s) throw new Error(`source "${id}" is not in the configuration`);
    return s;
  }

  /** The source `id` without credentials (run starts and status send no request). */
  private described(id: string): ResolvedSource {
    const s = this.sources.describe(id);
    if (!s) throw new Error(`source "${id}" is not in the configuration`);
    return s;
  }

  private queueNameOf(sourceId: string): string {
    const vendor = this.sources.configOf(sourceId)?.vendor;
    if (vendor === undefined) throw new Error(`source "${sourceId}" is not in the configuration`);
    return pageQueueName(vendor);
  }

  /** The route of a walk: its source, resource definition and lane (opened if it is not). Throws when one is not configured. */
  private route(walk: Pick<WalkRow, 'source_id' | 'resource'>): WalkRoute {
    const src = this.source(walk.source_id);
    const def = definitionOf(src, walk.resource);
    return { src, def, lane: this.lanes.lane(src, def.lane) };
  }

  /** A source's lane of a class (opened if it is not), for requests outside walks (src/events/). Throws when either is not configured. */
  openLane(sourceId: string, laneClass: string): { src: ResolvedSource; lane: Lane } {
    const src = this.source(sourceId);
    return { src, lane: this.lanes.lane(src, laneClass) };
  }

  /** The lanes of a source with their limits and gates (no client, no credentials); [] when it is not configured. */
  lanesOf(sourceId: string): LaneInfo[] {
    const src = this.sources.has(sourceId) ? this.described(sourceId) : undefined;
    return src ? laneInfos(src, this.opts.redis, this.opts.prefix) : [];
  }

  /** The lane a resource of a source goes through; undefined when either is not configured. */
  laneOf(sourceId: string, resource: string): LaneInfo | undefined {
    const def = this.sources.has(sourceId) ? this.described(sourceId).vendor.resources.find((r) => r.name === resource) : undefined;
    return def ? this.lanesOf(sourceId).find((l) => l.laneClass === def.lane) : undefined;
  }

  /** The page queue of every vendor with a configured source (status, metrics and the dashboard read them). */
  queues(): Queue<PageJobData>[] {
    const vendors = new Set(this.sources.list().map((s) => s.vendor));
    return [...vendors].sort().map((v) => this.queue.queue(pageQueueName(v)));
  }

  /** The state of a walk's current page job in Redis ('waiting', 'delayed', 'active', …), or null when it has none. */
  async jobState(walk: WalkRow): Promise<string | null> {
    if (!this.sources.has(walk.source_id)) return null;
    return await this.queue.jobState(walk, walk.pages);
  }

  /**
   * Starts a run of a source, or joins the one already running (a run is never started twice).
   * Root walks (resources not nested under another) are created now; nested ones when their
   * parent walk completes. Returns the run id and whether an existing run was resumed. Needs no
   * credentials: the workers resolve them when they make the requests.
   */
  async startRun(sourceId: string, opts: StartRunOptions): Promise<{ runId: string; resumed: boolean }> {
    const src = this.described(sourceId);
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
   * are deterministic); this is how a run resumes after a crash, a lost Redis or a pause.
   */
  async ensureJobs(runId: string): Promise<number> {
    const walks = await runningWalks(this.db, runId);
    for (const w of walks) await this.queue.enqueue(w, w.pages, true);
    return walks.length;
  }

  /**
   * Gives every running walk of this process's sources its current page job back when it has
   * none (run-requeue.ts). Returns the runs looked at and how many jobs were added.
   */
  requeueStranded(opts: { settledMs?: number } = {}): Promise<{ runs: string[]; requeued: number }> {
    return requeueStranded(this.requeueDeps(), opts.settledMs ?? 0);
  }

  /** Re-queues the running runs of this process's sources (worker start). Returns their ids. */
  async resumeRunningRuns(): Promise<string[]> {
    const ids = await workableRuns(this.requeueDeps());
    for (const id of ids) await this.ensureJobs(id);
    return ids;
  }

  private requeueDeps(): RequeueDeps {
    return { db: this.db, queue: this.queue, works: (id) => this.sources.has(id) && (this.served?.has(id) ?? true) };
  }

  /**
   * Processes one page job (page-job.ts) once admitted here (page-admission.ts): a job of a source
   * this process does not know or work, or whose lane is full here, waits or is put back. `token`
   * is the job's lock (a worker's). Exposed for tests and custom workers.
   */
  async processPage(job: Job<PageJobData>, token?: string): Promise<PageOutcome> {
    const { sourceId, resource } = job.data;
    const defer = deferOf(job, token);
    let leave = () => undefined as void;
    try {
      const known = this.sources.has(sourceId) || (this.sourcesChanged(await this.sources.refreshSoon()), this.sources.has(sourceId));
      const src = known ? this.sources.describe(sourceId) : undefined;
      const laneClass = src?.vendor.resources.find((r) => r.name === resource)?.lane ?? '';
      const lane = laneName(sourceId, laneClass);
      const concurrency = src?.lanes.get(laneClass)?.concurrency ?? 1;
      const at = { inHand: this.slots.count(lane), waiting: this.slots.waiting(lane), concurrency, ageMs: Date.now() - job.timestamp };
      const admission = admitPage({ known, servedHere: this.served?.has(sourceId) ?? true, ...at }, Math.random());
      if (!admission.run) return await defer(admission.ms);
      leave = await this.slots.take(lane, concurrency);
      return await processPage(this.deps, job, defer);
    } catch (err) {
      if (err instanceof ConfigError) return await failMisconfigured(this.deps, job, err);
      throw err;
    } finally {
      leave();
    }
  }

  /** Drops what this process holds for sources that changed or were removed (their lanes reopen from the new configuration). */
  sourcesChanged(ids: readonly string[]): void {
    if (ids.length > 0) this.lanes.forget(ids);
  }

  /** Pauses a source in every process until resumeSource: recorded in Postgres with `reason`; its page jobs end without a request. */
  async pauseSource(sourceId: string, reason: string): Promise<void> {
    this.described(sourceId);
    await pauseSource(this.db, sourceId, reason);
  }

  /**
   * Clears a source's pause (402 or `pause` command) and queues its running walks' pages again:
   * they continue the same run from their committed cursors. Also lifts the pause a 429 or a
   * spent window left in its lanes' gates, so no stale wait outlives the resume.
   */
  async resumeSource(sourceId: string): Promise<void> {
    this.described(sourceId);
    await clearSourcePause(this.db, sourceId);
    await clearWaiting(this.db, sourceId);
    for (const lane of this.lanesOf(sourceId)) await lane.gate.clearPause();
    for (const run of await runningRuns(this.db, sourceId)) await this.ensureJobs(run.id);
  }

  /** Re-enables a resource a 410 disabled for a source. Returns false when it was not disabled. */
  enableResource(sourceId: string, resource: string): Promise<boolean> {
    return enableResource(this.db, sourceId, resource);
  }

  /**
   * Starts one BullMQ worker per vendor page queue (all vendors, or those of `sourceIds`, which
   * are then the only sources this process works). Safe to call in any number of processes at once.
   */
  startWorkers(sourceIds?: readonly string[]): void {
    // Additive: a process asked to work all sources keeps working all; one asked for some adds these.
    if (!sourceIds) this.served = null;
    else if (this.served !== null || this.workers.size === 0) this.served = new Set([...(this.served ?? []), ...sourceIds]);
    const vendors = sourceIds ? sourceIds.map((id) => this.sources.configOf(id)?.vendor ?? '') : this.sources.vendorNames();
    for (const name of new Set(vendors.filter((v) => v !== '').map(pageQueueName))) {
      if (this.workers.has(name)) continue;
      const opts = { redis: this.opts.redis, prefix: this.opts.prefix, settings: this.opts.worker, log: this.log, onRedisError: this.onRedisError };
      this.workers.set(name, startPageWorker(name, { ...opts, process: (job, token) => this.pagesInHand.track(this.processPage(job, token)), onFinalFailure: (job, err) => failAfterFinalFailure(this.deps, job, err, (id) => (this.sources.has(id) ? this.described(id) : undefined)) }));
    }
    this.pruneTimer ??= setInterval(() => this.lanes.prune(), 60_000).unref();
  }

  /** Polls until a run ends (or `signal` aborts) and returns its row (run-wait.ts). */
  waitForRun(runId: string, opts: RunWaitOptions = {}): Promise<RunRow> {
    return waitForRun(this.db, runId, opts);
  }

  /**
   * Ends a source's running runs (its walks cancelled with `message`; committed rows and cursors
   * stay) and drops their queued page jobs: a source removed with `fleetsync sources remove`.
   * Returns the runs it ended.
   */
  async cancelSource(sourceId: string, message: string): Promise<string[]> {
    const runs = await runningRuns(this.db, sourceId);
    for (const run of runs) await this.cancelRun(run.id, sourceId, message);
    return runs.map((r) => r.id);
  }

  /**
   * Ends one run's running walks as cancelled with `message` and drops their queued page jobs;
   * committed rows and cursors stay, and a cancelled walk never sweeps (`fleetsync runs cancel`).
   * Returns how many walks it stopped.
   */
  async cancelRun(runId: string, sourceId: string, message: string): Promise<number> {
    const walks = await runningWalks(this.db, runId);
    // A job a worker holds now finds its walk cancelled when it commits, and stops there.
    if (this.sources.has(sourceId)) for (const w of walks) await this.queue.drop(w, w.pages);
    await failAndReport(this.deps, walks.map((w) => w.id), runId, { message, status: null, requestId: null }, 'cancelled');
    return walks.length;
  }

  /**
   * Stops the workers after the pages in hand (each commits or is left to be redelivered),
   * then closes the queues. Does not close the db or redis passed in.
   */
  async close(): Promise<void> {
    this.headStart.close();
    if (this.pruneTimer) clearInterval(this.pruneTimer);
    await closeAfterPagesInHand([...this.workers.values()], this.opts.redis.status === 'ready', this.pagesInHand);
    this.workers.clear();
    await this.queue.close();
  }
}
