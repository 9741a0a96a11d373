import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VENDORS } from '../../jobs/index.js';
import { toggl } from '../../jobs/toggl.js';
import { parseConfig } from '../../src/config.js';
import { createHttpClient } from '../../src/http/client.js';
import { VendorError } from '../../src/http/errors.js';
import { formatQuota, laneWindows, QUOTA_WINDOW_MS, quotaPerHour, quotaProblem, quotaState } from '../../src/queue/quota.js';
import { resolveSources } from '../../src/sources.js';

const HOUR = 3_600_000;

describe('a source\'s hourly quota', () => {
  it('is a plan name of the vendor or requests per hour, and one more window of every lane', () => {
    expect([quotaPerHour({ quota: 'free' }, toggl), quotaPerHour({ quota: 'Starter' }, toggl), quotaPerHour({ quota: 'premium' }, toggl), quotaPerHour({ quota: 45 }, toggl), quotaPerHour({}, toggl)]).toEqual([30, 240, 600, 45, null]);
    expect(laneWindows({ windows: [{ max: 1, durationMs: 1000 }] }, 30)).toEqual([{ max: 1, durationMs: 1000 }, { max: 30, durationMs: QUOTA_WINDOW_MS }]);
    expect(laneWindows({ windows: [{ max: 1, durationMs: 1000 }] }, null)).toEqual([{ max: 1, durationMs: 1000 }]);
    expect(quotaProblem({ quota: 'gold' }, toggl)).toBe('quota: unknown toggl plan "gold" (known: free = 30/h, starter = 240/h, premium = 600/h), or a number of requests per hour');
    expect(quotaProblem({ quota: 'free' }, VENDORS.automox!)).toBe('quota: automox has no named plans; give the requests per hour as a number, got "free"');
    expect(quotaProblem({ quota: 100 }, VENDORS.automox!)).toBeNull();
  });

  it('a config with a plan name its vendor lacks is refused where it is read', () => {
    const source = { id: 'tg', vendor: 'toggl', baseUrl: 'https://api.track.toggl.com/api/v9', credentials: { apiToken: 'x' } };
    expect(() => resolveSources(parseConfig({ sources: [{ ...source, quota: 'gold' }] }, {}), VENDORS, {})).toThrow(/quota: unknown toggl plan "gold"/);
    const ok = resolveSources(parseConfig({ sources: [{ ...source, quota: 'free' }] }, {}), VENDORS, {});
    expect(quotaPerHour(ok.get('tg')!.config, ok.get('tg')!.vendor)).toBe(30);
  });

  it('status text: what is left of the hour and, when spent, when requests resume (UTC)', async () => {
    const now = Date.parse('2026-12-08T13:20:00Z');
    const gate = (used: number, oldestAt: number | null, pausedUntil: number | null = null) => ({ windowUse: async () => ({ used, oldestAt }), pausedUntil: async () => pausedUntil });
    expect(formatQuota(await quotaState(gate(18, now - 30 * 60_000), 30, now))).toBe('quota: 12 of 30 requests left this hour');
    expect(formatQuota(await quotaState(gate(30, Date.parse('2026-12-08T13:00:00Z')), 30, now))).toBe('quota: 0 of 30 requests left this hour, resumes 14:00');
    // The vendor's pause (a 402 until the hour boundary) counts too.
    expect(formatQuota(await quotaState(gate(3, now - 60_000, Date.parse('2026-12-08T14:00:00Z')), 30, now))).toBe('quota: 27 of 30 requests left this hour, resumes 14:00');
  });
});

describe('a 402 from a vendor with a quota', () => {
  let server: http.Server;
  let base = '';
  let answer: { status: number; body: string; headers?: Record<string, string> } = { status: 200, body: '[]' };
  beforeAll(async () => {
    server = http.createServer((_req, res) => {
      res.writeHead(answer.status, { 'content-type': 'text/plain', ...answer.headers });
      res.end(answer.body);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((r) => server.close(r));
  });
  const client = () => createHttpClient({ baseUrl: base, authHeaders: {}, readError: toggl.readError, timeoutMs: 5000, maxInProcessWaitMs: 0, retries: 0, quotaHeaders: toggl.quotaHeaders! });
  const failure = async (): Promise<VendorError> => {
    const err = await client()({ path: '/x' }).then(() => null, (e: unknown) => e);
    if (!(err instanceof VendorError)) throw new Error(`expected a VendorError, got ${String(err)}`);
    return err;
  };

  it('without quota headers but saying the quota is spent: a lane pause until the next hour boundary', async () => {
    answer = { status: 402, body: "Quota exceeded: You've used 31 / 30 requests from user specific requests quota" };
    const before = Date.now();
    const err = await failure();
    expect(err.kind).toBe('rate_limited');
    // The pause ends on an hour boundary (the answer came a moment after `before`).
    const until = before + err.retryAfterMs!;
    expect(Math.min(until % HOUR, HOUR - (until % HOUR))).toBeLessThan(2000);
    expect(err.retryAfterMs!).toBeLessThanOrEqual(HOUR);
  });

  it('with the headers: until the reset they give; a plan restriction stays payment required', async () => {
    answer = { status: 402, body: 'quota', headers: { 'x-toggl-quota-remaining': '0', 'x-toggl-quota-resets-in': '120' } };
    expect(await failure()).toMatchObject({ kind: 'rate_limited', retryAfterMs: 120_000 });
    answer = { status: 402, body: 'Request tried to utilized Premium functionality on workspace which is not Premium!' };
    expect((await failure()).kind).toBe('payment_required');
  });
});
