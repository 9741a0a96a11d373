import { Queue, Worker, type Job } from 'bullmq';
import { CronExpressionParser } from 'cron-parser';
import type { RedisClient } from '../redis.js';
import { ConfigError, type ScheduleConfig } from '../config.js';
import type { Logger } from '../logger.js';
import type { SourceRegistry } from '../source-registry.js';
import type { Engine } from './engine.js';
import { selectSources, startDelays, type SourceChoice } from './schedule-spread.js';
import type { Kysely } from 'kysely';
import type { Database } from '../warehouse/db.js';
import { missedFirings, recordFiring, recordSchedules } from '../warehouse/schedule-state.js';
import { unknownSourceText } from '../source-registry.js';

/**
 * Name of the control queue holding the job schedulers and the spread run starts of a firing.
 * Page queues are always `pages.<vendor>`, so a dotless name never collides.
 */
export const SCHEDULES_QUEUE = 'schedules';

/** What a schedule firing carries: names only, never credentials. */
export interface ScheduleJobData {
  schedule: string;
  sources: string[];
  /** Empty: every resource the source syncs. */
  resources: string[];
  mode: 'full' | 'incremental';
}

/** One run start of a firing, queued to start after its spread delay. */
export interface StartJobData {
  schedule: string;
  source: string;
  resources: string[];
  mode: 'full' | 'incremental';
}

/** A schedule with its sources resolved against the known sources (`sources` as of now; `choice` is applied again at each firing). */
export interface ResolvedSchedule {
  name: string;
  cron: string;
  timeZone: string;
  sources: string[];
  resources: string[];
  mode: 'full' | 'incremental';
  /** How the schedule names its sources; absent: the `sources` list as given. */
  choice?: SourceChoice;
  /** Runs started per minute of a firing at most; default: all at once. */
  maxRunsPerMinute?: number;
}

/** One run a firing started or joined. */
export interface FiredRun {
  source: string;
  runId: string;
  resumed: boolean;
}

/** A schedule as `fleetsync schedules` shows it. */
export interface ScheduleInfo extends ResolvedSchedule {
  /** Whether a job scheduler with this name exists in Redis (a worker has started since it was added). */
  registered: boolean;
  /** Next fire times, the first from BullMQ when registered. ISO strings. */
  next: string[];
}

/**
 * Resolves the config's schedules: `sources` left out means every source. Throws ConfigError when
 * a schedule names a resource that none of its sources' vendors has.
 */
export function resolveSchedules(schedules: readonly ScheduleConfig[], sources: SourceRegistry): ResolvedSchedule[] {
  const problems: string[] = [];
  const known = sources.list();
  const out = schedules.map((s, i) => {
    const ids = selectSources(s, known);
    s.sources?.forEach((id, j) => {
      if (!sources.has(id)) problems.push(`schedules[${i}].sources[${j}]: ${unknownSourceText(id, sources.ids())}`);
    });
    for (const [j, r] of (s.resources ?? []).entries()) {
      // Stops at the first source that has it: one resolution, not one per tenant.
      const has = ids.some((id) => sources.has(id) && sources.describe(id)?.vendor.resources.some((d) => d.name === r));
      if (!has && ids.length > 0) problems.push(`schedules[${i}].resources[${j}]: no source of schedule "${s.name}" has a resource "${r}"`);
    }
    return { name: s.name, cron: s.cron, timeZone: s.timeZone, sources: ids, resources: s.resources ?? [], mode: s.mode, choice: { sources: s.sources, select: s.select }, maxRunsPerMinute: s.maxRunsPerMinute };
  });
  if (problems.length > 0) throw new ConfigError(`invalid configuration:\n${problems.map((p) => `  ${p}`).join('\n')}`);
  return out;
}

/** The next `n` fire times of a cron pattern in a time zone, after `from`. Throws on a bad pattern. */
export function nextFireTimes(cron: string, timeZone: string, n: number, from = new Date()): Date[] {
  return CronExpressionParser.parse(cron, { tz: timeZone, currentDate: from })
    .take(n)
    .map((d) => d.toDate());
}

/** Options of Scheduler. */
export interface SchedulerOptions {
  redis: RedisClient;
  prefix: string;
  engine: Engine;
  sources: SourceRegistry;
  schedules: readonly ResolvedSchedule[];
  logger: Logger;
  /** Receives the 'error' events of the control queue and its worker (a lost Redis); default: logged. */
  onRedisError?: (err: Error) => void;
  /** Where the schedules and their firings are recorded for reporting.sync_health; none: not recorded. */
  db?: Kysely<Database>;
}

/**
 * Turns configured schedules into BullMQ job schedulers on the `schedules` control queue and
 * starts runs when they fire. Upserting by schedule name makes start-up idempotent across
 * restarts and any number of workers; a firing while the source's run is still going joins that
 * run (Engine.startRun), so a run is never started twice.
 */
export class Scheduler {
  readonly queue: Queue<ScheduleJobData | StartJobData>;
  private worker: Worker<ScheduleJobData | StartJobData, FiredRun[]> | null = null;
  private schedules: readonly ResolvedSchedule[];

  constructor(private readonly opts: SchedulerOptions) {
    this.schedules = opts.schedules;
    this.queue = new Queue<ScheduleJobData | StartJobData>(SCHEDULES_QUEUE, { connection: opts.redis, prefix: opts.prefix });
    // Without a listener BullMQ prints every connection error's stack, dozens a second while Redis is away.
    this.queue.on('error', this.onRedisError);
  }

  private readonly onRedisError = (err: Error): void => {
    if (this.opts.onRedisError) this.opts.onRedisError(err);
    else this.opts.logger.error({ err: err.message }, 'schedule queue error');
  };

  /**
   * Upserts a job scheduler per configured schedule and removes the ones no longer configured.
   * Returns what it did. Idempotent.
   */
  async sync(): Promise<{ upserted: string[]; removed: string[] }> {
    const wanted = new Set(this.schedules.map((s) => s.name));
    const registered = new Set((await this.queue.getJobSchedulers(0, -1)).map((s) => s.id ?? s.key));
    for (const s of this.schedules) {
      await this.queue.upsertJobScheduler(
        s.name,
        { pattern: s.cron, tz: s.timeZone },
        {
          name: 'schedule',
          data: { schedule: s.name, sources: s.sources, resources: s.resources, mode: s.mode },
          opts: { removeOnComplete: { count: 200 }, removeOnFail: { count: 200 }, attempts: 3, backoff: { type: 'exponential', delay: 1000 } },
        },
      );
    }
    const removed: string[] = [];
    for (const existing of await this.queue.getJobSchedulers(0, -1)) {
      const id = existing.id ?? existing.key;
      if (!wanted.has(id)) {
        await this.queue.removeJobScheduler(id);
        removed.push(id);
      }
    }
    if (removed.length > 0) this.opts.logger.info({ removed }, 'removed schedules no longer in the config');
    if (this.opts.db) {
      await recordSchedules(this.opts.db, this.schedules.map((s) => ({ ...s, nextFireAt: nextFireTimes(s.cron, s.timeZone, 1)[0] ?? null })));
      await this.catchUp(this.schedules.filter((s) => !registered.has(s.name)));
    }
    return { upserted: [...wanted], removed };
  }

  /**
   * Fires once now each of `restored` (schedulers Redis had lost) whose recorded next firing
   * passed unfired: the one a Redis without its schedulers could not fire ("catch up one", as a
   * BullMQ scheduler whose Redis kept it does). The job id names the missed time, so several
   * workers restoring at once fire it once.
   */
  private async catchUp(restored: readonly ResolvedSchedule[]): Promise<void> {
    if (!this.opts.db || restored.length === 0) return;
    for (const { name, due } of await missedFirings(this.opts.db, restored.map((s) => s.name), new Date())) {
      const s = restored.find((r) => r.name === name)!;
      const data: ScheduleJobData = { schedule: s.name, sources: s.sources, resources: s.resources, mode: s.mode };
      await this.queue.add('schedule', data, { jobId: `catch-up-${s.name}-${due.getTime()}`, removeOnComplete: { count: 200 }, removeOnFail: { count: 200 }, attempts: 3, backoff: { type: 'exponential', delay: 1000 } });
      this.opts.logger.warn({ schedule: s.name, due: due.toISOString() }, `schedule ${s.name} missed its firing at ${due.toISOString()} (Redis lost its scheduler): firing it once now`);
    }
  }

  /**
   * Re-creates the configured job schedulers missing from Redis (a Redis restarted without
   * persistence loses them all). Returns the names it restored; does nothing when all exist.
   */
  async restoreMissing(): Promise<string[]> {
    const registered = new Set((await this.queue.getJobSchedulers(0, -1)).map((s) => s.id ?? s.key));
    const missing = this.schedules.filter((s) => !registered.has(s.name)).map((s) => s.name);
    if (missing.length > 0) await this.sync();
    return missing;
  }

  /**
   * Starts (or joins) a run of each source of a firing: the sources the schedule selects now (so a
   * source added since is included), spread over time by `maxRunsPerMinute` (schedule-spread.ts).
   * The first second's worth start at once; the others are queued as delayed start jobs on the
   * control queue, so any worker starts them and a crash loses none. `firingId` makes those
   * start jobs unique per firing. Returns the runs started here.
   */
  async fire(data: ScheduleJobData, firingId = `${Date.now()}`): Promise<FiredRun[]> {
    const schedule = this.schedules.find((s) => s.name === data.schedule);
    if (this.opts.db && schedule) await recordFiring(this.opts.db, schedule.name, nextFireTimes(schedule.cron, schedule.timeZone, 1)[0] ?? null);
    const ids = schedule?.choice ? selectSources(schedule.choice, this.opts.sources.list()) : data.sources;
    const delays = startDelays(ids.length, schedule?.maxRunsPerMinute ?? Number.MAX_SAFE_INTEGER);
    const runs: FiredRun[] = [];
    for (const [i, id] of ids.entries()) {
      const start: StartJobData = { schedule: data.schedule, source: id, resources: data.resources, mode: data.mode };
      const delay = delays[i] ?? 0;
      if (delay < 1_000) {
        const run = await this.startOne(start);
        if (run) runs.push(run);
        continue;
      }
      const jobId = `start-${data.schedule}-${firingId}-${id}`.replace(/:/g, '_');
      await this.queue.add('start', start, { jobId, delay, removeOnComplete: { count: 2000 }, removeOnFail: { count: 2000 }, attempts: 3, backoff: { type: 'exponential', delay: 1000 } });
    }
    if (runs.length < ids.length) this.opts.logger.info({ schedule: data.schedule, sources: ids.length, startedNow: runs.length, spreadOverMs: delays.at(-1) }, 'schedule fired: run starts spread');
    return runs;
  }

  /** Starts (or joins) one source's run of a firing; null when the source is unknown here or has none of the schedule's resources. */
  private async startOne(data: StartJobData): Promise<FiredRun | null> {
    const src = this.opts.sources.has(data.source) ? this.opts.sources.describe(data.source) : undefined;
    if (!src) {
      this.opts.logger.warn({ schedule: data.schedule, source: data.source }, 'schedule names a source this worker does not know; skipped');
      return null;
    }
    const resources = data.resources.filter((r) => src.vendor.resources.some((d) => d.name === r));
    if (data.resources.length > 0 && resources.length === 0) return null;
    const { runId, resumed } = await this.opts.engine.startRun(data.source, { trigger: `schedule:${data.schedule}`, resources, mode: data.mode });
    this.opts.logger.info({ schedule: data.schedule, source: data.source, runId, resumed }, resumed ? 'schedule fired: joined the running run' : 'schedule fired: run started');
    return { source: data.source, runId, resumed };
  }

  /** Replaces the schedules (the known sources changed): the next sync() records them. */
  setSchedules(schedules: readonly ResolvedSchedule[]): void {
    this.schedules = schedules;
  }

  /** Starts processing firings and spread run starts in this process. */
  start(): void {
    if (this.worker) return;
    this.worker = new Worker<ScheduleJobData | StartJobData, FiredRun[]>(
      SCHEDULES_QUEUE,
      async (job: Job<ScheduleJobData | StartJobData>) => {
        if (job.name === 'start') {
          const run = await this.startOne(job.data as StartJobData);
          return run ? [run] : [];
        }
        return await this.fire(job.data as ScheduleJobData, job.id);
      },
      { connection: this.opts.redis, prefix: this.opts.prefix, concurrency: 4 },
    );
    this.worker.on('error', this.onRedisError);
    this.worker.on('failed', (job, err) => this.opts.logger.error({ schedule: job?.data.schedule, err: err.message }, 'schedule firing failed'));
  }

  /** Configured schedules with their registration state and next fire times, plus stale registered ones. */
  async list(count = 3, now = new Date()): Promise<Array<ScheduleInfo & { stale?: boolean }>> {
    const registered = new Map((await this.queue.getJobSchedulers(0, -1)).map((s) => [s.id ?? s.key, s]));
    const out: Array<ScheduleInfo & { stale?: boolean }> = [];
    for (const s of this.schedules) {
      const reg = registered.get(s.name);
      const computed = nextFireTimes(s.cron, s.timeZone, count, now).map((d) => d.toISOString());
      const next = reg?.next ? [new Date(reg.next).toISOString(), ...computed.filter((t) => t > new Date(reg.next!).toISOString())].slice(0, count) : computed;
      out.push({ ...s, registered: reg !== undefined && reg.pattern === s.cron && (reg.tz ?? 'UTC') === s.timeZone, next });
      registered.delete(s.name);
    }
    for (const [name, reg] of registered) {
      const data = reg.template?.data as ScheduleJobData | undefined;
      out.push({
        name,
        cron: reg.pattern ?? '',
        timeZone: reg.tz ?? 'UTC',
        sources: data?.sources ?? [],
        resources: data?.resources ?? [],
        mode: data?.mode ?? 'full',
        registered: true,
        next: reg.next ? [new Date(reg.next).toISOString()] : [],
        stale: true,
      });
    }
    return out;
  }

  /** Stops processing firings (after the one in hand) and closes the queue. Leaves the schedulers in Redis. */
  async close(): Promise<void> {
    // With Redis down, BullMQ's close would wait for Redis to come back (src/pages-in-hand.ts).
    await this.worker?.close(this.opts.redis.status !== 'ready');
    this.worker = null;
    await this.queue.close();
  }
}
