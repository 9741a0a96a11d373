import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../src/app.js';
import { AutomoxSimulator, generateAutomoxData } from '../src/simulators/automox.js';
import { IzumaSimulator, generateIzumaData } from '../src/simulators/izuma.js';
import type { DryRunPlan } from '../src/sync/dry-run.js';
import { createTestEnv, type TestEnv } from './helpers.js';
import { runCli } from './helpers/cli.js';
import { automoxSource, FAST, izumaSource, tempDir, testConfig, type TempDir } from './helpers/config.js';

// `sync --dry-run` and `state reset --dry-run` after completed syncs: what they print comes from
// the last walks, and they create, queue and clear nothing.

const KEYS = { DRY_AX_KEY: 'dry-ax-key', DRY_IZ_KEY: 'dry-iz-key' };
const SLOW_SERVERS = { windows: [{ max: 2, durationMs: 60_000 }] };

describe('dry runs', () => {
  let env: TestEnv;
  let ax: AutomoxSimulator;
  let iz: IzumaSimulator;
  let dir: TempDir;
  let configFile: string;
  let app: App;
  const cli = (args: string[]) => runCli(env, configFile, args, KEYS);

  /** Rows of sync_runs and sync_walks, walks with a high-water mark, and BullMQ jobs in any state. */
  const footprint = async () => {
    const row = await sql<{ runs: string; walks: string; marks: string }>`select (select count(*) from sync_runs) as runs, (select count(*) from sync_walks) as walks, (select count(*) from sync_walks where high_water_mark is not null) as marks`.execute(env.db);
    let jobs = 0;
    for (const q of app.engine.queues()) {
      const counts = await q.getJobCounts('waiting', 'prioritized', 'active', 'delayed', 'failed', 'completed', 'waiting-children');
      jobs += Object.values(counts).reduce((a, b) => a + b, 0);
    }
    return { ...row.rows[0]!, jobs };
  };

  beforeAll(async () => {
    env = await createTestEnv();
    ax = new AutomoxSimulator({ apiKey: KEYS.DRY_AX_KEY, data: generateAutomoxData({ seed: 17, orgs: 2, devicesPerOrg: [12, 4], packagesPerDevice: 1 }) });
    iz = new IzumaSimulator({ apiKey: KEYS.DRY_IZ_KEY, data: generateIzumaData({ seed: 17, devices: 11, groups: 2, firmwareImages: 1 }) });
    const [axOrigin, izOrigin] = await Promise.all([ax.start(), iz.start()]);
    dir = await tempDir('fleetsync-dry-');
    const sources = (servers: unknown) => [automoxSource('ax-dry', `${axOrigin}/api`, 'DRY_AX_KEY', { rateLimits: { servers } }), izumaSource('iz-dry', izOrigin, 'DRY_IZ_KEY', { rateLimits: { api: FAST } })];
    // The CLI's config gives /servers 2 requests a minute; the sync here runs on fast lanes.
    configFile = await dir.writeYaml('fleetsync.yaml', testConfig(sources(SLOW_SERVERS)));
    app = await env.open(testConfig(sources(FAST)), { ...process.env, ...KEYS });
    app.engine.startWorkers();
    for (const source of ['ax-dry', 'iz-dry']) {
      const { runId } = await app.engine.startRun(source, { trigger: 'test' });
      expect((await app.engine.waitForRun(runId)).status).toBe('succeeded');
    }
  });
  afterAll(async () => {
    await Promise.all([ax.stop(), iz.stop()]);
    await env.cleanup();
    await dir.remove();
  });

  it('sync --dry-run estimates every walk from the last one, with the least time under the lanes, and starts nothing', async () => {
    const before = await footprint();
    const r = await cli(['sync', '--source', 'ax-dry', '--dry-run', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const plan = JSON.parse(r.stdout) as DryRunPlan;
    const walked = await env.db.selectFrom('sync_walks').select(['resource', 'scope', 'pages']).where('source_id', '=', 'ax-dry').orderBy('resource').orderBy('scope').execute();
    const key = (w: { resource: string; scope: string }) => `${w.resource} ${w.scope}`;
    expect(plan.walks.map((w) => [key(w), w.pages]).sort()).toEqual(walked.map((w) => [key(w), w.pages]).sort());
    expect(plan.walks.every((w) => w.mode === 'full' && w.from?.mode === 'full')).toBe(true);
    const devicePages = walked.filter((w) => w.resource === 'devices').reduce((n, w) => n + w.pages, 0);
    // 12 and 4 devices in pages of 5: 3 + 1 pages.
    expect(devicePages).toBe(4);
    expect(plan.lanes.find((l) => l.lane === 'servers')).toEqual({ lane: 'servers', limit: '2/min', requests: 4, minDurationMs: 60_000 });
    // The patch categories are a list the connector holds (no request).
    expect(plan.walks.find((w) => w.resource === 'patch_categories')).toMatchObject({ pages: 1, requests: 0 });
    expect(plan.requests).toBe(walked.filter((w) => w.resource !== 'patch_categories').reduce((n, w) => n + w.pages, 0));
    expect(plan.minDurationMs).toBe(60_000);
    expect(await footprint()).toEqual(before);

    const text = await cli(['sync', '--source', 'ax-dry', '--dry-run']);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout.split('\n')[0]).toBe(`dry run: sync ax-dry (full) would make ${walked.length} walks of 5 resources, about ${plan.requests} requests; nothing was started`);
    expect(text.stdout).toMatch(/^servers\s+2\/min\s+4\s+1m 00s$/m);
    expect(text.stdout).toContain('at least 1m 00s under the rate limits');
    expect(await footprint()).toEqual(before);
  });

  it('sync --mode incremental --dry-run plans as the engine does: incremental walks, pages from the last full walk', async () => {
    const r = await cli(['sync', '--source', 'iz-dry', '--mode', 'incremental', '--dry-run', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const plan = JSON.parse(r.stdout) as DryRunPlan;
    const devices = plan.walks.find((w) => w.resource === 'devices')!;
    expect(devices).toMatchObject({ scope: '-', mode: 'incremental', pages: 3, from: { mode: 'full' } });
    expect(plan.walks.find((w) => w.resource === 'firmware_images')).toMatchObject({ mode: 'full', pages: 1 });
  });

  it('state reset --dry-run lists the marks the reset would clear and clears nothing; the reset then clears those', async () => {
    const before = await footprint();
    const r = await cli(['state', 'reset', '--source', 'iz-dry', '--resource', 'devices', '--dry-run']);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toBe('dry run: state reset iz-dry/devices would clear the high-water marks of 1 succeeded walk in 1 scope; nothing was changed');
    expect(lines[1]).toMatch(/^scope\s+high-water mark\s+walks$/);
    expect(lines[2]).toMatch(/^-\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ\s+1$/);
    expect(r.stdout).toContain("kept: the walks' history and counts, 11 rows of devices in 1 scope, no held sweep");
    expect(await footprint()).toEqual(before);

    const json = JSON.parse((await cli(['state', 'reset', '--source', 'iz-dry', '--resource', 'devices', '--dry-run', '--json'])).stdout) as { clears: unknown[]; refusedBy: string[] };
    expect(json).toMatchObject({ refusedBy: [], clears: [{ scope: '-', walks: 1 }] });

    const real = await cli(['state', 'reset', '--source', 'iz-dry', '--resource', 'devices']);
    expect(real.stdout.trim()).toBe('reset iz-dry/devices: cleared the high-water mark of 1 succeeded walk; the next run walks it fully from the first page');
    const after = await cli(['state', 'reset', '--source', 'iz-dry', '--resource', 'devices', '--dry-run']);
    expect(after.stdout.split('\n')[0]).toBe('dry run: nothing to reset: iz-dry/devices has no high-water mark; its next run walks it fully from the first page; nothing was changed');
  });
});
