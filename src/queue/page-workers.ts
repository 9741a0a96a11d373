import { UnrecoverableError, Worker, type Job } from 'bullmq';
import type { WorkerSettings } from '../config.js';
import { postgresConnectionReason } from '../infra-errors.js';
import type { Logger } from '../logger.js';
import type { RedisClient } from '../redis.js';
import type { PageJobData } from './lanes.js';

/** What the page workers of one process are started with. */
export interface PageWorkerOptions {
  redis: RedisClient;
  prefix: string;
  settings: WorkerSettings;
  log: Logger;
  onRedisError: (err: Error) => void;
  /** Processes one page job (Engine.processPage). */
  process: (job: Job<PageJobData>, token: string | undefined) => Promise<unknown>;
  /** Bookkeeping of a job BullMQ failed for good: the walk must not be left running. */
  onFinalFailure: (job: Job<PageJobData>, err: Error) => Promise<void>;
}

/**
 * Starts one BullMQ worker on a vendor's page queue: `worker.concurrency` jobs at once over every
 * source of the vendor. No BullMQ limiter: it would be one limit for all sources; each source's
 * lanes hold their own limits in their gates (Lane.request) and their concurrency in LaneSlots.
 */
export function startPageWorker(queueName: string, opts: PageWorkerOptions): Worker<PageJobData> {
  const { settings } = opts;
  const worker = new Worker<PageJobData>(queueName, (job, token) => opts.process(job, token), {
    connection: opts.redis,
    prefix: opts.prefix,
    concurrency: settings.concurrency,
    lockDuration: settings.lockDurationMs,
    stalledInterval: Math.max(1000, Math.floor(settings.lockDurationMs / 2)),
    // A page job may be interrupted by many crashes; attempts, not stalls, decide failure.
    maxStalledCount: 20,
    autorun: true,
  });
  worker.on('failed', (job, err) => {
    if (!job) return;
    const final = err instanceof UnrecoverableError || err.name === 'UnrecoverableError' || job.attemptsMade >= (job.opts.attempts ?? 1);
    if (!final) return;
    // Safety net: a job that BullMQ failed on its own (too many stalls) must not leave its walk running.
    // Left undone when Postgres is away: the reconciler gives the walk its job back later.
    void opts.onFinalFailure(job, err).catch((e: unknown) => opts.log[postgresConnectionReason(e) ? 'debug' : 'error']({ err: (e as Error).message }, 'failed-job bookkeeping failed'));
  });
  worker.on('error', opts.onRedisError);
  return worker;
}
