import type { RedisClient } from '../redis.js';
import type { Kysely } from 'kysely';
import type { WorkerSettings } from '../config.js';
import type { ResourceDefinition } from '../connector.js';
import type { Logger } from '../logger.js';
import type { EngineMetrics } from '../metrics.js';
import type { ResolvedSource } from '../sources.js';
import { pageWhere, type WalkIdentity } from '../sync/where.js';
import type { Database } from '../warehouse/db.js';
import { laneQueueName, type Lane } from './lanes.js';
import type { PagePrefetch } from './prefetch.js';

/** Everything the engine's stages share: connections passed in, the sources and their lanes. */
export interface EngineContext {
  db: Kysely<Database>;
  /** ioredis connection with maxRetriesPerRequest: null (BullMQ requires it). */
  redis: RedisClient;
  prefix: string;
  sources: Map<string, ResolvedSource>;
  lanes: Map<string, Lane>;
  worker: WorkerSettings;
  log: Logger;
  metrics?: EngineMetrics;
  /** Pages fetched ahead by this process (src/queue/prefetch.ts); absent: never fetch ahead. */
  prefetch?: PagePrefetch;
}

/** The configured source `id`; throws when it is not in the configuration. */
export function sourceOf(ctx: EngineContext, id: string): ResolvedSource {
  const s = ctx.sources.get(id);
  if (!s) throw new Error(`source "${id}" is not in the configuration`);
  return s;
}

/** A vendor resource of a source; throws when the vendor has none of that name. */
export function definitionOf(src: ResolvedSource, resource: string): ResourceDefinition {
  const def = src.vendor.resources.find((r) => r.name === resource);
  if (!def) throw new Error(`${src.id}: vendor ${src.vendor.vendor} has no resource "${resource}"`);
  return def;
}

/** The lane a resource of a source goes through; throws when the source has no such lane. */
export function laneOf(ctx: EngineContext, src: ResolvedSource, def: ResourceDefinition): Lane {
  const lane = ctx.lanes.get(laneQueueName(src.id, def.lane));
  if (!lane) throw new Error(`${src.id}: no lane "${def.lane}" for ${def.name}`);
  return lane;
}

/** "automox-prod/devices org 42 page 7" for a walk of a configured (or since removed) source. */
export function whereOf(ctx: EngineContext, walk: WalkIdentity, page: number): string {
  const def = ctx.sources.get(walk.source_id)?.vendor.resources.find((r) => r.name === walk.resource);
  return pageWhere(walk, page, def?.parent);
}
