import type { SourceConfig } from './config.js';

/**
 * How fresh each source's resources must be: a source's `freshness` (one duration, or
 * `{ default, <resource>: duration }`), else DEFAULT_FRESHNESS_MS. A resource is stale when its
 * last succeeded walk finished longer ago than that; the stale alert
 * (`fleetsync_freshness_overdue_seconds`), the dashboard and the `stale` notification read it
 * here. Pure.
 */

/** A resource with no `freshness` of its own must have succeeded within a day. */
export const DEFAULT_FRESHNESS_MS = 86_400_000;

/** The freshness threshold of one resource of a source, in milliseconds. */
export function freshnessOf(config: Pick<SourceConfig, 'freshness'> | undefined, resource: string): number {
  const f = config?.freshness;
  if (typeof f === 'number') return f;
  return f?.[resource] ?? f?.default ?? DEFAULT_FRESHNESS_MS;
}

/** Problems of a source's `freshness` map: resource names its vendor does not have (key paths under `at`). */
export function freshnessProblems(at: string, config: Pick<SourceConfig, 'freshness'>, vendor: string, known: readonly string[]): string[] {
  const f = config.freshness;
  if (typeof f !== 'object') return [];
  return Object.keys(f)
    .filter((name) => name !== 'default' && !known.includes(name))
    .map((name) => `${at}.freshness.${name}: unknown resource for vendor ${vendor} (known: default, ${known.join(', ')})`);
}

/** One resource's last success measured against its threshold. */
export interface Freshness {
  source: string;
  resource: string;
  lastSuccess: Date;
  thresholdMs: number;
  /** How far past the threshold it is (0 while fresh). */
  overdueMs: number;
}

/** The freshness of each (source, resource) that has succeeded once, by its source's config. */
export function measureFreshness(lastSuccesses: ReadonlyArray<{ source: string; resource: string; at: Date }>, configOf: (sourceId: string) => Pick<SourceConfig, 'freshness'> | undefined, now = Date.now()): Freshness[] {
  return lastSuccesses.map((l) => {
    const thresholdMs = freshnessOf(configOf(l.source), l.resource);
    return { source: l.source, resource: l.resource, lastSuccess: l.at, thresholdMs, overdueMs: Math.max(0, now - l.at.getTime() - thresholdMs) };
  });
}
