import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config.js';
import { DEFAULT_FRESHNESS_MS, freshnessOf, freshnessProblems, measureFreshness } from '../../src/freshness.js';
import type { NotifyEvent } from '../../src/notify/events.js';
import { webhookBody, webhookHost } from '../../src/notify/webhook.js';

describe('freshness thresholds', () => {
  it('per source, per resource with a default, else 24h', () => {
    expect(freshnessOf(undefined, 'devices')).toBe(DEFAULT_FRESHNESS_MS);
    expect(freshnessOf({ freshness: 3_600_000 }, 'devices')).toBe(3_600_000);
    expect(freshnessOf({ freshness: { default: 7_200_000, devices: 600_000 } }, 'devices')).toBe(600_000);
    expect(freshnessOf({ freshness: { default: 7_200_000, devices: 600_000 } }, 'packages')).toBe(7_200_000);
    expect(freshnessOf({ freshness: { devices: 600_000 } }, 'packages')).toBe(DEFAULT_FRESHNESS_MS);
  });

  it('measures how far past its threshold each last success is', () => {
    const now = Date.parse('2026-12-08T12:00:00Z');
    const last = [
      { source: 'ax', resource: 'devices', at: new Date('2026-12-08T05:00:00Z') },
      { source: 'ax', resource: 'organizations', at: new Date('2026-12-08T11:00:00Z') },
    ];
    const m = measureFreshness(last, () => ({ freshness: { default: 86_400_000, devices: 6 * 3_600_000 } }), now);
    expect(m.map((f) => [f.resource, f.overdueMs])).toEqual([
      ['devices', 3_600_000],
      ['organizations', 0],
    ]);
  });

  it('is read from the config as durations, and names resources its vendor lacks', () => {
    const cfg = parseConfig({ sources: [{ id: 'ax', vendor: 'automox', baseUrl: 'https://console.automox.com/api', freshness: { default: '1d', devices: '6h' } }] });
    expect(cfg.sources[0]!.freshness).toEqual({ default: 86_400_000, devices: 21_600_000 });
    expect(freshnessProblems('sources[0]', { freshness: { gizmos: 1 } }, 'automox', ['devices'])).toEqual(['sources[0].freshness.gizmos: unknown resource for vendor automox (known: default, devices)']);
    expect(() => parseConfig({ sources: [{ id: 'ax', vendor: 'automox', baseUrl: 'https://x.example', freshness: 'soon' }] })).toThrow(/sources\[0\]\.freshness/);
  });
});

describe('webhook notifications', () => {
  const event: NotifyEvent = { key: 'run_failed:7', kind: 'run_failed', source: 'ax', text: 'run 7 of ax (sync) failed: 400 bad', data: { runId: '7', status: 'failed' } };

  it("is Slack's {text} or fleetsync's JSON event", () => {
    expect(webhookBody('slack', event)).toEqual({ text: 'fleetsync: run 7 of ax (sync) failed: 400 bad' });
    expect(webhookBody('json', event)).toEqual({ event: 'run_failed', source: 'ax', text: 'run 7 of ax (sync) failed: 400 bad', runId: '7', status: 'failed' });
    expect(webhookHost('https://hooks.slack.com/services/T000/B000/SECRET')).toBe('hooks.slack.com');
  });

  it('is configured with a URL from the environment, a format and events (default all)', () => {
    const cfg = parseConfig({ notifications: { webhooks: [{ url: '${HOOK}' }, { url: 'https://example.com/h', format: 'slack', events: ['stale'] }] } }, { HOOK: 'https://hooks.example.com/x' });
    expect(cfg.notifications).toEqual({
      checkEveryMs: 30_000,
      webhooks: [
        { url: 'https://hooks.example.com/x', format: 'json', events: ['run_failed', 'sweep_held', 'stale'] },
        { url: 'https://example.com/h', format: 'slack', events: ['stale'] },
      ],
    });
    expect(() => parseConfig({ notifications: { webhooks: [{ url: 'ftp://x.example/' }] } })).toThrow(/notifications\.webhooks\[0\]\.url/);
  });
});
