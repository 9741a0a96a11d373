import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runReport } from '../src/reporting/queries.js';
import { createTestEnv, deleteRedisPrefix, type TestEnv } from './helpers.js';
import { cliEnv, runFleetsync } from './helpers/cli.js';

describe('fleetsync demo', () => {
  let env: TestEnv;
  beforeAll(async () => {
    env = await createTestEnv();
  });
  afterAll(async () => {
    // The demo queues under its own prefix, "<prefix>-demo".
    await deleteRedisPrefix(`${env.prefix}-demo`);
    await env.cleanup();
  });

  it('prints its summary and sample rows, not the engine\'s log lines', async () => {
    // The default level, as a newcomer runs it.
    const processEnv = cliEnv(env);
    delete processEnv.FLEETSYNC_LOG_LEVEL;
    const r = await runFleetsync(['demo', '--devices', '4'], processEnv);
    expect(r.stdout).toMatch(/^simulators on loopback: Automox http:\/\/127\.0\.0\.1:\d+\/api, /);
    for (const source of ['automox-demo', 'famoco-demo', 'insights-demo', 'izuma-demo', 'toggl-demo', 'partner-demo']) {
      expect(r.stdout).toMatch(new RegExp(`^run \\d+ of ${source} \\(demo, full\\): `, 'm'));
    }
    expect(r.stdout).toContain('\nsample devices:\n');
    expect(r.stdout).toMatch(/^automox-demo +\S+/m);
    // No info line ("run started", "walk complete", ...) on stderr; only warnings and errors, if any.
    const lines = r.stderr.split('\n').filter((l) => l.startsWith('{'));
    expect(lines.map((l) => (JSON.parse(l) as { level: number }).level).filter((level) => level < 40)).toEqual([]);
    // The Toggl simulator holds a few hundred time entries of the last months: `report time` has weeks to show.
    expect(r.stdout).toMatch(/^time_entries +[1-9]\d{2,} /m);
    const { rows: time } = await runReport(env.db, 'time', { sources: ['toggl-demo'], asOf: null });
    expect(new Set(time.map((row) => row.iso_week)).size).toBeGreaterThan(8);
    expect(time.reduce((n, row) => n + Number(row.entries), 0)).toBeGreaterThanOrEqual(300);
  });
});
