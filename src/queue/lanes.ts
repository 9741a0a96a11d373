import { Queue, Worker } from 'bullmq';
import type { RedisClient } from '../redis.js';
import type { Kysely } from 'kysely';
import type { TokenBucket, WorkerSettings } from '../config.js';
import { createHttpClient, type HttpGet } from '../http/client.js';
import type { Logger } from '../logger.js';
import type { EngineMetrics } from '../metrics.js';
import type { ResolvedSource } from '../sources.js';
import type { Database } from '../warehouse/db.js';
import { markWalkWaiting } from '../warehouse/walks.js';
import { LaneGate } from './lane-gate.js';

/** Data of a page job: which walk and which page. Never credentials. */
export interface PageJobData {
  walkId: string;
  page: number;
  sourceId: string;
  resource: string;
  scope: string;
}

/** One lane: a BullMQ queue per (source, rate-limit class), its gate, limit and HTTP client. */
export interface Lane {
  sourceId: string;
  laneClass: string;
  queue: Queue<PageJobData>;
  gate: LaneGate;
  windows: ReadonlyArray<{ max: number; durationMs: number }>;
  tokenBucket?: TokenBucket;
  concurrency: number;
  /** The source's HTTP client for this lane (one per lane, so every response is counted under it). */
  http: HttpGet;
}

/** Name of a lane's BullMQ queue. BullMQ refuses ':' in names. */
export function laneQueueName(sourceId: string, laneClass: string): string {
  return `${sourceId}.${laneClass}`;
}

/** What building lanes needs; nothing here is owned by the lanes. */
export interface LaneOptions {
  redis: RedisClient;
  prefix: string;
  worker: WorkerSettings;
  metrics?: EngineMetrics;
}

/** Builds every lane of every source, keyed by queue name. Opens queues (no workers); never throws for valid sources. */
export function buildLanes(sources: Iterable<ResolvedSource>, opts: LaneOptions): Map<string, Lane> {
  const lanes = new Map<string, Lane>();
  for (const src of sources) {
    for (const [laneClass, limit] of src.lanes) {
      const name = laneQueueName(src.id, laneClass);
      lanes.set(name, {
        sourceId: src.id,
        laneClass,
        queue: new Queue<PageJobData>(name, { connection: opts.redis, prefix: opts.prefix }),
        gate: new LaneGate(opts.redis, `${opts.prefix}:fleetsync-lane:${name}`, limit.windows ?? [], limit.tokenBucket),
        windows: limit.windows ?? [],
        tokenBucket: limit.tokenBucket,
        concurrency: limit.concurrency ?? 1,
        http: createHttpClient({
          baseUrl: src.config.baseUrl,
          authHeaders: src.vendor.authHeaders(src.credentials),
          readError: src.vendor.readError,
          timeoutMs: opts.worker.requestTimeoutMs,
          maxResponseBytes: opts.worker.maxResponseBytes,
          maxInProcessWaitMs: opts.worker.maxInProcessWaitMs,
          quotaHeaders: src.vendor.quotaHeaders,
          onResponse: (status) => opts.metrics?.request(src.id, laneClass, status),
        }),
      });
    }
  }
  return lanes;
}

/** Why a lane waits: our own gate, the vendor's feedback, or a paused source. */
export type LaneWaitKind = 'gate' | 'vendor' | 'paused';

/** What holding a lane needs. */
export interface HoldDeps {
  db: Kysely<Database>;
  log: Logger;
  metrics?: EngineMetrics;
}

/**
 * Holds a whole lane for `ms` in every process (BullMQ's queue rate limit) and ends the current
 * job with RateLimitError, which spends no attempt. A wait with a reason, or a long one, is
 * recorded on the walk for status and the dashboard. Always throws.
 */
export async function holdLane(deps: HoldDeps, lane: Lane, walkId: string, ms: number, reason: string | null, kind: LaneWaitKind): Promise<never> {
  deps.metrics?.laneWait(lane.sourceId, lane.laneClass, ms, kind);
  deps.log.debug({ lane: lane.queue.name, ms, reason }, 'lane rate limited');
  if (reason !== null || ms > 5_000) await markWalkWaiting(deps.db, walkId, new Date(Date.now() + ms), reason ?? 'lane rate limit');
  await lane.queue.rateLimit(ms);
  throw Worker.RateLimitError();
}
