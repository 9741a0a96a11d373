import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { VENDORS } from '../jobs/index.js';
import { ConfigError, loadConfig, parseConfig } from '../src/config.js';
import { classifyStatus, parseRateLimitReset, parseRetryAfter } from '../src/http/errors.js';
import { assertSafeUrl } from '../src/http/client.js';
import { stripNul, toTimestamp } from '../src/normalize.js';
import { pageNumber } from '../src/pagination/page-number.js';
import { PageShapeError } from '../src/pagination/types.js';
import { expandResources, resolveSources } from '../src/sources.js';

const source = { id: 'automox-prod', vendor: 'automox', baseUrl: 'https://console.automox.com/api', credentials: { apiKey: '${AUTOMOX_API_KEY}' } };

describe('config', () => {
  it('substitutes ${VAR} from the environment after parsing', () => {
    const cfg = parseConfig({ sources: [source] }, { AUTOMOX_API_KEY: 'k: "quoted" ${NOT_EXPANDED}' });
    expect(cfg.sources[0]!.credentials.apiKey).toBe('k: "quoted" ${NOT_EXPANDED}');
    expect(cfg.worker.lockDurationMs).toBe(30_000);
  });

  it('names the key path of a missing variable and never its value', () => {
    expect(() => parseConfig({ sources: [source] }, {})).toThrow('sources[0].credentials.apiKey: environment variable AUTOMOX_API_KEY is not set');
  });

  it('lists every problem with its key path', () => {
    try {
      parseConfig({ sources: [{ ...source, id: 'bad id!', pageSize: -1 }, { ...source, id: 'bad id!' }], worker: { lockDurationMs: 'x' } }, { AUTOMOX_API_KEY: 'k' });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const msg = (err as Error).message;
      expect(msg).toContain('sources[0].id: must be 1-63 letters');
      expect(msg).toContain('sources[0].pageSize:');
      expect(msg).toContain('worker.lockDurationMs:');
    }
  });

  it('refuses duplicate source ids, unknown keys and unknown lanes', () => {
    expect(() => parseConfig({ sources: [source, source] }, { AUTOMOX_API_KEY: 'k' })).toThrow('sources[1].id: duplicate source id "automox-prod"');
    expect(() => parseConfig({ sources: [{ ...source, apikey: 'x' }] }, { AUTOMOX_API_KEY: 'k' })).toThrow(/sources\[0\]: Unrecognized key/);
    const cfg = parseConfig({ sources: [{ ...source, rateLimits: { turbo: { windows: [{ max: 1, durationMs: 1 }] } }, pageSize: 900 }] }, { AUTOMOX_API_KEY: 'k' });
    expect(() => resolveSources(cfg, VENDORS)).toThrow(/sources\[0\]\.rateLimits\.turbo: unknown lane[\s\S]*sources\[0\]\.pageSize: 900 is over the maximum 500/);
  });

  it('reads YAML files and reports where a file is broken', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fleetsync-cfg-'));
    try {
      const good = join(dir, 'good.yaml');
      await writeFile(good, 'sources:\n  - id: a\n    vendor: automox\n    baseUrl: https://x.example/api\n    credentials: { apiKey: ${K} }\n');
      expect((await loadConfig(good, { K: 'secret' })).sources[0]!.credentials.apiKey).toBe('secret');
      const bad = join(dir, 'bad.yaml');
      await writeFile(bad, 'sources: [\n');
      await expect(loadConfig(bad, {})).rejects.toThrow(`config file ${bad} is not valid YAML`);
      await expect(loadConfig(join(dir, 'missing.yaml'), {})).rejects.toThrow('ENOENT');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('ships an example config that validates for every vendor in it', async () => {
    const cfg = await loadConfig('fleetsync.example.yaml', { AUTOMOX_API_KEY: 'a', FAMOCO_TOKEN: 'b', IZUMA_API_KEY: 'c', TOGGL_API_TOKEN: 'd' });
    expect([...resolveSources(cfg, VENDORS).values()].map((s) => s.vendor.vendor)).toEqual(['automox', 'famoco', 'famoco-insights', 'izuma', 'toggl']);
  });

  it('expands requested resources with the parents they are nested under', () => {
    const cfg = parseConfig({ sources: [{ ...source, resources: ['devices', 'patch_categories'] }] }, { AUTOMOX_API_KEY: 'k' });
    const src = resolveSources(cfg, VENDORS).get('automox-prod')!;
    expect(expandResources(src)).toEqual(['organizations', 'devices', 'patch_categories']);
    expect(expandResources(src, ['packages'])).toEqual(['organizations', 'packages']);
    expect(() => expandResources(src, ['widgets'])).toThrow('unknown resource "widgets"');
  });
});

describe('normalize', () => {
  it('parses vendor timestamps', () => {
    expect(toTimestamp('2025-01-22T22:18:21+0000')).toBe('2025-01-22T22:18:21.000Z');
    expect(toTimestamp('2025-01-22T23:18:21+0100')).toBe('2025-01-22T22:18:21.000Z');
    expect(toTimestamp('2016-11-30T16:25:12.1234Z')).toBe('2016-11-30T16:25:12.123Z');
    expect(toTimestamp('20161130T162512Z')).toBe('2016-11-30T16:25:12.000Z');
    expect(toTimestamp('2025-01-22 22:18:21+00:00')).toBe('2025-01-22T22:18:21.000Z');
    expect(toTimestamp(1_700_000_000)).toBe('2023-11-14T22:13:20.000Z');
    expect(toTimestamp('yesterday')).toBeNull();
    expect(toTimestamp(null)).toBeNull();
  });

  it('strips NUL characters that Postgres refuses, and says so', () => {
    expect(stripNul({ a: ['x\u0000y', 1], 'k\u0000': null })).toEqual({ value: { a: ['xy', 1], k: null }, repaired: true });
    const clean = { a: 'b' };
    expect(stripNul(clean)).toEqual({ value: clean, repaired: false });
  });
});

describe('http policy', () => {
  it('classifies statuses once', () => {
    expect([400, 401, 402, 403, 404, 410, 422, 429, 500, 503].map(classifyStatus)).toEqual([
      'invalid_request',
      'auth',
      'payment_required',
      'auth',
      'invalid_request',
      'gone',
      'invalid_request',
      'rate_limited',
      'retryable',
      'retryable',
    ]);
  });

  it('parses Retry-After as seconds or HTTP date, and X-RateLimit-Reset as epoch or delta', () => {
    const now = Date.parse('2026-11-22T10:00:00Z');
    expect(parseRetryAfter('3254', now)).toBe(3_254_000);
    expect(parseRetryAfter('Sun, 22 Nov 2026 10:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('soon', now)).toBeNull();
    expect(parseRateLimitReset(String(now / 1000 + 5), now)).toBe(5000);
    expect(parseRateLimitReset('7', now)).toBe(7000);
  });

  it('follows links only on the source origin, and plain http only to loopback', () => {
    expect(assertSafeUrl('https://my.famoco.com/api/x?page=2', 'https://my.famoco.com/api').href).toBe('https://my.famoco.com/api/x?page=2');
    expect(() => assertSafeUrl('https://evil.example/api/x', 'https://my.famoco.com/api')).toThrow('off the source\'s origin https://my.famoco.com');
    expect(() => assertSafeUrl('http://10.0.0.1/api', 'http://10.0.0.1/api')).toThrow('only loopback may use http');
    expect(assertSafeUrl('http://127.0.0.1:8080/api/orgs', 'http://127.0.0.1:8080/api').pathname).toBe('/api/orgs');
  });
});

describe('page-number pagination', () => {
  const s = pageNumber({ firstPage: 0, defaultPageSize: 500, maxPageSize: 500 });
  const ctx = { scope: '1', pageSize: 3, path: '/servers', params: { o: '1' }, baseUrl: 'https://x', first: true };
  it('asks for the next page only after a full one', () => {
    expect(s.request(s.first(ctx), ctx)).toEqual({ path: '/servers', params: { o: '1', limit: 3, page: 0 } });
    expect(s.parse([1, 2, 3], { page: 0 }, ctx).next).toEqual({ page: 1 });
    expect(s.parse([1, 2], { page: 1 }, ctx).next).toBeNull();
    expect(s.parse([], { page: 2 }, ctx)).toEqual({ records: [], next: null });
  });
  it('refuses a body that is not a list', () => {
    expect(() => s.parse({ data: [] }, { page: 0 }, ctx)).toThrow(PageShapeError);
  });
});
