import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../src/app.js';
import type { SourceStatus } from '../src/status.js';
import { AutomoxSimulator, generateAutomoxData } from '../src/simulators/automox.js';
import { createTestEnv, type TestEnv } from './helpers.js';
import { runCli } from './helpers/cli.js';
import { automoxSource, FAST, tempDir, testConfig, type TempDir } from './helpers/config.js';

const API_KEY = 'cli-ops-key-SECRET';

describe('operations commands', () => {
  let env: TestEnv;
  let sim: AutomoxSimulator;
  let dir: TempDir;
  let configFile: string;
  let app: App;
  let cfg: Record<string, unknown>;
  const cli = (args: string[], extraEnv: NodeJS.ProcessEnv = {}) => runCli(env, configFile, args, { OPS_KEY: API_KEY, ...extraEnv });

  beforeAll(async () => {
    env = await createTestEnv();
    sim = new AutomoxSimulator({ apiKey: API_KEY, data: generateAutomoxData({ seed: 41, orgs: 2, devicesPerOrg: [7, 4], packagesPerDevice: 1 }) });
    const origin = await sim.start();
    dir = await tempDir('fleetsync-ops-');
    cfg = testConfig([automoxSource('automox-ops', `${origin}/api`, 'OPS_KEY', { rateLimits: { servers: FAST } })], {
      schedules: [{ name: 'nightly', cron: '0 2 * * *', timeZone: 'Europe/Berlin', resources: ['devices'] }],
    });
    configFile = await dir.writeYaml('fleetsync.yaml', cfg);
    app = await env.open(cfg, { ...process.env, OPS_KEY: API_KEY });
    app.engine.startWorkers();
  });
  afterAll(async () => {
    await sim.stop();
    await env.cleanup();
    await dir.remove();
  });

  const status = async (): Promise<SourceStatus> => {
    const r = await cli(['status', '--json']);
    expect(r.code, r.stderr).toBe(0);
    return (JSON.parse(r.stdout) as SourceStatus[])[0]!;
  };

  it('status shows lanes, the last run per resource with counts, and a 410-disabled endpoint; enable re-enables it', async () => {
    const org = String(sim.data.orgs[1]!.id);
    sim.inject({ kind: 'status', status: 410, body: { message: 'endpoint retired' }, match: (r) => r.path === `/api/orgs/${org}/packages` });
    const { runId } = await app.engine.startRun('automox-ops', { trigger: 'test' });
    expect((await app.engine.waitForRun(runId)).status).toBe('partial');

    const s = await status();
    expect(s.sourceId).toBe('automox-ops');
    expect(s.paused).toBeNull();
    expect(s.lanes.map((l) => [l.name, l.limit, l.waiting, l.active, l.paused])).toEqual([
      ['automox-ops.api', '100/s', 0, 0, false],
      ['automox-ops.servers', '1000/s', 0, 0, false],
    ]);
    const devices = s.resources.find((r) => r.resource === 'devices')!;
    expect(devices).toMatchObject({ lastRunId: runId, lastRunStatus: 'partial' });
    expect(devices.summary).toMatchObject({ inserted: sim.data.servers.length, walks: 2, failed: 0 });
    const packages = s.resources.find((r) => r.resource === 'packages')!;
    // A 410 disables the resource for the source: every packages walk still running fails with it.
    expect(packages.summary!.failed).toBeGreaterThanOrEqual(1);
    expect(packages.summary!.errors[0]!.message).toContain('410 endpoint retired');
    expect(s.disabled.map((d) => d.resource)).toEqual(['packages']);

    const text = await cli(['status']);
    expect(text.stdout).toContain('disabled: packages since');
    expect(text.stdout).toMatch(/automox-ops\.servers\s+1000\/s/);
    expect(text.stdout).not.toContain(API_KEY);

    const en = await cli(['enable', '--source', 'automox-ops', '--resource', 'packages']);
    expect(en.stdout.trim()).toBe('enabled automox-ops/packages');
    expect((await status()).disabled).toEqual([]);
    const again = await cli(['enable', '--source', 'automox-ops', '--resource', 'packages']);
    expect(again.stdout.trim()).toBe('automox-ops/packages was not disabled');
  });

  it('pause stops a source (status shows it and its paused lanes), resume lets its run finish', async () => {
    const p = await cli(['pause', '--source', 'automox-ops']);
    expect([p.code, p.stdout.trim()]).toEqual([0, 'paused automox-ops']);
    let s = await status();
    expect(s.paused?.reason).toBe('paused by command');
    expect(s.lanes.every((l) => l.paused)).toBe(true);

    const mark = sim.requests.length;
    const { runId } = await app.engine.startRun('automox-ops', { trigger: 'test', resources: ['devices'] });
    // While paused: the run waits with its first cursor, and no request goes out.
    s = await status();
    const orgs = s.resources.find((r) => r.resource === 'organizations')!;
    expect(orgs).toMatchObject({ lastRunId: runId, lastRunStatus: 'running' });
    expect(orgs.summary!.cursor).toMatchObject({ scope: '-', page: 0 });
    expect(sim.requests.length).toBe(mark);

    const r = await cli(['resume', '--source', 'automox-ops']);
    expect([r.code, r.stdout.trim()]).toEqual([0, 'resumed automox-ops']);
    expect((await app.engine.waitForRun(runId)).status).toBe('succeeded');
    s = await status();
    expect(s.paused).toBeNull();
    expect(s.lanes.some((l) => l.paused)).toBe(false);
    expect(s.resources.find((x) => x.resource === 'devices')!.lastRunStatus).toBe('succeeded');

    const bad = await cli(['pause', '--source', 'nope']);
    expect([bad.code, bad.stderr.trim()]).toEqual([2, 'fleetsync: unknown source "nope" (configured: automox-ops)']);
  });

  it('schedules lists the configured schedules with next fire times', async () => {
    const r = await cli(['schedules', '--json', '--count', '2']);
    expect(r.code, r.stderr).toBe(0);
    const list = JSON.parse(r.stdout) as Array<{ name: string; registered: boolean; next: string[]; timeZone: string }>;
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({ name: 'nightly', registered: false, timeZone: 'Europe/Berlin' });
    expect(list[0]!.next).toHaveLength(2);
    for (const t of list[0]!.next) expect(new Date(t).getUTCHours()).toBe(new Date(t).getUTCMonth() >= 3 && new Date(t).getUTCMonth() <= 8 ? 0 : 1);
    const text = await cli(['schedules']);
    expect(text.stdout).toMatch(/nightly\s+0 2 \* \* \*\s+Europe\/Berlin\s+full\s+automox-ops\s+devices/);
  });

  it('backfill starts beside a running scheduled run, then re-walks with progress lines and a summary', async () => {
    const other = await env.open(cfg, { ...process.env, OPS_KEY: API_KEY });
    await app.engine.pauseSource('automox-ops', 'held by the test');
    const { runId: scheduled } = await other.engine.startRun('automox-ops', { trigger: 'schedule:nightly', resources: ['devices'] });
    const beside = await cli(['backfill', '--source', 'automox-ops', '--resource', 'devices', '--detach']);
    expect(beside.code, beside.stderr).toBe(0);
    const backfillId = /^started backfill run (\d+) of automox-ops$/m.exec(beside.stdout)![1]!;
    expect(backfillId).not.toBe(scheduled);
    const running = await env.db.selectFrom('sync_runs').select(['id', 'trigger']).where('status', '=', 'running').orderBy('id').execute();
    expect(running).toEqual([
      { id: scheduled, trigger: 'schedule:nightly' },
      { id: backfillId, trigger: 'backfill' },
    ]);
    // A second backfill joins the running one instead of starting twice.
    const again = await cli(['backfill', '--source', 'automox-ops', '--resource', 'devices', '--detach']);
    expect(again.stdout).toContain(`joined running backfill run ${backfillId} of automox-ops`);
    await app.engine.resumeSource('automox-ops');
    expect((await app.engine.waitForRun(scheduled)).status).toBe('succeeded');
    expect((await app.engine.waitForRun(backfillId)).status).toBe('succeeded');

    const bad = await cli(['backfill', '--source', 'automox-ops', '--since', 'yesterday-ish']);
    expect([bad.code, bad.stderr.trim()]).toEqual([2, 'fleetsync: --since: "yesterday-ish" is not a date (use ISO 8601, e.g. 2026-01-31 or 2026-01-31T12:00:00Z)']);

    // Automox filters nothing by update time: --since would be ignored, so it is refused.
    const ignored = await cli(['backfill', '--source', 'automox-ops', '--resource', 'devices', '--since', '2026-01-01']);
    expect([ignored.code, ignored.stderr.trim()]).toEqual([2, 'fleetsync: --since: automox filters none of devices of automox-ops by update time, so a backfill walks them fully anyway; leave out --since']);

    const r = await cli(['backfill', '--source', 'automox-ops', '--resource', 'devices'], { FLEETSYNC_LOG_LEVEL: 'info' });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^started backfill run (\d+) of automox-ops$/m);
    expect(r.stdout).toMatch(/run \d+ of automox-ops \(backfill, full\): succeeded/);
    // Without a terminal: progress log lines, one per walk at least when it ends.
    const progress = r.stderr.split('\n').filter((l) => l.includes('"msg":"progress ')).map((l) => JSON.parse(l) as { resource: string; status: string; rows: number });
    const ended = progress.filter((p) => p.resource === 'devices' && p.status === 'succeeded');
    expect(ended.length).toBe(sim.data.orgs.length);
    expect(ended.reduce((n, p) => n + p.rows, 0)).toBe(sim.data.servers.length);
    expect(r.stderr).not.toContain(API_KEY);
    const runId = /started backfill run (\d+)/.exec(r.stdout)![1]!;
    const walks = await env.db.selectFrom('sync_walks').select(['since', 'unchanged', 'resource']).where('run_id', '=', runId).execute();
    expect(walks.every((w) => w.since === null)).toBe(true);
    expect(walks.filter((w) => w.resource === 'devices').reduce((n, w) => n + w.unchanged, 0)).toBe(sim.data.servers.length);
  });
});
