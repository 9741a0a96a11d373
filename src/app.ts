import { Redis } from 'ioredis';
import type { Kysely } from 'kysely';
import { VENDORS } from '../jobs/index.js';
import type { FleetsyncConfig } from './config.js';
import { readEnv } from './env.js';
import type { Logger } from './logger.js';
import { Metrics } from './metrics.js';
import { Engine } from './queue/engine.js';
import { resolveSources, type ResolvedSource } from './sources.js';
import { createDb, type Database } from './warehouse/db.js';

/** Everything a command needs, wired once. `close()` releases it all. */
export interface App {
  config: FleetsyncConfig;
  sources: Map<string, ResolvedSource>;
  db: Kysely<Database>;
  redis: Redis;
  engine: Engine;
  logger: Logger;
  prefix: string;
  /** This process's Prometheus metrics (the engine reports into it; served by `worker` when enabled). */
  metrics: Metrics;
  close(): Promise<void>;
}

/** Options of openApp(). Defaults come from the environment (DATABASE_URL, REDIS_URL, FLEETSYNC_QUEUE_PREFIX). */
export interface OpenAppOptions {
  config: FleetsyncConfig;
  logger: Logger;
  databaseUrl?: string;
  redisUrl?: string;
  prefix?: string;
}

/**
 * Connects to Postgres and Redis and builds the engine for a validated config.
 * Throws ConfigError for sources that do not resolve; opens no connection in that case.
 */
export async function openApp(opts: OpenAppOptions): Promise<App> {
  const env = readEnv();
  const sources = resolveSources(opts.config, VENDORS);
  const db = createDb(opts.databaseUrl ?? env.databaseUrl);
  const redis = new Redis(opts.redisUrl ?? env.redisUrl, { maxRetriesPerRequest: null, lazyConnect: false });
  redis.on('error', (err) => opts.logger.warn({ err: err.message }, 'redis connection error'));
  const prefix = opts.prefix ?? env.queuePrefix;
  const metrics = new Metrics();
  const engine = new Engine({ db, redis, sources, worker: opts.config.worker, prefix, logger: opts.logger, metrics });
  metrics.trackQueues(async () =>
    Promise.all(
      [...engine.lanes.values()].map(async (l) => ({
        source: l.sourceId,
        lane: l.laneClass,
        counts: await l.queue.getJobCounts('waiting', 'prioritized', 'active', 'delayed', 'failed'),
      })),
    ),
  );
  let closed = false;
  return {
    config: opts.config,
    sources,
    db,
    redis,
    engine,
    logger: opts.logger,
    prefix,
    metrics,
    close: async () => {
      if (closed) return;
      closed = true;
      await engine.close();
      await db.destroy();
      redis.disconnect();
    },
  };
}
