import { randomBytes } from 'node:crypto';
import { DelayedError, Queue, UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { sql, type Kysely, type Selectable, type Transaction } from 'kysely';
import { DEFAULT_FULL_WALK_EVERY_MS, type TokenBucket, type WorkerSettings } from '../config.js';
import type { ResourceDefinition } from '../connector.js';
import { createHttpClient, type HttpGet } from '../http/client.js';
import { VendorError } from '../http/errors.js';
import type { Logger } from '../logger.js';
import type { EngineMetrics } from '../metrics.js';
import { stripNul } from '../normalize.js';
import { PageShapeError, PaginationLoopError, type Cursor, type PageContext } from '../pagination/types.js';
import { expandResources, type ResolvedSource } from '../sources.js';
import type { Database, SyncRunsTable, SyncWalksTable } from '../warehouse/db.js';
import { enableResource as enableResourceRow, pauseSource as pauseSourceRow } from '../warehouse/source-state.js';
import { sweepDeleted, upsertRows, type RowToUpsert } from '../warehouse/upsert.js';
import { LaneGate } from './lane-gate.js';

/** Data of a page job: which walk and which page. Never credentials. */
export interface PageJobData {
  walkId: string;
  page: number;
  sourceId: string;
  resource: string;
  scope: string;
}

export type WalkRow = Selectable<SyncWalksTable>;
export type RunRow = Selectable<SyncRunsTable>;

/** One lane: a BullMQ queue per (source, rate-limit class), its gate and limit. */
export interface Lane {
  sourceId: string;
  laneClass: string;
  queue: Queue<PageJobData>;
  gate: LaneGate;
  windows: ReadonlyArray<{ max: number; durationMs: number }>;
  tokenBucket?: TokenBucket;
  concurrency: number;
}

/** Options of Engine. Everything is passed in; the engine owns none of these connections. */
export interface EngineOptions {
  db: Kysely<Database>;
  /** ioredis connection with maxRetriesPerRequest: null (BullMQ requires it). */
  redis: Redis;
  sources: Map<string, ResolvedSource>;
  worker: WorkerSettings;
  /** BullMQ key prefix; tests use their own. */
  prefix: string;
  logger: Logger;
  /** Receives request, row, wait and walk-duration counts; optional. */
  metrics?: EngineMetrics;
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
 * BullMQ priority of the page jobs of a run started by `trigger`: backfills go behind everything
 * else in their lane (jobs without a priority are always taken first), so they never starve a
 * scheduled or manual sync of the same lane. undefined = no priority (taken first).
 */
export function pagePriority(trigger: string): number | undefined {
  return trigger === 'backfill' ? BACKFILL_PRIORITY : undefined;
}

/** Priority of backfill page jobs (BullMQ: larger is later; 0/none first). */
export const BACKFILL_PRIORITY = 1000;

const TERMINAL_RUN = new Set(['succeeded', 'failed', 'partial', 'cancelled']);

/** Name of a lane's BullMQ queue. BullMQ refuses ':' in names. */
export function laneQueueName(sourceId: string, laneClass: string): string {
  return `${sourceId}.${laneClass}`;
}

function jobId(walk: Pick<WalkRow, 'id' | 'job_key'>, page: number): string {
  // Custom ids must not look like integers nor contain ':'. The walk's random key keeps ids
  // unique when several databases share one Redis and prefix.
  return `w${walk.id}-${walk.job_key}-p${page}`;
}

/** How a new walk runs: full, or incremental from `since` (carrying the previous high-water mark). */
interface WalkPlan {
  mode: 'full' | 'incremental';
  since: Date | null;
  mark: Date | null;
}

const FULL_WALK: WalkPlan = { mode: 'full', since: null, mark: null };

function sameCursor(a: Cursor, b: Cursor): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** A failure that ends a walk, with the where-and-why already in its message. */
class WalkFailure extends Error {
  override name = 'WalkFailure';
  constructor(
    message: string,
    readonly status: number | null = null,
    readonly requestId: string | null = null,
  ) {
    super(message);
  }
}

/**
 * The sync engine: lanes, page jobs, runs and walks (DESIGN decisions 1-6).
 * One job performs one vendor request; its rows and the walk's cursor commit in one transaction.
 */
export class Engine {
  readonly lanes = new Map<string, Lane>();
  private readonly http = new Map<string, HttpGet>();
  private readonly workers: Worker<PageJobData>[] = [];
  // A run's trigger never changes, so its page priority is looked up once per run.
  private readonly runPriority = new Map<string, number | undefined>();
  private readonly db: Kysely<Database>;
  private readonly log: Logger;

  constructor(private readonly opts: EngineOptions) {
    this.db = opts.db;
    this.log = opts.logger;
    for (const src of opts.sources.values()) {
      for (const [laneClass, limit] of src.lanes) {
        const name = laneQueueName(src.id, laneClass);
        // One client per lane so every response is counted under its lane.
        this.http.set(
          name,
          createHttpClient({
            baseUrl: src.config.baseUrl,
            authHeaders: src.vendor.authHeaders(src.credentials),
            readError: src.vendor.readError,
            timeoutMs: opts.worker.requestTimeoutMs,
            maxInProcessWaitMs: opts.worker.maxInProcessWaitMs,
            quotaHeaders: src.vendor.quotaHeaders,
            onResponse: (status) => opts.metrics?.request(src.id, laneClass, status),
          }),
        );
        this.lanes.set(name, {
          sourceId: src.id,
          laneClass,
          queue: new Queue<PageJobData>(name, { connection: opts.redis, prefix: opts.prefix }),
          gate: new LaneGate(opts.redis, `${opts.prefix}:fleetsync-lane:${name}`, limit.windows ?? [], limit.tokenBucket),
          windows: limit.windows ?? [],
          tokenBucket: limit.tokenBucket,
          concurrency: limit.concurrency ?? 1,
        });
      }
    }
  }

  private source(id: string): ResolvedSource {
    const s = this.opts.sources.get(id);
    if (!s) throw new Error(`source "${id}" is not in the configuration`);
    return s;
  }

  private definition(src: ResolvedSource, resource: string): ResourceDefinition {
    const def = src.vendor.resources.find((r) => r.name === resource);
    if (!def) throw new Error(`${src.id}: vendor ${src.vendor.vendor} has no resource "${resource}"`);
    return def;
  }

  private laneOf(src: ResolvedSource, def: ResourceDefinition): Lane {
    const lane = this.lanes.get(laneQueueName(src.id, def.lane));
    if (!lane) throw new Error(`${src.id}: no lane "${def.lane}" for ${def.name}`);
    return lane;
  }

  private pageSize(src: ResolvedSource, def: ResourceDefinition): number {
    return Math.min(src.config.pageSize ?? def.pagination.defaultPageSize, def.pagination.maxPageSize);
  }

  private context(src: ResolvedSource, def: ResourceDefinition, walk: Pick<WalkRow, 'scope'> & Partial<Pick<WalkRow, 'mode' | 'since'>>, page: number): PageContext {
    const changedSince = walk.mode === 'incremental' && walk.since && def.incremental ? def.incremental.params(new Date(walk.since)) : {};
    return {
      scope: walk.scope,
      pageSize: this.pageSize(src, def),
      path: def.path(walk.scope, src.config),
      params: { ...(def.params?.(walk.scope) ?? {}), ...changedSince },
      baseUrl: src.config.baseUrl,
      first: page === 0,
    };
  }

  /** "automox-prod/devices org 42 page 7" */
  private where(walk: Pick<WalkRow, 'source_id' | 'resource' | 'scope'>, page: number): string {
    const src = this.opts.sources.get(walk.source_id);
    const def = src?.vendor.resources.find((r) => r.name === walk.resource);
    const scopeLabel = walk.scope === '-' ? 'scope -' : `${def?.parent ? singular(def.parent) : 'scope'} ${walk.scope}`;
    return `${walk.source_id}/${walk.resource} ${scopeLabel} page ${page}`;
  }

  /**
   * Starts a run of a source, or joins the one already running (a run is never started twice).
   * Root walks (resources not nested under another) are created now; nested ones when their
   * parent walk completes. Returns the run id and whether an existing run was resumed.
   */
  async startRun(sourceId: string, opts: StartRunOptions): Promise<{ runId: string; resumed: boolean }> {
    const src = this.source(sourceId);
    const resources = expandResources(src, opts.resources);
    const disabled = new Set(
      (await this.db.selectFrom('sync_disabled_resources').select('resource').where('source_id', '=', src.id).execute()).map((r) => r.resource),
    );
    // One running run per source and kind: a backfill goes beside regular runs, never twice.
    const backfill = opts.trigger === 'backfill';
    const running = () =>
      this.db
        .selectFrom('sync_runs')
        .select('id')
        .where('source_id', '=', src.id)
        .where('status', '=', 'running')
        .where(sql<boolean>`(trigger = 'backfill') = ${backfill}`)
        .executeTakeFirst();
    const existing = await running();
    if (existing) {
      await this.ensureJobs(existing.id);
      return { runId: existing.id, resumed: true };
    }
    const mode = opts.mode ?? 'full';
    let runId: string;
    try {
      runId = await this.db.transaction().execute(async (trx) => {
        const run = await trx
          .insertInto('sync_runs')
          .values({ source_id: src.id, trigger: opts.trigger, mode, resources, status: 'running', finished_at: null, error_status: null, error_message: null, error_request_id: null })
          .returning('id')
          .executeTakeFirstOrThrow();
        const roots = resources.filter((r) => !this.definition(src, r).parent && !disabled.has(r));
        for (const r of roots) {
          const def = this.definition(src, r);
          // One root walk per root scope: '-' unless the vendor walks each of several (OUs).
          const scopes = src.vendor.rootScopes?.() ?? ['-'];
          const plans = await this.planWalks(trx, src, def, scopes, mode, opts.since ?? null);
          for (const scope of scopes) {
            await trx
              .insertInto('sync_walks')
              .values(this.newWalk(run.id, src, def, scope, null, plans.get(scope) ?? FULL_WALK))
              .execute();
          }
        }
        if (roots.length === 0) await this.finalizeRunIfDone(trx, run.id);
        return run.id;
      });
    } catch (err) {
      // Another process started one between our check and insert: join it.
      if ((err as { code?: string }).code === '23505') {
        const again = await running();
        if (again) {
          await this.ensureJobs(again.id);
          return { runId: again.id, resumed: true };
        }
      }
      throw err;
    }
    await this.ensureJobs(runId);
    this.log.info({ source: src.id, runId, resources, mode, trigger: opts.trigger, since: opts.since ?? undefined }, 'run started');
    return { runId, resumed: false };
  }

  /**
   * Decides how new walks of a resource run (DESIGN decision 7): incremental only when the run
   * asks for it, the resource supports it, an earlier succeeded walk of the same scope left a
   * high-water mark, and a full walk of that scope succeeded within the source's `fullWalkEvery`
   * (default 7 days); otherwise full, so deletes are still detected periodically.
   */
  private async planWalks(
    db: Kysely<Database> | Transaction<Database>,
    src: ResolvedSource,
    def: ResourceDefinition,
    scopes: readonly string[],
    runMode: 'full' | 'incremental',
    runSince: Date | null,
  ): Promise<Map<string, WalkPlan>> {
    if (runSince !== null) {
      // A backfill --since: every walk of the run carries the date (nested walks inherit it from
      // their parent's); where the vendor filters by date the walk fetches only what changed since
      // then, so it is incremental and never marks deletes. Saved marks are ignored.
      const plan: WalkPlan = def.incremental ? { mode: 'incremental', since: runSince, mark: null } : { mode: 'full', since: runSince, mark: null };
      return new Map(scopes.map((s) => [s, plan]));
    }
    const plans = new Map<string, WalkPlan>(scopes.map((s) => [s, FULL_WALK]));
    if (runMode !== 'incremental' || !def.incremental || scopes.length === 0) return plans;
    let q = db
      .selectFrom('sync_walks')
      .select([
        'scope',
        sql<Date | null>`max(high_water_mark)`.as('mark'),
        sql<Date | null>`max(started_at) filter (where mode = 'full')`.as('last_full'),
      ])
      .where('source_id', '=', src.id)
      .where('resource', '=', def.name)
      .where('status', '=', 'succeeded');
    if (scopes.length <= 1000) q = q.where('scope', 'in', [...scopes]);
    const rows = await q.groupBy('scope').execute();
    const every = src.config.fullWalkEvery ?? DEFAULT_FULL_WALK_EVERY_MS;
    const overlap = def.incremental.overlapMs ?? 5 * 60_000;
    for (const r of rows) {
      if (!plans.has(r.scope) || !r.mark || !r.last_full) continue;
      if (Date.now() - new Date(r.last_full).getTime() > every) continue;
      const mark = new Date(r.mark);
      plans.set(r.scope, { mode: 'incremental', since: new Date(mark.getTime() - overlap), mark });
    }
    return plans;
  }

  private newWalk(runId: string, src: ResolvedSource, def: ResourceDefinition, scope: string, parentWalkId: string | null, plan: WalkPlan) {
    const { mode } = plan;
    const cursor = def.pagination.first(this.context(src, def, { scope, mode, since: plan.since }, 0));
    return {
      run_id: runId,
      source_id: src.id,
      resource: def.name,
      scope,
      parent_walk_id: parentWalkId,
      mode,
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

  /**
   * Makes sure every running walk of a run has its current page job queued. Idempotent (job ids
   * are deterministic); this is how a run resumes after a crash or a lost Redis.
   */
  async ensureJobs(runId: string): Promise<number> {
    const walks = await this.db.selectFrom('sync_walks').selectAll().where('run_id', '=', runId).where('status', '=', 'running').execute();
    for (const w of walks) await this.enqueue(w, w.pages, true);
    return walks.length;
  }

  /** Re-queues the running runs of the configured sources (worker start). Returns their ids. */
  async resumeRunningRuns(): Promise<string[]> {
    const ids = [...this.opts.sources.keys()];
    if (ids.length === 0) return [];
    const runs = await this.db.selectFrom('sync_runs').select('id').where('status', '=', 'running').where('source_id', 'in', ids).execute();
    for (const r of runs) await this.ensureJobs(r.id);
    return runs.map((r) => r.id);
  }

  private async priorityOf(runId: string): Promise<number | undefined> {
    if (!this.runPriority.has(runId)) {
      const run = await this.db.selectFrom('sync_runs').select('trigger').where('id', '=', runId).executeTakeFirst();
      this.runPriority.set(runId, run ? pagePriority(run.trigger) : undefined);
    }
    return this.runPriority.get(runId);
  }

  private async enqueue(walk: Pick<WalkRow, 'id' | 'job_key' | 'run_id' | 'source_id' | 'resource' | 'scope'>, page: number, repairFinished = false): Promise<void> {
    const src = this.source(walk.source_id);
    const lane = this.laneOf(src, this.definition(src, walk.resource));
    const id = jobId(walk, page);
    if (repairFinished) {
      // A job that already finished without committing its page (e.g. Redis restored from an
      // old snapshot) would block re-adding the same id.
      const old = await lane.queue.getJob(id);
      if (old) {
        const state = await old.getState();
        if (state === 'completed' || state === 'failed') await old.remove().catch(() => undefined);
        else return;
      }
    }
    await lane.queue.add(
      walk.resource,
      { walkId: walk.id, page, sourceId: walk.source_id, resource: walk.resource, scope: walk.scope },
      {
        jobId: id,
        priority: await this.priorityOf(walk.run_id),
        attempts: this.opts.worker.attempts,
        backoff: { type: 'exponential', delay: this.opts.worker.backoffMs, jitter: 0.5 },
        removeOnComplete: { count: 5000, age: 24 * 3600 },
        removeOnFail: { count: 5000, age: 7 * 24 * 3600 },
      },
    );
  }

  private async enqueueChildren(walkId: string): Promise<void> {
    const children = await this.db.selectFrom('sync_walks').selectAll().where('parent_walk_id', '=', walkId).where('status', '=', 'running').execute();
    for (const c of children) await this.enqueue(c, c.pages);
  }

  /**
   * Processes one page job: the whole of DESIGN decisions 1-4 for one request.
   * Returns a short outcome; throws BullMQ's RateLimitError / UnrecoverableError or a retryable error.
   */
  async processPage(job: Job<PageJobData>, token?: string): Promise<string> {
    const { walkId, page } = job.data;
    const startedAt = Date.now();
    const walk = await this.db.selectFrom('sync_walks').selectAll().where('id', '=', walkId).executeTakeFirst();
    if (!walk) return 'walk-gone';
    if (walk.status !== 'running') {
      await this.enqueueChildren(walk.id);
      return 'walk-finished';
    }
    if (walk.pages > page) {
      // Committed by an earlier delivery of this job: only make sure the walk goes on.
      await this.enqueue(walk, walk.pages);
      return 'already-committed';
    }
    if (walk.pages < page) return 'stale';

    const src = this.source(walk.source_id);
    const def = this.definition(src, walk.resource);
    const lane = this.laneOf(src, def);
    const where = this.where(walk, page);
    const ctx = this.context(src, def, walk, page);
    const cursor = (walk.cursor ?? def.pagination.first(ctx)) as Cursor;
    let releaseSession: (() => Promise<void>) | null = null;

    try {
      const paused = await this.db.selectFrom('sync_sources').select(['paused_at', 'paused_reason']).where('source_id', '=', src.id).executeTakeFirst();
      if (paused?.paused_at) {
        await this.pauseSourceQueues(src.id);
        // The paused queue holds the job; the short limit only keeps this worker from spinning
        // (a long one would keep it asleep well after `resume`).
        return await this.rateLimited(lane, walk, 1_000, `source paused: ${paused.paused_reason ?? ''}`, 'paused');
      }

      let body: unknown = null;
      let requestId: string | null = null;
      if (def.pagination.kind !== 'static') {
        const request = def.pagination.request(cursor, ctx);
        releaseSession = await this.enterSession(src, lane, walk, job, token);
        const wait = await lane.gate.take();
        if (wait > 0) return await this.rateLimited(lane, walk, wait, null, 'gate');
        const t0 = Date.now();
        const res = await this.http.get(lane.queue.name)!(request);
        this.log.trace({ where, ms: Date.now() - t0, status: res.status, requestId: res.requestId }, 'request');
        body = res.body;
        requestId = res.requestId;
        if (res.throttleMs > 0) await lane.gate.pauseUntil(Date.now() + res.throttleMs);
        await releaseSession?.();
        releaseSession = null;
      }
      const result = def.pagination.parse(body, cursor, ctx);
      if (result.next && sameCursor(result.next, cursor)) {
        throw new PaginationLoopError(`pagination loop: the next cursor ${JSON.stringify(result.next).slice(0, 300)} does not advance`);
      }
      const outcome = await this.commitPage(src, def, walk, page, result.records, result.next, result.total ?? null, where, requestId, startedAt);
      if (outcome.committed) {
        if (result.next) await this.enqueue(walk, page + 1);
        else await this.enqueueChildren(walk.id);
      }
      return outcome.committed ? 'committed' : 'raced';
    } catch (err) {
      await releaseSession?.().catch(() => undefined);
      return await this.handleFailure(err, job, src, lane, walk, where);
    }
  }

  /**
   * For vendors with session state (the partner API's active OU): takes the source's session
   * lock, makes the walk's state active if it is not (one request through the lane's gate) and
   * returns the release function; the caller makes its page request while holding the lock.
   * Returns null for walks that need no state. Throws DelayedError (job delayed, no attempt spent)
   * while another page of the source is in flight, or while walks of the active state still run,
   * so that states are switched once per set of walks rather than once per page.
   */
  private async enterSession(src: ResolvedSource, lane: Lane, walk: WalkRow, job: Job<PageJobData>, token: string | undefined): Promise<(() => Promise<void>) | null> {
    const session = src.vendor.session;
    const state = session?.stateOf(walk.scope) ?? null;
    if (!session || state === null) return null;
    const redis = this.opts.redis;
    const base = `${this.opts.prefix}:fleetsync-session:${src.id}`;
    const lockKey = `${base}:lock`;
    const activeKey = `${base}:active`;
    const mine = randomBytes(8).toString('hex');
    // Longer than any request may take, so a killed holder's lock frees itself.
    const ttl = this.opts.worker.requestTimeoutMs * 2 + 5_000;
    const release = async () => {
      await redis.eval(`if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`, 1, lockKey, mine);
    };
    const defer = async (ms: number): Promise<never> => {
      if (token === undefined) return await this.rateLimited(lane, walk, ms, null, 'gate');
      await job.moveToDelayed(Date.now() + ms, token);
      throw new DelayedError();
    };
    if ((await redis.set(lockKey, mine, 'PX', ttl, 'NX')) !== 'OK') return await defer(100);
    try {
      const active = await redis.get(activeKey);
      if (active !== state) {
        if (active !== null) {
          const running = await this.db.selectFrom('sync_walks').select('scope').where('source_id', '=', src.id).where('status', '=', 'running').execute();
          if (running.some((w) => session.stateOf(w.scope) === active)) {
            await release();
            return await defer(200);
          }
        }
        const wait = await lane.gate.take();
        if (wait > 0) {
          await release();
          return await this.rateLimited(lane, walk, wait, null, 'gate');
        }
        // Forget the old state first: after a failed switch we no longer know which one is active.
        await redis.del(activeKey);
        const req = session.activate(state);
        await this.http.get(lane.queue.name)!({ method: req.method, path: req.path, body: req.body });
        this.log.debug({ source: src.id, state }, 'session state activated');
      }
      // The vendor may forget an idle session; re-activate after a quiet spell.
      await redis.set(activeKey, state, 'PX', 5 * 60_000);
      return release;
    } catch (err) {
      await release();
      throw err;
    }
  }

  private async rateLimited(lane: Lane, walk: WalkRow, ms: number, reason: string | null, kind: 'gate' | 'vendor' | 'paused'): Promise<never> {
    const until = new Date(Date.now() + ms);
    this.opts.metrics?.laneWait(lane.sourceId, lane.laneClass, ms, kind);
    this.log.debug({ lane: lane.queue.name, ms, reason }, 'lane rate limited');
    if (reason !== null || ms > 5_000) {
      await this.db
        .updateTable('sync_walks')
        .set({ waiting_until: until, waiting_reason: reason ?? 'lane rate limit', updated_at: sql`now()` })
        .where('id', '=', walk.id)
        .execute();
    }
    await lane.queue.rateLimit(ms);
    throw Worker.RateLimitError();
  }

  private async commitPage(
    src: ResolvedSource,
    def: ResourceDefinition,
    walk: WalkRow,
    page: number,
    records: unknown[],
    next: Cursor | null,
    total: number | null,
    where: string,
    requestId: string | null,
    startedAt = Date.now(),
  ): Promise<{ committed: boolean }> {
    const rows = new Map<string, RowToUpsert>();
    const seen: string[] = [];
    const quarantine: Array<{ external_id: string | null; reason: string; raw: unknown }> = [];
    let repaired = 0;
    // Largest update time seen on this page: the walk's high-water mark (DESIGN decision 7).
    let markMs = Number.NEGATIVE_INFINITY;
    for (const original of records) {
      const { value: raw, repaired: fixed } = stripNul(original);
      if (fixed) repaired++;
      const parsed = def.record.safeParse(raw);
      if (!parsed.success) {
        const looseId = idOf(raw);
        if (looseId !== null) seen.push(looseId);
        const why = parsed.error.issues.slice(0, 5).map((i) => `${i.path.join('.') || '(record)'}: ${i.message}`).join('; ');
        quarantine.push({ external_id: looseId, reason: `${where}: invalid record: ${why}`, raw: JSON.stringify(raw ?? null) });
        continue;
      }
      try {
        const mapCtx = { sourceId: src.id, scope: walk.scope };
        const externalId = def.id(parsed.data, mapCtx);
        const columns = def.map(parsed.data, mapCtx);
        rows.set(externalId, { externalId, scope: walk.scope, columns, raw });
        seen.push(externalId);
        const updatedAt = def.incremental?.updatedAt(parsed.data);
        const t = updatedAt ? Date.parse(updatedAt) : Number.NaN;
        if (t > markMs) markMs = t;
      } catch (err) {
        const looseId = idOf(raw);
        if (looseId !== null) seen.push(looseId);
        quarantine.push({ external_id: looseId, reason: `${where}: cannot normalize: ${(err as Error).message}`, raw: JSON.stringify(raw ?? null) });
      }
    }

    let completed = false;
    // Set inside the transaction callback; a holder because TS does not track closure assignments.
    const out: { written?: { inserted: number; updated: number; unchanged: number } } = {};
    const committed = await this.db.transaction().execute(async (trx) => {
      const locked = await trx.selectFrom('sync_walks').select(['pages', 'status']).where('id', '=', walk.id).forUpdate().executeTakeFirst();
      if (!locked || locked.status !== 'running' || locked.pages !== page) return false;
      const counts = await upsertRows(trx, def.table, src.id, [...rows.values()]);
      if (walk.mode === 'full' && seen.length > 0) {
        await trx.insertInto('sync_walk_pages').values({ walk_id: walk.id, page, ids: seen }).onConflict((oc) => oc.doNothing()).execute();
      }
      if (quarantine.length > 0) {
        await trx
          .insertInto('sync_quarantine')
          .values(quarantine.map((q) => ({ source_id: src.id, resource: def.name, scope: walk.scope, run_id: walk.run_id, walk_id: walk.id, page, ...q })))
          .execute();
      }
      await trx
        .updateTable('sync_walks')
        .set((eb) => ({
          cursor: next === null ? null : JSON.stringify(next),
          pages: page + 1,
          records: eb('records', '+', records.length),
          inserted: eb('inserted', '+', counts.inserted),
          updated: eb('updated', '+', counts.updated),
          unchanged: eb('unchanged', '+', counts.unchanged),
          quarantined: eb('quarantined', '+', quarantine.length),
          repaired: eb('repaired', '+', repaired),
          total: total ?? walk.total,
          ...(Number.isFinite(markMs) ? { high_water_mark: sql<Date>`greatest(high_water_mark, ${new Date(markMs).toISOString()}::timestamptz)` } : {}),
          waiting_until: null,
          waiting_reason: null,
          updated_at: sql`now()`,
        }))
        .where('id', '=', walk.id)
        .execute();
      if (next === null) {
        await this.completeWalk(trx, src, def, walk);
        completed = true;
      }
      out.written = counts;
      return true;
    });
    if (committed && out.written) {
      this.opts.metrics?.rows(def.table, out.written);
      this.log.debug({ source: src.id, resource: def.name, scope: walk.scope, page, rows: records.length, ...out.written, requestId, ms: Date.now() - startedAt }, 'page committed');
    }
    if (committed && completed) {
      const w = await this.db.selectFrom('sync_walks').selectAll().where('id', '=', walk.id).executeTakeFirst();
      this.log.info(
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
          ms: w?.finished_at ? new Date(w.finished_at).getTime() - new Date(w.started_at).getTime() : undefined,
        },
        'walk complete',
      );
      if (w) {
        this.opts.metrics?.rows(def.table, { deleted: w.deleted });
        if (w.finished_at) this.opts.metrics?.walkFinished(src.id, def.name, 'succeeded', (new Date(w.finished_at).getTime() - new Date(w.started_at).getTime()) / 1000);
      }
    }
    return { committed };
  }

  private async completeWalk(trx: Transaction<Database>, src: ResolvedSource, def: ResourceDefinition, walk: WalkRow): Promise<void> {
    // Lock order everywhere: walk row, then run row. NO KEY UPDATE (not FOR UPDATE) so the
    // foreign-key checks of concurrent child-walk inserts (KEY SHARE) do not deadlock with it.
    await trx.selectFrom('sync_runs').select('id').where('id', '=', walk.run_id).forNoKeyUpdate().execute();
    // Only a full walk saw everything; an incremental one never marks deletes.
    const deleted = walk.mode === 'full' ? await sweepDeleted(trx, def.table, src.id, walk.scope, walk.id) : 0;
    await trx.deleteFrom('sync_walk_pages').where('walk_id', '=', walk.id).execute();
    await trx
      .updateTable('sync_walks')
      .set({ status: 'succeeded', deleted, finished_at: sql`now()`, updated_at: sql`now()` })
      .where('id', '=', walk.id)
      .execute();

    // Walks nested under this resource start now, one per live parent row of this walk's scope.
    const run = await trx.selectFrom('sync_runs').select(['resources', 'mode']).where('id', '=', walk.run_id).executeTakeFirstOrThrow();
    const disabled = new Set(
      (await trx.selectFrom('sync_disabled_resources').select('resource').where('source_id', '=', src.id).execute()).map((r) => r.resource),
    );
    const children = src.vendor.resources.filter((r) => r.parent === def.name && run.resources.includes(r.name) && !disabled.has(r.name));
    if (children.length > 0) {
      const parents = await trx
        .selectFrom(def.table)
        .select(['external_id', 'raw'])
        .where('source_id', '=', src.id)
        .where('scope', '=', walk.scope)
        .where('deleted_at', 'is', null)
        .orderBy('external_id')
        .execute();
      const values = [];
      for (const child of children) {
        const scopes: string[] = [];
        for (const p of parents) {
          const scope = child.scopeFrom ? child.scopeFrom({ external_id: p.external_id, raw: p.raw, scope: walk.scope }) : p.external_id;
          if (scope !== null) scopes.push(scope);
        }
        const plans = await this.planWalks(trx, src, child, scopes, run.mode, walk.since === null ? null : new Date(walk.since));
        for (const scope of scopes) values.push(this.newWalk(walk.run_id, src, child, scope, walk.id, plans.get(scope) ?? FULL_WALK));
      }
      for (let i = 0; i < values.length; i += 500) {
        await trx
          .insertInto('sync_walks')
          .values(values.slice(i, i + 500))
          .onConflict((oc) => oc.columns(['run_id', 'resource', 'scope']).doNothing())
          .execute();
      }
    }
    await this.finalizeRunIfDone(trx, walk.run_id);
  }

  /** Ends a run when none of its walks is running. Locks the run row so concurrent walk ends agree. */
  private async finalizeRunIfDone(trx: Transaction<Database>, runId: string): Promise<void> {
    const run = await trx.selectFrom('sync_runs').select(['status', 'error_status']).where('id', '=', runId).forNoKeyUpdate().executeTakeFirst();
    if (!run || run.status !== 'running') return;
    const stats = await trx
      .selectFrom('sync_walks')
      .select([
        sql<number>`count(*) filter (where status = 'running')::int`.as('running'),
        sql<number>`count(*) filter (where status = 'succeeded')::int`.as('succeeded'),
        sql<number>`count(*) filter (where status in ('failed', 'cancelled'))::int`.as('failed'),
      ])
      .where('run_id', '=', runId)
      .executeTakeFirstOrThrow();
    if (stats.running > 0) return;
    // Refused credentials fail the run whatever finished before them (a request-free static
    // list may win the race against the 401).
    const authFailed = run.error_status === 401 || run.error_status === 403;
    const status = stats.failed === 0 ? 'succeeded' : stats.succeeded > 0 && !authFailed ? 'partial' : 'failed';
    const firstFailure = await trx
      .selectFrom('sync_walks')
      .select(['error_status', 'error_message', 'error_request_id'])
      .where('run_id', '=', runId)
      .where('status', '=', 'failed')
      .orderBy('finished_at')
      .limit(1)
      .executeTakeFirst();
    await trx
      .updateTable('sync_runs')
      .set({
        status,
        finished_at: sql`now()`,
        error_status: sql`coalesce(error_status, ${firstFailure?.error_status ?? null}::int)`,
        error_message: sql`coalesce(error_message, ${firstFailure?.error_message ?? null}::text)`,
        error_request_id: sql`coalesce(error_request_id, ${firstFailure?.error_request_id ?? null}::text)`,
      })
      .where('id', '=', runId)
      .execute();
  }

  private async failWalks(walkIds: string[], runId: string, failure: WalkFailure, status: 'failed' | 'cancelled' = 'failed'): Promise<void> {
    const ended: Array<{ source_id: string; resource: string; started_at: Date }> = [];
    await this.db.transaction().execute(async (trx) => {
      if (walkIds.length > 0) {
        const rows = await trx
          .updateTable('sync_walks')
          .set({
            status,
            error_status: failure.status,
            error_message: failure.message,
            error_request_id: failure.requestId,
            finished_at: sql`now()`,
            updated_at: sql`now()`,
            waiting_until: null,
            waiting_reason: null,
          })
          .where('id', 'in', walkIds)
          .where('status', '=', 'running')
          .returning(['source_id', 'resource', 'started_at'])
          .execute();
        ended.push(...rows);
        await trx.deleteFrom('sync_walk_pages').where('walk_id', 'in', walkIds).execute();
      }
      await trx
        .updateTable('sync_runs')
        .set({ error_status: failure.status, error_message: failure.message, error_request_id: failure.requestId })
        .where('id', '=', runId)
        .where('error_message', 'is', null)
        .execute();
      await this.finalizeRunIfDone(trx, runId);
    });
    for (const w of ended) this.opts.metrics?.walkFinished(w.source_id, w.resource, 'failed', (Date.now() - w.started_at.getTime()) / 1000);
    this.log.error({ runId, walks: walkIds.length, status: failure.status, requestId: failure.requestId }, failure.message);
  }

  private async handleFailure(err: unknown, job: Job<PageJobData>, src: ResolvedSource, lane: Lane, walk: WalkRow, where: string): Promise<never> {
    if (err instanceof Error && (err.name === 'RateLimitError' || err instanceof DelayedError)) throw err;
    if (err instanceof PageShapeError || err instanceof PaginationLoopError) {
      await this.failWalks([walk.id], walk.run_id, new WalkFailure(`${where}: ${err.message}`));
      throw new UnrecoverableError(`${where}: ${err.message}`);
    }
    if (!(err instanceof VendorError)) {
      // A bug or a database error: retry through BullMQ attempts, fail the walk on the last one.
      const message = `${where}: ${err instanceof Error ? err.message : String(err)}`;
      this.log.warn({ attempt: job.attemptsMade + 1 }, message);
      if (job.attemptsMade + 1 >= (job.opts.attempts ?? 1)) await this.failWalks([walk.id], walk.run_id, new WalkFailure(message));
      throw new Error(message);
    }
    const failure = new WalkFailure(`${where}: ${err.message}`, err.status, err.requestId);
    switch (err.kind) {
      case 'rate_limited': {
        // Without a Retry-After the vendor's documented backoff applies (Toggl: "a few minutes").
        const ms = err.retryAfterMs ?? src.config.rateLimitBackoffMs ?? src.vendor.rateLimitBackoffMs ?? 60_000;
        await lane.gate.pauseUntil(Date.now() + ms);
        this.opts.metrics?.rateLimited(src.id, lane.laneClass);
        this.log.warn({ source: src.id, lane: lane.queue.name, waitMs: ms, requestId: err.requestId }, `${where}: ${err.status ?? 429}, lane paused`);
        const what = err.status === 402 ? '402 quota exhausted' : `${err.status ?? 429} from vendor`;
        return await this.rateLimited(lane, walk, ms, `${what}${err.requestId ? ` (request ${err.requestId})` : ''}`, 'vendor');
      }
      case 'retryable': {
        if (job.attemptsMade + 1 >= (job.opts.attempts ?? 1)) {
          await this.failWalks([walk.id], walk.run_id, new WalkFailure(`${failure.message} (gave up after ${job.attemptsMade + 1} attempts)`, err.status, err.requestId));
        } else {
          this.log.warn({ source: src.id, attempt: job.attemptsMade + 1, requestId: err.requestId }, failure.message);
        }
        throw new Error(failure.message);
      }
      case 'auth': {
        const msg = `${failure.message}: check the credentials of source ${src.id}`;
        const running = await this.db.selectFrom('sync_walks').select('id').where('run_id', '=', walk.run_id).where('status', '=', 'running').execute();
        await this.failWalks(
          running.map((r) => r.id),
          walk.run_id,
          new WalkFailure(msg, err.status, err.requestId),
        );
        throw new UnrecoverableError(msg);
      }
      case 'payment_required': {
        const reason = `${failure.message}: payment required; resume with \`fleetsync resume --source ${src.id}\``;
        await this.db
          .insertInto('sync_sources')
          .values({ source_id: src.id, paused_at: new Date(), paused_reason: reason })
          .onConflict((oc) => oc.column('source_id').doUpdateSet({ paused_at: new Date(), paused_reason: reason, updated_at: sql`now()` }))
          .execute();
        await this.pauseSourceQueues(src.id);
        this.log.error({ source: src.id, requestId: err.requestId }, reason);
        return await this.rateLimited(lane, walk, 1_000, reason, 'paused');
      }
      case 'gone': {
        const reason = `${failure.message}: endpoint gone; ${walk.resource} is disabled for ${src.id} until \`fleetsync enable --source ${src.id} --resource ${walk.resource}\``;
        await this.db
          .insertInto('sync_disabled_resources')
          .values({ source_id: src.id, resource: walk.resource, status: err.status, reason })
          .onConflict((oc) => oc.columns(['source_id', 'resource']).doUpdateSet({ status: err.status, reason }))
          .execute();
        const same = await this.db
          .selectFrom('sync_walks')
          .select('id')
          .where('run_id', '=', walk.run_id)
          .where('resource', '=', walk.resource)
          .where('status', '=', 'running')
          .execute();
        await this.failWalks(
          same.map((r) => r.id),
          walk.run_id,
          new WalkFailure(reason, err.status, err.requestId),
        );
        throw new UnrecoverableError(reason);
      }
      case 'invalid_request':
      case 'unsafe':
      default: {
        await this.failWalks([walk.id], walk.run_id, failure);
        throw new UnrecoverableError(failure.message);
      }
    }
  }

  /** Pauses every lane queue of a source in BullMQ (all worker processes stop taking its jobs). */
  async pauseSourceQueues(sourceId: string): Promise<void> {
    for (const lane of this.lanes.values()) if (lane.sourceId === sourceId && !(await lane.queue.isPaused())) await lane.queue.pause();
  }

  /**
   * Clears a source's pause (402 or `pause` command) and resumes its lanes in every process: the
   * held jobs continue the same run from their committed cursors. Also lifts the lane limits the
   * paused jobs set while bouncing, so workers do not sit out a stale wait after the resume.
   */
  async resumeSource(sourceId: string): Promise<void> {
    this.source(sourceId);
    await this.db.updateTable('sync_sources').set({ paused_at: null, paused_reason: null, updated_at: sql`now()` }).where('source_id', '=', sourceId).execute();
    await this.db
      .updateTable('sync_walks')
      .set({ waiting_until: null, waiting_reason: null, updated_at: sql`now()` })
      .where('source_id', '=', sourceId)
      .where('status', '=', 'running')
      .execute();
    for (const lane of this.lanes.values()) {
      if (lane.sourceId !== sourceId) continue;
      await lane.gate.clearPause();
      await lane.queue.removeRateLimitKey();
      await lane.queue.resume();
    }
  }

  /**
   * Starts one BullMQ worker per lane of the given sources (default: all), with the lane's limit
   * as the BullMQ limiter. Safe to call in any number of processes at once.
   */
  startWorkers(sourceIds?: readonly string[]): void {
    const want = sourceIds ? new Set(sourceIds) : null;
    for (const [name, lane] of this.lanes) {
      if (want && !want.has(lane.sourceId)) continue;
      const first = lane.windows[0];
      const worker = new Worker<PageJobData>(name, (job, token) => this.processPage(job, token), {
        connection: this.opts.redis,
        prefix: this.opts.prefix,
        concurrency: lane.concurrency,
        // A token-bucket-only lane has no fixed window: the gate alone paces it.
        ...(first ? { limiter: { max: first.max, duration: first.durationMs } } : {}),
        lockDuration: this.opts.worker.lockDurationMs,
        stalledInterval: Math.max(1000, Math.floor(this.opts.worker.lockDurationMs / 2)),
        // A page job may be interrupted by many crashes; attempts, not stalls, decide failure.
        maxStalledCount: 20,
        autorun: true,
      });
      worker.on('failed', (job, err) => {
        if (!job) return;
        // Safety net: a job that BullMQ failed on its own (too many stalls) must not leave its walk running.
        void this.onJobFailed(job, err).catch((e: unknown) => this.log.error({ err: (e as Error).message }, 'failed-job bookkeeping failed'));
      });
      worker.on('error', (err) => this.log.error({ lane: name, err: err.message }, 'worker error'));
      this.workers.push(worker);
    }
  }

  private async onJobFailed(job: Job<PageJobData>, err: Error): Promise<void> {
    const walk = await this.db.selectFrom('sync_walks').select(['id', 'run_id', 'status', 'pages', 'source_id', 'resource', 'scope']).where('id', '=', job.data.walkId).executeTakeFirst();
    if (!walk || walk.status !== 'running' || walk.pages !== job.data.page) return;
    const final = err instanceof UnrecoverableError || err.name === 'UnrecoverableError' || job.attemptsMade >= (job.opts.attempts ?? 1);
    if (final) await this.failWalks([walk.id], walk.run_id, new WalkFailure(err.message.startsWith(walk.source_id) ? err.message : `${this.where(walk, job.data.page)}: ${err.message}`));
  }

  /**
   * Polls until a run ends (or `signal` aborts) and returns its row. Never throws on a failed
   * run: the caller reads its status.
   */
  async waitForRun(runId: string, opts: { signal?: AbortSignal; pollMs?: number; onPoll?: () => Promise<void> | void } = {}): Promise<RunRow> {
    for (;;) {
      const run = await this.db.selectFrom('sync_runs').selectAll().where('id', '=', runId).executeTakeFirstOrThrow();
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
    await Promise.all(this.workers.map((w) => w.close()));
    this.workers.length = 0;
    await Promise.all([...this.lanes.values()].map((l) => l.queue.close()));
  }

  /** Pauses a source in Postgres (with the reason `status` shows) and in every process's lanes until `resumeSource`. */
  async pauseSource(sourceId: string, reason: string): Promise<void> {
    await pauseSourceRow(this.db, sourceId, reason);
    await this.pauseSourceQueues(sourceId);
  }

  /** Re-enables a resource a 410 Gone disabled; resolves to false when it was not disabled. */
  async enableResource(sourceId: string, resource: string): Promise<boolean> {
    return await enableResourceRow(this.db, sourceId, resource);
  }
}

function singular(resource: string): string {
  if (resource === 'organizations') return 'org';
  if (resource === 'workspaces') return 'workspace';
  return resource.replace(/ies$/, 'y').replace(/s$/, '');
}

function idOf(raw: unknown): string | null {
  if (raw !== null && typeof raw === 'object' && 'id' in raw) {
    const v = (raw as { id: unknown }).id;
    if (typeof v === 'string' && v !== '') return v;
    if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  }
  return null;
}
