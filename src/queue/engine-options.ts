import type { Kysely } from 'kysely';
import type { WorkerSettings } from '../config.js';
import type { Logger } from '../logger.js';
import type { EngineMetrics } from '../metrics.js';
import type { RedisClient } from '../redis.js';
import type { SourceRegistry } from '../source-registry.js';
import type { Database } from '../warehouse/db.js';

/** Options of Engine. Everything is passed in; the engine owns none of these connections. */
export interface EngineOptions {
  db: Kysely<Database>;
  /** ioredis connection with maxRetriesPerRequest: null (BullMQ requires it). */
  redis: RedisClient;
  /** The sources this process knows (YAML and Postgres); resolved only when a page or a command needs one. */
  sources: SourceRegistry;
  worker: WorkerSettings;
  /** BullMQ key prefix; tests use their own. */
  prefix: string;
  logger: Logger;
  /** Receives request, row, wait and walk-duration counts; optional. */
  metrics?: EngineMetrics;
  /** Receives the 'error' events of the page queues and workers (a lost Redis); default: logged. */
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
