import { Queue } from 'bullmq';
import type { Kysely } from 'kysely';
import type { WorkerSettings } from '../config.js';
import type { RedisClient } from '../redis.js';
import { pagePriority } from '../sync/walk-plan.js';
import type { Database } from '../warehouse/db.js';
import { getWalk, runningChildWalks, runTrigger, type WalkRow } from '../warehouse/walks.js';
import type { PageJobData } from './lanes.js';

/** The walk fields a page job is built from. */
export type QueuedWalk = Pick<WalkRow, 'id' | 'job_key' | 'run_id' | 'source_id' | 'resource' | 'scope'>;

/** A page job's id. Custom ids must not look like integers nor contain ':'; the walk's random key keeps ids unique when several databases share one Redis and prefix. */
export function pageJobId(walk: Pick<WalkRow, 'id' | 'job_key'>, page: number): string {
  return `w${walk.id}-${walk.job_key}-p${page}`;
}

/**
 * The BullMQ queue of a vendor's page jobs. Every source of the vendor shares it: a job carries its
 * source, and each source's limits are held by its lanes' gates in Redis (docs/design.md).
 */
export function pageQueueName(vendor: string): string {
  return `pages.${vendor}`;
}

/** What the page queues need; nothing here is owned by them but the queues. */
export interface PageQueueOptions {
  db: Kysely<Database>;
  redis: RedisClient;
  prefix: string;
  worker: Pick<WorkerSettings, 'attempts' | 'backoffMs'>;
  /** The queue a walk's pages go to (pageQueueName of its vendor). Throws when the walk's source is not configured. */
  queueNameOf: (walk: Pick<WalkRow, 'source_id' | 'resource'>) => string;
  /** Receives the 'error' events of the queues (a lost Redis). */
  onRedisError: (err: Error) => void;
}

/**
 * The BullMQ queues page jobs wait on (one per vendor, opened when first used), and how a walk's page is put there. Ids are deterministic,
 * so adding a job that exists is a no-op; the priority of a run's jobs is looked up once (a run's
 * trigger never changes).
 */
export class PageQueue {
  private readonly runPriority = new Map<string, number | undefined>();
  private readonly byName = new Map<string, Queue<PageJobData>>();

  constructor(private readonly opts: PageQueueOptions) {}

  /** The queue of this name, opened on first use (queues share the one Redis connection). */
  queue(name: string): Queue<PageJobData> {
    let q = this.byName.get(name);
    if (!q) {
      q = new Queue<PageJobData>(name, { connection: this.opts.redis, prefix: this.opts.prefix });
      // A BullMQ queue without an 'error' listener prints each connection error's stack to stderr.
      q.on('error', this.opts.onRedisError);
      this.byName.set(name, q);
    }
    return q;
  }

  /** The queue a walk's pages are on. Throws when its source is not configured. */
  queueOf(walk: Pick<WalkRow, 'source_id' | 'resource'>): Queue<PageJobData> {
    return this.queue(this.opts.queueNameOf(walk));
  }

  /** Every page queue opened so far, by name. */
  get all(): ReadonlyMap<string, Queue<PageJobData>> {
    return this.byName;
  }

  private async priorityOf(runId: string): Promise<number | undefined> {
    if (!this.runPriority.has(runId)) {
      const trigger = await runTrigger(this.opts.db, runId);
      this.runPriority.set(runId, trigger === undefined ? undefined : pagePriority(trigger));
    }
    return this.runPriority.get(runId);
  }

  /**
   * Queues page `page` of a walk. With `repairFinished`, a job of that id that already finished
   * without committing its page (Redis restored from an old snapshot) is removed first, since it
   * would block re-adding the id; a waiting or active one is left alone. Returns false when
   * `repairFinished` found the job queued or active already (nothing added), else true.
   */
  async enqueue(walk: QueuedWalk, page: number, repairFinished = false): Promise<boolean> {
    const queue = this.queueOf(walk);
    const id = pageJobId(walk, page);
    if (repairFinished) {
      const old = await queue.getJob(id);
      if (old) {
        const state = await old.getState();
        if (state !== 'completed' && state !== 'failed') return false;
        // The job may have finished by committing its page after the caller read the walk: then
        // the next page's job exists, and re-adding this one would only be a wasted no-op job.
        const now = await getWalk(this.opts.db, walk.id);
        if (!now || now.status !== 'running' || now.pages !== page) return false;
        await old.remove().catch(() => undefined);
      }
    }
    const { worker } = this.opts;
    await queue.add(
      walk.resource,
      { walkId: walk.id, page, sourceId: walk.source_id, resource: walk.resource, scope: walk.scope },
      {
        jobId: id,
        priority: await this.priorityOf(walk.run_id),
        attempts: worker.attempts,
        backoff: { type: 'exponential', delay: worker.backoffMs, jitter: 0.5 },
        removeOnComplete: { count: 5000, age: 24 * 3600 },
        removeOnFail: { count: 5000, age: 7 * 24 * 3600 },
      },
    );
    return true;
  }

  /** The state of page `page`'s job of a walk ('waiting', 'delayed', 'active', 'completed', …), or null when there is none. */
  async jobState(walk: QueuedWalk, page: number): Promise<string | null> {
    const job = await this.queueOf(walk).getJob(pageJobId(walk, page));
    return job ? await job.getState() : null;
  }

  /** Removes page `page`'s job of a walk unless a worker holds it now (its lock); nothing when there is none. */
  async drop(walk: QueuedWalk, page: number): Promise<void> {
    const job = await this.queueOf(walk).getJob(pageJobId(walk, page));
    await job?.remove().catch(() => undefined);
  }

  /** Queues the current page of each running walk that a completed walk started. */
  async enqueueChildren(walkId: string): Promise<void> {
    for (const c of await runningChildWalks(this.opts.db, walkId)) await this.enqueue(c, c.pages);
  }

  /** Closes every queue. */
  async close(): Promise<void> {
    await Promise.all([...this.byName.values()].map((q) => q.close()));
  }
}
