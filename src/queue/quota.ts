import type { LaneLimit, RateWindow, SourceConfig } from '../config.js';
import type { VendorDefinition } from '../connector.js';
import type { LaneGate } from './lane-gate.js';

// A source's hourly request quota (`quota` in its config: a plan name of its vendor, or requests
// per hour): one more window of every lane of the source, kept by the lane gate in Redis like the
// documented limits, and the text status and progress show of it. docs/toggl.md, "Quota".

/** The quota's window. */
export const QUOTA_WINDOW_MS = 3_600_000;

/** Requests per hour of a source's `quota`, or null without one (or with a plan name its vendor does not have). */
export function quotaPerHour(config: Pick<SourceConfig, 'quota'>, vendor: Pick<VendorDefinition, 'quotaPlans'>): number | null {
  const q = config.quota;
  if (q === undefined) return null;
  if (typeof q === 'number') return q;
  return vendor.quotaPlans?.[q.toLowerCase()] ?? null;
}

/** What is wrong with a source's `quota` (a plan name its vendor does not have), or null. */
export function quotaProblem(config: Pick<SourceConfig, 'quota'>, vendor: Pick<VendorDefinition, 'vendor' | 'quotaPlans'>): string | null {
  const q = config.quota;
  if (typeof q !== 'string' || quotaPerHour(config, vendor) !== null) return null;
  const plans = Object.entries(vendor.quotaPlans ?? {});
  return plans.length === 0
    ? `quota: ${vendor.vendor} has no named plans; give the requests per hour as a number, got ${JSON.stringify(q)}`
    : `quota: unknown ${vendor.vendor} plan ${JSON.stringify(q)} (known: ${plans.map(([n, r]) => `${n} = ${r}/h`).join(', ')}), or a number of requests per hour`;
}

/** A lane's windows: its limit's, then the source's quota window when it has one. */
export function laneWindows(limit: LaneLimit, perHour: number | null): RateWindow[] {
  const own = limit.windows ?? [];
  return perHour === null ? [...own] : [...own, { max: perHour, durationMs: QUOTA_WINDOW_MS }];
}

/** Where a lane's quota stands: requests left in the last hour, of how many, and when the next one may go (null: now). */
export interface QuotaState {
  left: number;
  max: number;
  resumesAt: number | null;
}

/**
 * The quota of a lane as its gate counts it: `max` minus the requests of the last hour, and, when
 * none is left or the vendor paused the lane, when requests resume (the oldest request leaves the
 * window, or the pause ends, whichever is later).
 */
export async function quotaState(gate: Pick<LaneGate, 'windowUse' | 'pausedUntil'>, max: number, now = Date.now()): Promise<QuotaState> {
  const use = await gate.windowUse({ max, durationMs: QUOTA_WINDOW_MS });
  const paused = await gate.pausedUntil();
  const left = Math.max(0, max - use.used);
  const freesAt = left === 0 && use.oldestAt !== null ? use.oldestAt + QUOTA_WINDOW_MS : null;
  const resumesAt = [freesAt, paused].filter((t): t is number => t !== null && t > now).reduce<number | null>((a, b) => (a === null || b > a ? b : a), null);
  return { left, max, resumesAt };
}

/** "quota: 12 of 30 requests left this hour, resumes 14:00" (UTC); without a resume time, only what is left. */
export function formatQuota(q: Pick<QuotaState, 'left' | 'resumesAt'> & { max: number | null }): string {
  const of = q.max === null ? '' : ` of ${q.max}`;
  const resumes = q.resumesAt === null ? '' : `, resumes ${new Date(q.resumesAt).toISOString().slice(11, 16)}`;
  return `quota: ${q.left}${of} requests left this hour${resumes}`;
}
