import type { Kysely } from 'kysely';
import { VENDORS } from '../jobs/index.js';
import type { FleetsyncConfig } from './config.js';
import { readEnv } from './env.js';
import type { Logger } from './logger.js';
import { Metrics } from './metrics.js';
import { createRedis, parseRedisUrl, prefixFor, type RedisClient, type RedisTarget } from './redis.js';
import { countHeldSweeps } from './warehouse/held-sweeps.js';
import { lastEvents } from './warehouse/event-writes.js';
import { CONNECTION_CODES, errorCode, InfraError } from './infra-errors.js';
import { OutageLog } from './outage-log.js';
import { Engine } from './queue/engine.js';
import { EventCore } from './events/core.js';
import { SourceRegistry } from './source-registry.js';
import { checkSources } from './sources.js';
import { createDb, type Database } from './warehouse/db.js';
import { freshnessOf } from './freshness.js';

/** Everything a command needs, wired once. `close()` releases it all. */
export interface App {
  config: FleetsyncConfig;
  /** The YAML file's sources and those stored in Postgres (refresh() reads them again). */
  sources: SourceRegistry;
  db: Kysely<Database>;
  redis: RedisClient;
  engine: Engine;
  /** Vendor events between walks: their queues, workers and feed polls (src/events/). */
  events: EventCore;
  logger: Logger;
  prefix: string;
  /** Receives the 'error' events of BullMQ queues and workers the commands open on `redis` (logged once per outage). */
  onRedisError(err: Error): void;
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
  /**
   * What to do when Redis or Postgres is down. `fail` (one-shot commands): throw an InfraError
   * naming Redis's host and port when it cannot be reached within REDIS_CONNECT_TIMEOUT_MS, and
   * let a Postgres error end the command (the CLI names Postgres). `wait` (the worker): go on,
   * wait until each is back, and log one line when one goes away and one when it returns.
   * Default `fail`.
   */
  whenDown?: 'fail' | 'wait';
  /** Where sources' credential references resolve; default process.env. */
  env?: NodeJS.ProcessEnv;
}

/** How long a one-shot command waits for Redis before it gives up. */
export const REDIS_CONNECT_TIMEOUT_MS = 5_000;
// Refused or unknown hosts fail every attempt at once: give up after this many instead of waiting the whole timeout.
const REDIS_CONNECT_ATTEMPTS = 4;

/** Whether a Redis client or BullMQ error means the connection failed (rather than a command error). Returns the reason, or null. */
function redisConnectionReason(err: Error): string | null {
  const code = errorCode(err);
  if (code && CONNECTION_CODES.has(code)) return code;
  if (/^(Connection is closed|Socket closed unexpectedly|Stream isn't writeable)/.test(err.message)) return err.message.replace(/\.$/, '');
  return null;
}

/**
 * Resolves when the client is ready; rejects with an InfraError naming Redis's host and port
 * when it is not within REDIS_CONNECT_TIMEOUT_MS or REDIS_CONNECT_ATTEMPTS failed attempts, or
 * at once when Redis refuses the credentials.
 */
function redisReady(redis: RedisClient, display: string): Promise<void> {
  if (redis.status === 'ready') return Promise.resolve();
  return new Promise<void>((resolve, reject) => {
    let failures = 0;
    let last = 'no answer';
    const done = (err?: InfraError) => {
      clearTimeout(timer);
      redis.off('ready', onReady);
      redis.off('error', onError);
      if (err) reject(err);
      else resolve();
    };
    const onReady = () => done();
    const onError = (err: Error) => {
      if (/^(WRONGPASS|NOAUTH)/.test(err.message)) return done(new InfraError('Redis', `${display} refused the credentials in REDIS_URL (${err.message.split(' ')[0]})`));
      last = redisConnectionReason(err) ?? err.message;
      if (++failures >= REDIS_CONNECT_ATTEMPTS) done(new InfraError('Redis', `${display} is unreachable (${last})`, errorCode(err)));
    };
    const timer = setTimeout(() => done(new InfraError('Redis', `${display} is unreachable (${last === 'no answer' ? `no answer within ${REDIS_CONNECT_TIMEOUT_MS} ms` : last})`)), REDIS_CONNECT_TIMEOUT_MS);
    redis.on('ready', onReady);
    redis.on('error', onError);
  });
}

/**
 * Connects to Postgres and Redis and builds the engine for a validated config, with the sources
 * stored in Postgres read once. Throws ConfigError for a YAML source whose definition is wrong
 * (credentials are not needed: they resolve when a request needs them); opens no connection then.
 */
export async function openApp(opts: OpenAppOptions): Promise<App> {
  const env = readEnv();
  checkSources(opts.config, VENDORS);
  const { redis, onRedisError, display } = await connectRedis(opts, opts.redisUrl ?? env.redisUrl);
  // A one-shot command reports a lost Postgres in its own one line; only a waiting process logs outages.
  const failFast = (opts.whenDown ?? 'fail') === 'fail';
  const db = createDb(opts.databaseUrl ?? env.databaseUrl, failFast ? {} : { logger: opts.logger });
  const sources = new SourceRegistry({ config: opts.config, vendors: VENDORS, env: opts.env ?? process.env, db, logger: opts.logger });
  // A worker waiting for Postgres reads the stored sources at its next refresh instead.
  if (failFast) await sources.refresh();
  const prefix = prefixFor(display, opts.prefix ?? env.queuePrefix);
  const metrics = new Metrics();
  const engine = new Engine({ db, redis, sources, worker: opts.config.worker, prefix, logger: opts.logger, metrics, onRedisError });
  const events = new EventCore({ db, redis, prefix, sources, worker: opts.config.worker, logger: opts.logger, metrics, openLane: (id, lane) => engine.openLane(id, lane), onRedisError });
  metrics.trackQueues(async () => Promise.all(engine.queues().map(async (queue) => ({ queue: queue.name, counts: await queue.getJobCounts('waiting', 'prioritized', 'active', 'delayed', 'failed') }))));
  metrics.trackHeldSweeps(() => countHeldSweeps(db));
  metrics.trackFreshness((source, resource) => freshnessOf(sources.configOf(source), resource));
  metrics.trackLastEvents(async () => (await lastEvents(db)).map((e) => ({ source: e.source, resource: e.resource, at: e.lastAppliedAt })));
  let closed = false;
  return {
    config: opts.config,
    sources,
    db,
    redis,
    engine,
    events,
    logger: opts.logger,
    prefix,
    metrics,
    onRedisError,
    close: async () => {
      if (closed) return;
      closed = true;
      await events.close();
      await engine.close();
      await db.destroy();
      redis.disconnect();
    },
  };
}

/**
 * Connects to Redis. A one-shot command (`whenDown: fail`) waits for it to answer and throws an
 * InfraError naming it otherwise; the worker goes on and logs one line per outage.
 */
export async function connectRedis(opts: OpenAppOptions, url: string): Promise<{ redis: RedisClient; onRedisError: (err: Error) => void; display: RedisTarget }> {
  const target = parseRedisUrl(url);
  const redis = createRedis(target, {
    maxRetriesPerRequest: null,
    lazyConnect: false,
    connectTimeout: REDIS_CONNECT_TIMEOUT_MS,
    // Reconnect for ever, at most every 2 s: the worker waits out a Redis restart.
    retryStrategy: (times) => Math.min(100 * times, 2_000),
  });
  const redisOutage = new OutageLog(opts.logger, 'redis', target.display);
  // Every connection's errors land here: this client's and those BullMQ queues and workers
  // open from it. A connection error is one outage line; anything else one line, never a stack.
  const failFast = (opts.whenDown ?? 'fail') === 'fail';
  // A one-shot command says it in its own one line (redisReady below) until Redis first answers.
  let watching = !failFast;
  const onRedisError = (err: Error) => {
    if (!watching) return;
    const reason = redisConnectionReason(err);
    if (reason === null) opts.logger.error({ component: 'redis', err: err.message }, `Redis error: ${err.message}`);
    // A BullMQ connection reconnecting after the main one is back is not a new outage.
    else if (redis.status !== 'ready') redisOutage.down(reason);
  };
  redis.on('error', onRedisError);
  redis.on('ready', () => redisOutage.up());
  if (failFast) {
    try {
      await redisReady(redis, target.display);
    } catch (err) {
      redis.disconnect();
      throw err;
    }
    watching = true;
  }
  return { redis, onRedisError, display: target };
}
