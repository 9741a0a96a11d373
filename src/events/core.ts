import { DelayedError, Queue, UnrecoverableError, Worker, type Job, type JobsOptions } from 'bullmq';
import type { Kysely } from 'kysely';
import type { WorkerSettings } from '../config.js';
import type { Logger } from '../logger.js';
import { closeAfterPagesInHand } from '../pages-in-hand.js';
import type { EngineMetrics } from '../metrics.js';
import type { Lane } from '../queue/lanes.js';
import type { WalkRoute } from '../queue/page-ref.js';
import { definitionOf } from '../queue/walk-start.js';
import type { RedisClient } from '../redis.js';
import type { SourceRegistry } from '../source-registry.js';
import type { ResolvedSource } from '../sources.js';
import type { Database } from '../warehouse/db.js';
import { applyEvent, type ApplyDeps, type EventOutcome } from './apply.js';
import type { EventResourceInfo } from './decide.js';
import { enqueueEvents, type EventIntake, type EventQueueJob } from './enqueue.js';
import { pollSource, type PollDeps, type PollResult } from './poll.js';
import type { EnqueueResult, VendorEvent } from './types.js';

/** The BullMQ queue of a vendor's events and event-feed polls, beside its page queue `pages.<vendor>`. */
export function eventQueueName(vendor: string): string {
  return `events.${vendor}`;
}

/** The job scheduler id of a source's event-feed poll. */
export function pollSchedulerId(sourceId: string): string {
  return `poll-${sourceId}`;
}

/** What the event core is built from; it owns none of these. */
export interface EventCoreOptions {
  db: Kysely<Database>;
  redis: RedisClient;
  prefix: string;
  sources: SourceRegistry;
  worker: WorkerSettings;
  logger: Logger;
  metrics?: EngineMetrics | undefined;
  /** A source's lane of a class, opened if it is not: the engine's (Engine.openLane), so events and pages share it. */
  openLane: (sourceId: string, laneClass: string) => { src: ResolvedSource; lane: Lane };
  onRedisError: (err: Error) => void;
  /** The clock of the polls (tests); default Date.now. */
  now?: () => number;
}

/**
 * Vendor events between walks (docs/freshness.md): the queues `events.<vendor>` they wait on, the
 * workers that apply them through the sources' lanes (apply.ts), and the scheduled polls of the
 * vendors' event feeds (poll.ts). `enqueue` is how a receiver hands verified events over.
 */
export class EventCore implements EventIntake {
  readonly redis: RedisClient;
  readonly prefix: string;
  readonly jobOptions: JobsOptions;
  private readonly byName = new Map<string, Queue<EventQueueJob>>();
  private readonly workers = new Map<string, Worker<EventQueueJob>>();
  private readonly applyDeps: ApplyDeps;
  private readonly pollDeps: PollDeps;
  private served: ReadonlySet<string> | null = null;

  constructor(private readonly opts: EventCoreOptions) {
    this.redis = opts.redis;
    this.prefix = opts.prefix;
    const { worker, db, logger: log, metrics } = opts;
    this.jobOptions = { attempts: worker.attempts, backoff: { type: 'exponential', delay: worker.backoffMs, jitter: 0.5 }, removeOnComplete: { count: 10_000, age: 24 * 3600 }, removeOnFail: { count: 10_000, age: 7 * 24 * 3600 } };
    this.applyDeps = { db, log, metrics, routeOf: (sourceId, resource) => this.routeOf(sourceId, resource) };
    this.pollDeps = { db, log, intake: this, sourceOf: (id) => this.source(id), openLane: opts.openLane, maxWaitMs: worker.maxInProcessWaitMs, ...(opts.now ? { now: opts.now } : {}) };
  }

  /** Queues verified vendor events (enqueueEvents); throws EventRefused for a malformed one. */
  enqueue(events: readonly VendorEvent[]): Promise<EnqueueResult> {
    return enqueueEvents(this, events);
  }

  /** The queue of this name, opened on first use. */
  queue(name: string): Queue<EventQueueJob> {
    let q = this.byName.get(name);
    if (!q) {
      q = new Queue<EventQueueJob>(name, { connection: this.opts.redis, prefix: this.opts.prefix });
      q.on('error', this.opts.onRedisError);
      this.byName.set(name, q);
    }
    return q;
  }

  queueFor(sourceId: string): Queue<EventQueueJob> {
    const vendor = this.opts.sources.configOf(sourceId)?.vendor;
    if (vendor === undefined) throw new Error(`source "${sourceId}" is not in the configuration`);
    return this.queue(eventQueueName(vendor));
  }

  resourceOf(sourceId: string, resource: string): EventResourceInfo | undefined {
    const def = this.opts.sources.has(sourceId) ? this.opts.sources.describe(sourceId)?.resources.get(resource) : undefined;
    return def ? { parent: def.parent, hasItem: def.item !== undefined } : undefined;
  }

  private source(id: string): ResolvedSource {
    const src = this.opts.sources.get(id);
    if (!src) throw new UnrecoverableError(`source "${id}" is not in the configuration`);
    return src;
  }

  private routeOf(sourceId: string, resource: string): WalkRoute {
    const src = this.source(sourceId);
    const def = definitionOf(src, resource);
    return { src, def, lane: this.opts.openLane(sourceId, def.lane).lane };
  }

  /** Applies one event now, without its queue (tests, tools); `defer` is how it would wait. */
  apply(ev: VendorEvent, defer: (ms: number) => Promise<never>): Promise<EventOutcome> {
    return applyEvent(this.applyDeps, ev, defer);
  }

  /** Reads a source's event feed once now (the scheduled poll's work). */
  poll(sourceId: string): Promise<PollResult> {
    return pollSource(this.pollDeps, sourceId);
  }

  /**
   * Makes the scheduled polls of these sources match their `events.every`: a job scheduler per
   * source that sets it (on its vendor's events queue), none for one that does not or is gone.
   * Reads each vendor queue's schedulers once and writes only what differs, so a reconciling pass
   * over many sources is cheap and a scheduler Redis lost comes back. Idempotent across processes.
   */
  async syncPolls(sourceIds: readonly string[]): Promise<void> {
    const wanted = new Set(sourceIds);
    for (const vendor of this.opts.sources.vendorNames()) {
      const queue = this.queue(eventQueueName(vendor));
      const have = new Map((await queue.getJobSchedulers(0, -1)).map((s) => [s.key, s.every ?? null]));
      for (const id of wanted) {
        const cfg = this.opts.sources.configOf(id);
        const every = cfg?.vendor === vendor ? cfg.events?.every : undefined;
        const key = pollSchedulerId(id);
        if (every === undefined) {
          if (have.has(key)) await queue.removeJobScheduler(key);
        } else if (have.get(key) !== every) {
          await queue.upsertJobScheduler(key, { every }, { name: 'poll', data: { kind: 'poll', source: id }, opts: { attempts: 1, removeOnComplete: { count: 100 }, removeOnFail: { count: 100 } } });
        }
      }
    }
  }

  /** Starts one worker per vendor events queue (all vendors, or those of `sourceIds`, then the only sources worked here). */
  startWorkers(sourceIds?: readonly string[]): void {
    if (!sourceIds) this.served = null;
    else if (this.served !== null || this.workers.size === 0) this.served = new Set([...(this.served ?? []), ...sourceIds]);
    const vendors = sourceIds ? sourceIds.map((id) => this.opts.sources.configOf(id)?.vendor ?? '') : this.opts.sources.vendorNames();
    for (const name of new Set(vendors.filter((v) => v !== '').map(eventQueueName))) {
      if (this.workers.has(name)) continue;
      const worker = new Worker<EventQueueJob>(name, (job, token) => this.process(job, token), { connection: this.opts.redis, prefix: this.opts.prefix, concurrency: Math.min(8, this.opts.worker.concurrency), lockDuration: this.opts.worker.lockDurationMs, autorun: true });
      worker.on('failed', (job, err) => {
        if (job && (err.name === 'UnrecoverableError' || job.attemptsMade >= (job.opts.attempts ?? 1))) this.opts.logger.error({ queue: name, job: job.id }, `event not applied: ${err.message}`);
      });
      worker.on('error', this.opts.onRedisError);
      this.workers.set(name, worker);
    }
  }

  /** One job of an events queue: an event to apply, or a feed to poll. Exposed for tests. */
  async process(job: Job<EventQueueJob>, token: string | undefined): Promise<EventOutcome | PollResult> {
    const data = job.data;
    const sourceId = data.kind === 'event' ? data.event.source : data.source;
    const defer = async (ms: number): Promise<never> => {
      if (token === undefined) throw new Error(`event job ${job.id ?? ''} has to wait ${ms} ms but was not taken by a worker`);
      await job.moveToDelayed(Date.now() + ms, token);
      throw new DelayedError();
    };
    // A worker for other sources (`worker --source`) leaves the job to one that works it.
    if (this.served !== null && !this.served.has(sourceId)) return await defer(1_000);
    if (data.kind === 'poll') return await this.poll(sourceId);
    return await applyEvent(this.applyDeps, data.event, defer);
  }

  /**
   * Stops the workers (after their jobs in hand) and closes the queues. With Redis down, BullMQ's
   * own close would wait for Redis: the workers are closed with force instead (an event in hand is
   * taken again once its lock expires, as a stalled job).
   */
  async close(): Promise<void> {
    await closeAfterPagesInHand([...this.workers.values()], this.redis.status === 'ready');
    this.workers.clear();
    await Promise.all([...this.byName.values()].map((q) => q.close()));
    this.byName.clear();
  }
}
