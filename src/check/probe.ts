import { setTimeout as sleep } from 'node:timers/promises';
import type { WorkerSettings } from '../config.js';
import type { VendorProbe } from '../connector.js';
import type { HttpAgents } from '../http/agents.js';
import { VendorError } from '../http/errors.js';
import { quotaState } from '../queue/quota.js';
import { openLane } from '../queue/lanes.js';
import type { RedisClient } from '../redis.js';
import type { ResolvedSource } from '../sources.js';
import { pageContext } from '../sync/walk-plan.js';
import { probeVerdict, type ProbeOutcome, type ProbeVerdict } from './verdict.js';

/** What probing a source needs: the lanes' Redis, the worker settings to shorten, the check's time limit. */
export interface ProbeDeps {
  redis: RedisClient;
  prefix: string;
  worker: WorkerSettings;
  /** Longest the probe may wait for an answer, and for a free slot of its lane. */
  timeoutMs: number;
  agents: HttpAgents;
}

/**
 * The source's probe: the vendor's own (VendorDefinition.probe), else the first page of its first
 * root resource at page size 1 (the cheapest list request the connector knows how to make).
 */
export function probeOf(src: ResolvedSource): VendorProbe {
  const own = src.vendor.probe?.(src.config);
  if (own) return own;
  const def = [...src.resources.values()].find((r) => !r.parent) ?? src.vendor.resources.find((r) => !r.parent)!;
  const scope = src.vendor.rootScopes?.()[0] ?? '-';
  const ctx = { ...pageContext(src, def, { scope }, 0), pageSize: 1 };
  return { lane: def.lane, request: def.pagination.request(def.pagination.first(ctx), ctx) };
}

/** `GET /api/orgs`: the probe's method and path below the host, without its query. */
function requestText(src: ResolvedSource, probe: VendorProbe): string {
  const base = new URL(src.config.baseUrl).pathname.replace(/\/+$/, '');
  const path = probe.request.url !== undefined ? new URL(probe.request.url, src.config.baseUrl).pathname : `${base}${(probe.request.path ?? '').split('?')[0]}`;
  return `${probe.request.method ?? 'GET'} ${path}`;
}

/**
 * The worker settings of a check's lane: answers within `timeoutMs` (headers and body), one
 * in-process retry of a reset connection, and no in-process wait longer than a second.
 */
function checkSettings(worker: WorkerSettings, timeoutMs: number): WorkerSettings {
  return { ...worker, requestTimeoutMs: timeoutMs, requestDeadlineMs: timeoutMs, requestRetries: 1, maxInProcessWaitMs: Math.min(1_000, worker.maxInProcessWaitMs) };
}

/** Sends the probe through its lane (the gate counts it like any request), waiting for a slot at most until the deadline. */
async function send(src: ResolvedSource, probe: VendorProbe, deps: ProbeDeps): Promise<{ outcome: ProbeOutcome; ownQuota: { left: number; max: number } | null }> {
  const lane = openLane(src, probe.lane, { redis: deps.redis, prefix: deps.prefix, worker: checkSettings(deps.worker, deps.timeoutMs), agents: deps.agents });
  const deadline = Date.now() + deps.timeoutMs;
  const own = async () => (lane.quotaPerHour === null ? null : await quotaState(lane.gate, lane.quotaPerHour).then((q) => ({ left: q.left, max: q.max })));
  for (;;) {
    const started = Date.now();
    try {
      const reply = await lane.request(probe.request);
      if (reply.sent) return { outcome: { kind: 'answered', status: reply.page.status, headers: reply.page.headers, latencyMs: Date.now() - started }, ownQuota: await own() };
      if (Date.now() + reply.waitMs > deadline) return { outcome: { kind: 'not-sent', lane: lane.name, waitMs: reply.waitMs }, ownQuota: await own() };
      await sleep(reply.waitMs);
    } catch (err) {
      if (!(err instanceof VendorError)) throw err;
      const error = { kind: err.kind, status: err.status, code: err.code, message: err.message, retryAfterMs: err.retryAfterMs };
      return { outcome: { kind: 'failed', error, latencyMs: Date.now() - started }, ownQuota: await own() };
    }
  }
}

/**
 * Makes the source's one probe request and judges it. Rejects only when Redis fails under the
 * lane's gate (the caller reports Redis).
 */
export async function probeSource(src: ResolvedSource, deps: ProbeDeps): Promise<ProbeVerdict> {
  const probe = probeOf(src);
  const { outcome, ownQuota } = await send(src, probe, deps);
  const verdict = probeVerdict(outcome, { request: requestText(src, probe), ...(probe.accept ? { accept: probe.accept } : {}), quota: src.vendor.quotaHeaders });
  if (ownQuota === null) return verdict;
  const base = verdict.headroom ?? { remaining: null, limit: null, resetsInMs: null, quotaRemaining: null, quotaResetsInMs: null };
  return { ...verdict, headroom: { ...base, ownQuota } };
}
