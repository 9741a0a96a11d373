import type { RateWindow, TokenBucket } from '../config.js';
import type { RedisClient } from '../redis.js';
import type { ResolvedSource } from '../sources.js';
import { LaneGate } from './lane-gate.js';
import { laneName } from './lanes.js';
import { laneWindows, quotaPerHour } from './quota.js';

/** A lane as status, progress and the dashboard show it: its limits and its gate, without an HTTP client or credentials. */
export interface LaneInfo {
  sourceId: string;
  laneClass: string;
  name: string;
  windows: readonly RateWindow[];
  /** The source's hourly quota (the last of `windows`), or null. */
  quotaPerHour: number | null;
  tokenBucket: TokenBucket | undefined;
  concurrency: number;
  gate: LaneGate;
}

/** The lanes of a source (resolved with or without credentials), each with a handle on its gate in Redis. */
export function laneInfos(src: ResolvedSource, redis: RedisClient, prefix: string): LaneInfo[] {
  return [...src.lanes].map(([laneClass, limit]) => {
    const name = laneName(src.id, laneClass);
    const perHour = quotaPerHour(src.config, src.vendor);
    const windows = laneWindows(limit, perHour);
    return { sourceId: src.id, laneClass, name, windows, quotaPerHour: perHour, tokenBucket: limit.tokenBucket, concurrency: limit.concurrency ?? 1, gate: new LaneGate(redis, `${prefix}:fleetsync-lane:${name}`, windows, limit.tokenBucket) };
  });
}
