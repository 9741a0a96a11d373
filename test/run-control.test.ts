import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../src/app.js';
import { runControlDeps } from '../src/commands/runs-control.js';
import { startDashboard } from '../src/dashboard.js';
import { createLogger } from '../src/logger.js';
import { AutomoxSimulator, generateAutomoxData } from '../src/simulators/automox.js';
import { appendRunLogs, RUN_LOG_LIMIT } from '../src/warehouse/run-logs.js';
import { createTestEnv, waitFor, type TestEnv } from './helpers.js';
import { runCli } from './helpers/cli.js';
import { automoxSource, FAST, tempDir, testConfig, type TempDir } from './helpers/config.js';

const KEY = 'run-control-key';

describe('runs cancel, runs retry and runs logs, from the CLI and the run page', () => {
  let env: TestEnv;
  let sim: AutomoxSimulator;
  let app: App;
  let dir: TempDir;
  let configFile: string;
  const cli = (args: string[]) => runCli(env, configFile, args, { RC_KEY: KEY, FLEETSYNC_LOG_LEVEL: 'info' });
  const walksOf = (runId: string) => env.db.selectFrom('sync_walks').select(['resource', 'scope', 'status', 'pages', 'sweep']).where('run_id', '=', runId).orderBy('id').execute();
  const count = async (table: 'devices' | 'organizations') => (await env.db.selectFrom(table).select(sql<number>`count(*)::int`.as('n')).where('source_id', '=', 'ax').executeTakeFirstOrThrow()).n;
  /** Answers every /servers request with a 429 (Retry-After 3 s) until cleared: the devices walks wait, then go on soon after. */
  const holdDevices = () => sim.inject({ kind: 'status', status: 429, headers: { 'retry-after': '3' }, times: Infinity, match: (r) => r.path.startsWith('/api/servers') });
  const devicesWaiting = (runId: string) =>
    waitFor(async () => (await env.db.selectFrom('sync_walks').select('id').where('run_id', '=', runId).where('resource', '=', 'devices').where('waiting_reason', 'is not', null).execute()).length === 2, 'both devices walks to wait on the vendor');

  beforeAll(async () => {
    env = await createTestEnv();
    sim = new AutomoxSimulator({ apiKey: KEY, data: generateAutomoxData({ seed: 12, orgs: 2, devicesPerOrg: [6, 4] }) });
    const origin = await sim.start();
    dir = await tempDir('fleetsync-runctl-');
    const cfg = testConfig([automoxSource('ax', `${origin}/api`, 'RC_KEY', { rateLimits: { servers: FAST } })]);
    configFile = await dir.writeYaml('fleetsync.yaml', cfg);
    app = await env.open(cfg, { ...process.env, RC_KEY: KEY });
    app.engine.startWorkers();
  });
  afterAll(async () => {
    await sim.stop();
    await env.cleanup();
    await dir.remove();
  });

  it('cancel stops a running run, keeps what committed and sweeps nothing; retry walks again only the walks that did not succeed', async () => {
    holdDevices();
    const { runId } = await app.engine.startRun('ax', { trigger: 'test', resources: ['devices'] });
    await devicesWaiting(runId);
    expect(await count('organizations')).toBe(2);

    const cancel = await cli(['runs', 'cancel', runId]);
    expect([cancel.code, cancel.stdout.trim()]).toEqual([0, `cancelled run ${runId} of ax: 2 running walks stopped; committed pages stay`]);
    expect((await env.db.selectFrom('sync_runs').select('status').where('id', '=', runId).executeTakeFirstOrThrow()).status).toBe('cancelled');
    const walks = await walksOf(runId);
    expect(walks.map((w) => [w.resource, w.status, w.sweep])).toEqual([
      ['organizations', 'succeeded', 'swept'],
      ['devices', 'cancelled', null],
      ['devices', 'cancelled', null],
    ]);
    expect(await count('organizations')).toBe(2);
    // The cancel's own log line names the source like every line of a run, as a warning without empty fields.
    const stopped = await env.db.selectFrom('run_logs').select(['level', 'fields']).where('run_id', '=', runId).where('msg', '=', `run ${runId} cancelled (fleetsync runs cancel)`).execute();
    expect(stopped).toEqual([{ level: 'warn', fields: { source: 'ax', walks: 2 } }]);
    const queued = (await Promise.all(app.engine.queues().map((q) => q.getJobs(['waiting', 'delayed', 'prioritized', 'active'])))).flat().filter((j) => j?.data.walkId && walks.length > 0);
    expect(queued).toEqual([]);

    const again = await cli(['runs', 'cancel', runId]);
    expect([again.code, again.stderr.trim()]).toEqual([1, `fleetsync: run ${runId} of ax is not running (cancelled); nothing to cancel`]);
    expect((await cli(['runs', 'cancel', '987654'])).code).toBe(2);

    sim.clearFaults();
    const retry = await cli(['runs', 'retry', runId, '--wait']);
    expect(retry.code, retry.stderr).toBe(0);
    const [, newRun] = /^started run (\d+) of ax: retrying 2 walks of run \d+ \(devices \d+, devices \d+\)$/m.exec(retry.stdout) ?? [];
    expect(newRun).toBeDefined();
    expect(retry.stdout).toMatch(new RegExp(`run ${newRun} of ax \\(retry:${runId}, full\\): succeeded`));
    // Only the cancelled walks were walked again; the organizations walk that succeeded was not.
    expect((await walksOf(newRun!)).map((w) => [w.resource, w.status])).toEqual([
      ['devices', 'succeeded'],
      ['devices', 'succeeded'],
    ]);
    expect(await count('devices')).toBe(10);

    const nothing = await cli(['runs', 'retry', newRun!]);
    expect([nothing.code, nothing.stderr.trim()]).toEqual([1, `fleetsync: run ${newRun} of ax has no failed or cancelled walk to retry (succeeded)`]);
  });

  it('runs logs prints the stored lines of a run, from the process that worked it; at most RUN_LOG_LIMIT per run', async () => {
    // Its own database and queue prefix: only the CLI process works this run (this file's workers log nowhere).
    const solo = await createTestEnv();
    try {
      const run = (args: string[]) => runCli(solo, configFile, args, { RC_KEY: KEY, FLEETSYNC_LOG_LEVEL: 'info' });
      const sync = await run(['sync', '--source', 'ax', '--resource', 'devices', '--wait']);
      expect(sync.code, sync.stderr).toBe(0);
      const runId = /^started run (\d+) of ax/m.exec(sync.stdout)![1]!;
      const logs = await run(['runs', 'logs', runId]);
      expect(logs.code, logs.stderr).toBe(0);
      const lines = logs.stdout.trim().split('\n');
      expect(lines[0]).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ INFO {2}run started source=ax .*resources=organizations,devices/);
      expect(lines.filter((l) => / INFO {2}walk complete source=ax resource=devices /.test(l))).toHaveLength(2);
      expect(lines.at(-1)).toMatch(/ INFO {2}run finished source=ax status=succeeded /);
      expect(logs.stdout).not.toContain(KEY);
      const tail = await run(['runs', 'logs', runId, '--tail', '1', '--json']);
      expect(JSON.parse(tail.stdout)).toEqual([expect.objectContaining({ msg: 'run finished', runId })]);

      const many = Array.from({ length: RUN_LOG_LIMIT + 100 }, (_, i) => ({ runId, at: new Date(), level: 'info', msg: `line ${i}`, fields: {} }));
      for (let i = 0; i < many.length; i += 200) await appendRunLogs(solo.db, many.slice(i, i + 200));
      const stored = await solo.db.selectFrom('run_logs').select(sql<number>`count(*)::int`.as('n')).where('run_id', '=', runId).executeTakeFirstOrThrow();
      expect(stored.n).toBe(RUN_LOG_LIMIT);
    } finally {
      await solo.cleanup();
    }
  });

  it('the run page cancels a running run and retries its walks, with its own CSRF token; it shows the run log', async () => {
    const dash = await startDashboard({ db: env.db, queues: [], logger: createLogger({ level: 'silent' }), port: 0, runControl: runControlDeps(app) });
    const base = `http://127.0.0.1:${dash.port}`;
    try {
      holdDevices();
      const { runId } = await app.engine.startRun('ax', { trigger: 'test', resources: ['devices'] });
      await devicesWaiting(runId);
      const post = async (path: string) => {
        const page = await fetch(`${base}/runs/${runId}`);
        const cookie = page.headers.get('set-cookie')!.split(';')[0]!;
        const token = /name="csrf" value="([0-9a-f]+)"/.exec(await page.text())?.[1] ?? '';
        return fetch(`${base}${path}`, { method: 'POST', redirect: 'manual', headers: { cookie, origin: base, 'content-type': 'application/x-www-form-urlencoded' }, body: `csrf=${token}` });
      };
      const forged = await fetch(`${base}/runs/${runId}/cancel`, { method: 'POST', redirect: 'manual', headers: { origin: base, 'content-type': 'application/x-www-form-urlencoded' }, body: 'csrf=nope' });
      expect(forged.status).toBe(403);
      expect((await fetch(`${base}/runs/${runId}/fragment`)).status).toBe(404);

      const cancelled = await post(`/runs/${runId}/cancel`);
      expect([cancelled.status, cancelled.headers.get('location')]).toEqual([303, `/runs/${runId}?done=cancelled`]);
      expect((await env.db.selectFrom('sync_runs').select('status').where('id', '=', runId).executeTakeFirstOrThrow()).status).toBe('cancelled');
      const page = await (await fetch(`${base}/runs/${runId}?done=cancelled`)).text();
      expect(page).toContain('retry 2 failed walks');

      sim.clearFaults();
      const retried = await post(`/runs/${runId}/retry`);
      expect(retried.status).toBe(303);
      const newRun = /^\/runs\/(\d+)\?done=retry-of-\d+$/.exec(retried.headers.get('location') ?? '')?.[1];
      expect(newRun).toBeDefined();
      expect((await app.engine.waitForRun(newRun!)).status).toBe('succeeded');
      expect((await post(`/runs/${runId}/cancel`)).status).toBe(409);

      await appendRunLogs(env.db, [{ runId: newRun!, at: new Date(), level: 'warn', msg: 'a line of this run', fields: { resource: 'devices' } }]);
      const withLog = await (await fetch(`${base}/runs/${newRun}`)).text();
      expect(withLog).toContain('a line of this run');
      expect(withLog).toContain(`fleetsync runs logs ${newRun}`);
    } finally {
      await dash.close();
    }
  });
});
