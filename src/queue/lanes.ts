import type { Kysely } from 'kysely';
import type { LaneLimit, RateWindow, TokenBucket, WorkerSettings } from '../config.js';
import { createHttpClient, type HttpAgents, type HttpGet, type HttpPage } from '../http/client.js';
import { VendorError } from '../http/errors.js';
import type { Logger } from '../logger.js';
import type { EngineMetrics } from '../metrics.js';
import type { PageRequest } from '../pagination/types.js';
import type { RedisClient } from '../redis.js';
import { rateLimitBackoffOf, type ResolvedSource } from '../sources.js';
import type { Database } from '../warehouse/db.js';
import { markWalkWaiting } from '../warehouse/walks.js';
import { LaneGate } from './lane-gate.js';
import { formatQuota, laneWindows, quotaPerHour, quotaState } from './quota.js';

/** Data of a page job: which walk and which page. Never credentials. */
export interface PageJobData {
  walkId: string;
  page: number;
  sourceId: string;
  resource: string;
  scope: string;
}

/** What a request through a lane came to: the gate had no room (nothing was sent), or the vendor's answer. */
export type LaneReply = { sent: false; waitMs: number } | { sent: true; page: HttpPage };

/** Hooks of one request through a lane. */
export interface LaneRequestHooks {
  /** Runs once the gate granted the request, right before it is sent (not when the gate had no room). */
  beforeSend?: () => Promise<void>;
  /** Called as soon as the request is on its way (its answer still to come). */
  onSent?: () => void;
}

/** What a lane is made of: a source's lane class, its limit, its gate in Redis and its HTTP client. */
export interface LaneParts {
  sourceId: string;
  laneClass: string;
  limit: LaneLimit;
  gate: LaneGate;
  http: HttpGet;
  /** Lane pause after a 429 that names no wait (rateLimitBackoffOf). */
  rateLimitBackoffMs: number;
  /** The source's hourly quota (src/queue/quota.ts), one of the gate's windows; null without one. */
  quotaPerHour?: number | null;
  /**
   * Longest an in-process retry waits for a gate slot of its own (worker.maxInProcessWaitMs);
   * default 0: only a free slot. Past it the failure is handed on as it is.
   */
  retryWaitMs?: number;
}

/**
 * One lane: a source's rate-limit class, with its gate in Redis and its HTTP client. Every vendor
 * request goes through `request`, so the gate counts each one and the vendor's word on its limit
 * holds for the whole lane as soon as it comes.
 */
export class Lane {
  readonly sourceId: string;
  readonly laneClass: string;
  /** `<source>.<lane class>`: the lane's name and the key of its gate in Redis. */
  readonly name: string;
  readonly gate: LaneGate;
  readonly windows: readonly RateWindow[];
  /** The source's hourly quota, kept as the last of `windows`; null without one. */
  readonly quotaPerHour: number | null;
  readonly tokenBucket: TokenBucket | undefined;
  /** Page jobs of the lane one worker process runs at once. */
  readonly concurrency: number;
  private readonly http: HttpGet;
  private readonly rateLimitBackoffMs: number;
  private readonly retryWaitMs: number;

  constructor(parts: LaneParts) {
    this.sourceId = parts.sourceId;
    this.laneClass = parts.laneClass;
    this.name = laneName(parts.sourceId, parts.laneClass);
    this.gate = parts.gate;
    this.quotaPerHour = parts.quotaPerHour ?? null;
    this.windows = laneWindows(parts.limit, this.quotaPerHour);
    this.tokenBucket = parts.limit.tokenBucket;
    this.concurrency = parts.limit.concurrency ?? 1;
    this.http = parts.http;
    this.rateLimitBackoffMs = parts.rateLimitBackoffMs;
    this.retryWaitMs = parts.retryWaitMs ?? 0;
  }

  /**
   * Sends one vendor request through the lane: takes a slot of the gate (every window, the token
   * bucket, a pause the vendor asked for) and, when it has room, sends the request. Each in-process
   * retry of the HTTP client takes a slot of its own before it goes (retrySlot), since the vendor
   * counts it as one more request; each slot counts until a window after its own answer. A response
   * that says the vendor's window is spent, and a 429 (or quota 402), pause the whole lane in every
   * process before the answer or the VendorError is handed on. Resolves `{ sent: false }` with
   * the wait when the gate had no room (nothing sent, nothing taken); rejects only with what the
   * HTTP client or `hooks.beforeSend` throws (a VendorError for any vendor failure).
   */
  async request(req: PageRequest, hooks: LaneRequestHooks = {}): Promise<LaneReply> {
    const first = await this.gate.slot();
    if (first.answered === null) return { sent: false, waitMs: first.waitMs };
    // The slot of the attempt on its way: answered once that attempt's answer is in.
    let held: (() => Promise<void>) | null = first.answered;
    // Redis away: the slot keeps counting as in flight until the gate lets it go, the safe side.
    const answered = async () => {
      const done = held;
      held = null;
      await done?.().catch(() => undefined);
    };
    const admitRetry = async () => {
      await answered();
      held = await this.retrySlot();
      return held !== null;
    };
    try {
      await hooks.beforeSend?.();
      const answer = this.http(req, { admitRetry });
      hooks.onSent?.();
      const page = await answer;
      if (page.throttleMs > 0) await this.gate.pauseUntil(Date.now() + page.throttleMs);
      return { sent: true, page };
    } catch (err) {
      if (err instanceof VendorError && err.kind === 'rate_limited') await this.gate.pauseUntil(Date.now() + (err.retryAfterMs ?? this.rateLimitBackoffMs));
      throw err;
    } finally {
      // The vendor counted the request before it answered: it counts here one window more.
      await answered();
    }
  }

  /** A gate slot for an in-process retry, waiting for one at most retryWaitMs; null when none came in time. */
  private async retrySlot(): Promise<(() => Promise<void>) | null> {
    const until = Date.now() + this.retryWaitMs;
    for (;;) {
      const slot = await this.gate.slot();
      if (slot.answered !== null) return slot.answered;
      if (Date.now() + slot.waitMs > until) return null;
      await new Promise((resolve) => setTimeout(resolve, slot.waitMs));
    }
  }
}

/** A lane's name: `<source>.<lane class>` (source ids hold no dot), the key of its gate. */
export function laneName(sourceId: string, laneClass: string): string {
  return `${sourceId}.${laneClass}`;
}

/** What opening lanes needs; nothing here is owned by the lanes. */
export interface LaneOptions {
  redis: RedisClient;
  prefix: string;
  worker: WorkerSettings;
  metrics?: EngineMetrics;
  /** Keep-alive agents shared by every lane of this process (one socket pool per vendor host, not per source). */
  agents?: HttpAgents;
}

/**
 * Opens one lane of a source: its gate under the queue prefix and its own HTTP client (so every
 * response is counted under the lane). Throws when the source has no such lane class.
 */
export function openLane(src: ResolvedSource, laneClass: string, opts: LaneOptions): Lane {
  const limit = src.lanes.get(laneClass);
  if (!limit) throw new Error(`${src.id}: no lane "${laneClass}"`);
  const http = createHttpClient({
    baseUrl: src.config.baseUrl,
    authHeaders: src.vendor.authHeaders(src.credentials),
    readError: src.vendor.readError,
    timeoutMs: opts.worker.requestTimeoutMs,
    ...(opts.worker.requestDeadlineMs !== undefined ? { deadlineMs: opts.worker.requestDeadlineMs } : {}),
    retries: opts.worker.requestRetries,
    maxResponseBytes: opts.worker.maxResponseBytes,
    maxInProcessWaitMs: opts.worker.maxInProcessWaitMs,
    quotaHeaders: src.vendor.quotaHeaders,
    onResponse: (status) => opts.metrics?.request(src.id, laneClass, status),
    ...(opts.agents ? { agents: opts.agents } : {}),
  });
  const perHour = quotaPerHour(src.config, src.vendor);
  const gate = new LaneGate(opts.redis, `${opts.prefix}:fleetsync-lane:${laneName(src.id, laneClass)}`, laneWindows(limit, perHour), limit.tokenBucket, inFlightMs(opts.worker));
  return new Lane({ sourceId: src.id, laneClass, limit, gate, http, rateLimitBackoffMs: rateLimitBackoffOf(src), quotaPerHour: perHour, retryWaitMs: opts.worker.maxInProcessWaitMs });
}

/** How long a granted request counts without reporting its answer: every attempt of it, to its deadline. */
function inFlightMs(w: WorkerSettings): number {
  return ((w.requestDeadlineMs ?? 2 * w.requestTimeoutMs) + w.maxInProcessWaitMs) * (w.requestRetries + 1);
}

/** Why a lane waits: our own gate, the vendor's feedback, or a paused source. */
export type LaneWaitKind = 'gate' | 'vendor' | 'paused';

/** What holding a lane needs. */
export interface HoldDeps {
  db: Kysely<Database>;
  log: Logger;
  metrics?: EngineMetrics | undefined;
}

/** Why and how long a page waits for its lane, and for which walk. */
export interface LaneHold {
  walkId: string;
  ms: number;
  reason: string | null;
  kind: LaneWaitKind;
}

/**
 * Makes a page job wait `hold.ms` for its lane: `defer` puts this job back as delayed (it spends no
 * attempt, and other sources' jobs on the shared queue go on). The lane itself is held by its gate
 * in Redis, which every process asks before a request. A wait with a reason, or a long one, is
 * recorded on the walk for status and the dashboard. Always throws (what `defer` throws).
 */
export async function holdLane(deps: HoldDeps, lane: Pick<Lane, 'sourceId' | 'laneClass' | 'name'> & Partial<Pick<Lane, 'gate' | 'quotaPerHour'>>, hold: LaneHold, defer: (ms: number) => Promise<never>): Promise<never> {
  deps.metrics?.laneWait(lane.sourceId, lane.laneClass, hold.ms, hold.kind);
  deps.log.debug({ lane: lane.name, ms: hold.ms, reason: hold.reason }, 'lane rate limited');
  const reason = hold.reason ?? (hold.ms > 5_000 ? await spentQuotaReason(lane) : null);
  if (reason !== null || hold.ms > 5_000) await markWalkWaiting(deps.db, hold.walkId, new Date(Date.now() + hold.ms), reason ?? 'lane rate limit');
  return await defer(hold.ms);
}

/** "quota: 0 of 30 requests left this hour, resumes 14:00" when the lane's own quota window is what holds it, else null. */
async function spentQuotaReason(lane: Partial<Pick<Lane, 'gate' | 'quotaPerHour'>>): Promise<string | null> {
  if (!lane.gate || !lane.quotaPerHour) return null;
  const q = await quotaState(lane.gate, lane.quotaPerHour);
  return q.left === 0 ? formatQuota(q) : null;
}
