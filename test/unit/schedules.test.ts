import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { parseConfig } from '../../src/config.js';
import { nextFireTimes } from '../../src/queue/schedules.js';

describe('schedules', () => {
  it('the shipped example config validates, and next fire times follow the time zone', async () => {
    const raw = parseYaml(await readFile('jobs/schedules.example.yaml', 'utf8')) as unknown;
    const cfg = parseConfig(raw, { AUTOMOX_API_KEY: 'x' });
    expect(cfg.schedules.map((s) => [s.name, s.mode])).toEqual([
      ['nightly-inventory', 'full'],
      ['reporting-feed', 'incremental'],
      ['weekly-full', 'full'],
    ]);
    // 02:00 in Berlin is 01:00 UTC in winter and 00:00 UTC in summer.
    expect(nextFireTimes('0 2 * * *', 'Europe/Berlin', 1, new Date('2026-01-10T12:00:00Z'))[0]!.toISOString()).toBe('2026-01-11T01:00:00.000Z');
    expect(nextFireTimes('0 2 * * *', 'Europe/Berlin', 1, new Date('2026-07-10T12:00:00Z'))[0]!.toISOString()).toBe('2026-07-11T00:00:00.000Z');
    expect(() => parseConfig({ ...(raw as object), schedules: [{ name: 'x', cron: '0 25 * * *' }] }, { AUTOMOX_API_KEY: 'x' })).toThrow(/schedules\[0\]\.cron: invalid cron pattern/);
    expect(() => parseConfig({ ...(raw as object), schedules: [{ name: 'x', cron: '0 2 * * *', resources: ['gizmos'] }] }, { AUTOMOX_API_KEY: 'x' })).not.toThrow();
  });
});
