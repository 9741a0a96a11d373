import { describe, expect, it } from 'vitest';
import { VENDORS } from '../../jobs/index.js';
import { parseConfig } from '../../src/config.js';
import { resolveSource } from '../../src/sources.js';
import { routeOfSource } from '../../src/webhooks/route.js';

const toggl = (credentials: Record<string, string>) => ({ id: 'tg', vendor: 'toggl', baseUrl: 'https://api.track.toggl.com/api/v9', credentials });

describe('webhooks config', () => {
  it('is off by default; listen defaults to loopback', () => {
    expect(parseConfig({}).webhooks).toEqual({ maxBodyBytes: 1_048_576, maxAgeSeconds: 300 });
    expect(parseConfig({ webhooks: { listen: {}, publicUrl: 'https://hooks.example.com/fleetsync' } }).webhooks).toEqual({ listen: { port: 8790, host: '127.0.0.1' }, publicUrl: 'https://hooks.example.com/fleetsync', maxBodyBytes: 1_048_576, maxAgeSeconds: 300 });
  });

  it('refuses a plain-http public URL off loopback, a query, an unknown key, a tolerance out of range', () => {
    expect(() => parseConfig({ webhooks: { publicUrl: 'http://hooks.example.com' } })).toThrow(/webhooks\.publicUrl: must be https:\/\//);
    expect(() => parseConfig({ webhooks: { publicUrl: 'https://hooks.example.com/?token=x' } })).toThrow(/webhooks\.publicUrl: must not have a query or fragment/);
    expect(() => parseConfig({ webhooks: { listen: { port: 70000 } } })).toThrow(/webhooks\.listen\.port/);
    expect(() => parseConfig({ webhooks: { secret: 'x' } })).toThrow(/webhooks: Unrecognized key/);
    expect(() => parseConfig({ webhooks: { maxAgeSeconds: 5 } })).toThrow(/webhooks\.maxAgeSeconds/);
    expect(parseConfig({ webhooks: { publicUrl: 'http://127.0.0.1:8790' } }).webhooks.publicUrl).toBe('http://127.0.0.1:8790');
  });

  it("a source's webhookSecret is a credential of 16 characters or more, never echoed; without it the source receives nothing", () => {
    const cfg = (creds: Record<string, string>) => parseConfig({ sources: [toggl(creds)] }).sources[0]!;
    const short = resolveSource(cfg({ apiToken: 't', webhookSecret: 'short-secret' }), 'sources[0]', VENDORS, { env: {} });
    expect(short.problems).toEqual(['sources[0].credentials.webhookSecret: must be at least 16 characters']);
    const none = resolveSource(cfg({ apiToken: 't' }), 'sources[0]', VENDORS, { env: {} }).source!;
    expect(routeOfSource(none)).toEqual({ ok: false, reason: 'tg has no credentials.webhookSecret, so nothing it receives can be verified' });
    const ok = resolveSource(cfg({ apiToken: 't', webhookSecret: '${HOOK}' }), 'sources[0]', VENDORS, { env: { HOOK: 'a-long-enough-secret-1' } }).source!;
    expect(routeOfSource(ok)).toMatchObject({ ok: true, secret: 'a-long-enough-secret-1' });
    const automox = resolveSource(parseConfig({ sources: [{ id: 'ax', vendor: 'automox', baseUrl: 'https://console.automox.com/api', credentials: { apiKey: 'k' } }] }).sources[0]!, 'sources[0]', VENDORS, { env: {} }).source!;
    expect(routeOfSource(automox)).toEqual({ ok: false, reason: 'ax is a source of vendor automox: events are received from toggl and izuma sources only' });
  });
});
