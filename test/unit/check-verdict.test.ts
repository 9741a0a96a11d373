import { describe, expect, it } from 'vitest';
import { checkFailed, formatReferences, problemsOf, type CheckReport, type SourceResult } from '../../src/check/report.js';
import { formatHeadroom, headroomOf, probeVerdict, type ProbeOutcome } from '../../src/check/verdict.js';
import { minDurationMs } from '../../src/sync/request-estimate.js';

const NOW = Date.UTC(2026, 0, 1, 12, 0, 0);
const probe = { request: 'GET /api/orgs' };
const failed = (status: number | null, kind: 'auth' | 'rate_limited' | 'retryable' | 'invalid_request' | 'payment_required', message: string, retryAfterMs: number | null = null): ProbeOutcome => ({
  kind: 'failed',
  latencyMs: 5,
  error: { kind, status, code: status === null ? 'ECONNREFUSED' : null, message, retryAfterMs },
});

describe('check verdicts', () => {
  it('a 2xx proves auth and reachability and reads the headroom the headers give', () => {
    const v = probeVerdict({ kind: 'answered', status: 200, latencyMs: 12, headers: { 'x-ratelimit-limit': '100', 'x-ratelimit-remaining': '99', 'x-ratelimit-reset': String(NOW / 1000 + 2) } }, probe, NOW);
    expect(v).toMatchObject({ auth: 'ok', reachable: 'ok', status: 200, problem: null, headroom: { remaining: 99, limit: 100, resetsInMs: 2000 } });
    expect(formatHeadroom(v.headroom)).toBe('99/100 left, resets in 2 s');
    const quota = { remaining: 'X-Toggl-Quota-Remaining', resetsInSeconds: 'X-Toggl-Quota-Resets-In' };
    expect(formatHeadroom(headroomOf({ 'x-toggl-quota-remaining': '7', 'x-toggl-quota-resets-in': '600' }, quota, NOW))).toBe('vendor quota 7 left, resets in 600 s');
    expect(headroomOf({}, quota, NOW)).toBeNull();
  });

  it('401/403 fail auth, no answer fails reachability, 5xx and 404 are problems, 429 only a note', () => {
    expect(probeVerdict(failed(401, 'auth', '401 Unauthorized (GET /api/orgs)'), probe)).toMatchObject({ auth: 'failed', reachable: 'ok', problem: "authentication failed: 401 Unauthorized (GET /api/orgs); check the source's credentials" });
    expect(probeVerdict(failed(null, 'retryable', 'cannot reach the vendor at h:443: ENOTFOUND'), probe)).toMatchObject({ auth: 'unknown', reachable: 'failed', problem: 'cannot reach the vendor at h:443: ENOTFOUND' });
    expect(probeVerdict(failed(503, 'retryable', '503 down'), probe).problem).toBe('the vendor answered 503 down');
    expect(probeVerdict(failed(404, 'invalid_request', '404 Not Found (GET /x)'), probe).problem).toBe("404 Not Found (GET /x): check the source's baseUrl");
    const limited = probeVerdict(failed(429, 'rate_limited', '429 slow down', 3000), probe);
    expect(limited).toMatchObject({ auth: 'unknown', reachable: 'ok', problem: null, headroom: { remaining: 0 } });
    expect(limited.note).toContain('the vendor asks to wait 3 s');
    // An answer the probe accepts (a session state not set yet) proves the credentials.
    expect(probeVerdict(failed(404, 'invalid_request', '404 none active'), { ...probe, accept: [404] })).toMatchObject({ auth: 'ok', problem: null });
    expect(probeVerdict({ kind: 'not-sent', lane: 'ax.api', waitMs: 61_000 }, probe)).toMatchObject({ auth: 'unknown', problem: null, note: expect.stringContaining('lane ax.api has no free slot for 61 s') });
  });

  it('fails on a source problem, on unset credentials only when requests are made, and on Postgres or Redis out of reach', () => {
    const src: SourceResult = { id: 'a', vendor: 'automox', origin: 'config', references: [{ key: 'apiKey', name: 'K', kind: 'env', resolves: false }], problems: [], credentialProblems: ['sources[0].credentials.apiKey: environment variable K is not set'], probe: null, skipped: null };
    const report: CheckReport = { file: 'f.yaml', inFile: 1, requests: true, stored: { read: true, count: 0, problem: null }, redis: null, sources: [src] };
    expect(problemsOf(src, true)).toHaveLength(1);
    expect(checkFailed(report)).toBe(true);
    expect(checkFailed({ ...report, requests: false })).toBe(false);
    expect(checkFailed({ ...report, requests: false, sources: [], stored: { read: false, count: 0, problem: 'down' } })).toBe(false);
    expect(checkFailed({ ...report, sources: [], redis: 'Redis at x:1 is unreachable' })).toBe(true);
    expect(formatReferences([...src.references, { key: 'secret', name: '/run/s', kind: 'file', resolves: true }, { key: 'user', name: null, kind: 'inline', resolves: true }])).toBe('apiKey ${K} (unset), secret ${file:/run/s}, user (inline)');
  });
});

describe('least time under a lane', () => {
  it('windows let `max` go per window, a token bucket its capacity at once then one per refill', () => {
    expect(minDurationMs(0, { windows: [{ max: 2, durationMs: 60_000 }] })).toBe(0);
    expect(minDurationMs(2, { windows: [{ max: 2, durationMs: 60_000 }] })).toBe(0);
    expect(minDurationMs(3, { windows: [{ max: 2, durationMs: 60_000 }] })).toBe(60_000);
    expect(minDurationMs(1001, { windows: [{ max: 100, durationMs: 60_000 }, { max: 1000, durationMs: 3_600_000 }] })).toBe(3_600_000);
    expect(minDurationMs(200, { windows: [], tokenBucket: { capacity: 200, refillPerMinute: 100 } })).toBe(0);
    expect(minDurationMs(350, { windows: [], tokenBucket: { capacity: 200, refillPerMinute: 100 } })).toBe(90_000);
  });
});
