import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../src/app.js';
import { AutomoxSimulator, generateAutomoxData } from '../src/simulators/automox.js';
import { IzumaSimulator, generateIzumaData } from '../src/simulators/izuma.js';
import { createTestEnv, waitFor, type TestEnv } from './helpers.js';
import { cliEnv, runCli, type CliResult } from './helpers/cli.js';
import { automoxSource, FAST, izumaSource, tempDir, testConfig, type TempDir } from './helpers/config.js';
import { freePort } from './helpers/ports.js';
import { syncOnce } from './helpers/sync.js';
import { exited, killAll } from './helpers/worker.js';

const AX_KEY = 'cli-tools-ax-SECRET';
const IZ_KEY = 'ak_clitoolsSECRET';
const CLI = resolve('src/cli.ts');
const TSX = pathToFileURL(resolve('node_modules/tsx/dist/loader.mjs')).href;

/** Runs `fleetsync <args>` with its working directory at `cwd` (where it looks for .env). */
function runIn(cwd: string, args: string[], processEnv: NodeJS.ProcessEnv): Promise<CliResult> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ['--import', TSX, CLI, ...args], { cwd, env: processEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', fail);
    child.once('exit', (code) => done({ code, stdout, stderr }));
  });
}

describe('runs, state, simulate, .env and config errors', () => {
  let env: TestEnv;
  let ax: AutomoxSimulator;
  let iz: IzumaSimulator;
  let dir: TempDir;
  let configFile: string;
  let cfg: Record<string, unknown>;
  let app: App;
  const children: ChildProcess[] = [];
  const secrets = { AX_KEY, IZ_KEY };
  const cli = (args: string[], extraEnv: NodeJS.ProcessEnv = {}) => runCli(env, configFile, args, { ...secrets, ...extraEnv });

  beforeAll(async () => {
    env = await createTestEnv();
    ax = new AutomoxSimulator({ apiKey: AX_KEY, data: generateAutomoxData({ seed: 23, orgs: 2, devicesPerOrg: [6, 3], packagesPerDevice: 1 }) });
    iz = new IzumaSimulator({ apiKey: IZ_KEY, data: generateIzumaData({ seed: 23, devices: 12, groups: 2, firmwareImages: 1 }) });
    const [axOrigin, izOrigin] = await Promise.all([ax.start(), iz.start()]);
    cfg = testConfig([automoxSource('automox-c', `${axOrigin}/api`, 'AX_KEY', { rateLimits: { servers: FAST } }), izumaSource('izuma-c', izOrigin, 'IZ_KEY')]);
    dir = await tempDir('fleetsync-tools-');
    configFile = await dir.writeYaml('fleetsync.yaml', cfg);
    app = await env.open(cfg, { ...process.env, ...secrets });
    app.engine.startWorkers();
  });
  afterAll(async () => {
    killAll(children);
    await Promise.all([ax.stop(), iz.stop()]);
    await env.cleanup();
    await dir.remove();
  });

  it('runs lists the history newest first; runs show lists the walks and each failure with the vendor message and request id', async () => {
    const ok = await syncOnce(app, 'automox-c');
    expect(ok.run.status).toBe('succeeded');
    const org = String(ax.data.orgs[1]!.id);
    ax.inject({ kind: 'status', status: 400, body: { errors: ['o is not a valid organization'] }, match: (r) => r.path === '/api/servers' && r.query.get('o') === org });
    const bad = await syncOnce(app, 'automox-c', ['devices']);
    expect(bad.run.status).not.toBe('succeeded');

    const r = await cli(['runs', '--source', 'automox-c']);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^id\s+source\s+trigger\s+mode\s+status\s+started\s+duration\s+walks\s+records\s+failures$/);
    const facts = async (runId: string) =>
      (
        await sql<{ walks: number; records: number; failed: number }>`select count(*)::int as walks, coalesce(sum(records), 0)::int as records, (count(*) filter (where status = 'failed'))::int as failed from sync_walks where run_id = ${runId}`.execute(env.db)
      ).rows[0]!;
    const rows = lines.slice(1).map((l) => l.split(/\s{2,}/));
    expect(rows.map((c) => c[0])).toEqual([bad.runId, ok.runId]);
    for (const [row, run] of [
      [rows[0]!, bad],
      [rows[1]!, ok],
    ] as const) {
      const f = await facts(run.runId);
      expect([row[1], row[2], row[3], row[4], row[7], row[8], row[9]]).toEqual(['automox-c', 'test', 'full', run.run.status, String(f.walks), String(f.records), String(f.failed)]);
      expect(row[6]).toMatch(/^\d+(ms|s)$|^\d+m \d\ds$/);
    }
    expect((await facts(bad.runId)).failed).toBe(1);

    const one = await cli(['runs', '--limit', '1', '--json']);
    expect((JSON.parse(one.stdout) as Array<{ id: string }>).map((x) => x.id)).toEqual([bad.runId]);

    const show = await cli(['runs', 'show', bad.runId]);
    expect(show.code, show.stderr).toBe(0);
    expect(show.stdout.split('\n')[0]).toBe(`run ${bad.runId} of automox-c (test, full): ${bad.run.status}${bad.run.error_message ? ` · ${bad.run.error_status ?? '-'} ${bad.run.error_message}${bad.run.error_request_id ? ` [request ${bad.run.error_request_id}]` : ''}` : ''}`);
    const walk = await env.db.selectFrom('sync_walks').selectAll().where('run_id', '=', bad.runId).where('status', '=', 'failed').executeTakeFirstOrThrow();
    expect(walk.error_message).toContain('o is not a valid organization');
    expect(walk.error_request_id).toBeTruthy();
    expect(show.stdout).toMatch(new RegExp(`^devices\\s+${org}\\s+full\\s+failed\\s+\\S+\\s+0\\s+0\\s+-\\s+0`, 'm'));
    expect(show.stdout).toContain(`failures:\n  devices ${org}: 400 ${walk.error_message} [request ${walk.error_request_id}]`);
    const okOrg = String(ax.data.orgs[0]!.id);
    expect(show.stdout).toMatch(new RegExp(`^devices\\s+${okOrg}\\s+full\\s+succeeded\\s+\\S+\\s+\\d+\\s+${ax.data.servers.filter((s) => String(s.organization_id) === okOrg).length}\\s`, 'm'));

    const none = await cli(['runs', 'show', '987654']);
    expect([none.code, none.stderr.trim()]).toEqual([2, 'fleetsync: no run 987654 (fleetsync runs lists them)']);
  });

  it('state show reads the high-water mark; state reset makes the next incremental run walk fully, and is refused while a run is running', async () => {
    expect((await syncOnce(app, 'izuma-c', ['devices'])).run.status).toBe('succeeded');
    const show = async () => {
      const r = await cli(['state', 'show', '--source', 'izuma-c', '--resource', 'devices', '--json']);
      expect(r.code, r.stderr).toBe(0);
      return JSON.parse(r.stdout) as { incremental: boolean; scopes: Array<{ scope: string; mark: string | null; nextIncrementalRun: string }> };
    };
    const mark = (await sql<{ m: Date }>`select max(high_water_mark) as m from sync_walks where source_id = 'izuma-c' and resource = 'devices' and status = 'succeeded'`.execute(env.db)).rows[0]!.m;
    expect(mark).not.toBeNull();
    let s = await show();
    expect(s.incremental).toBe(true);
    expect(s.scopes.map((x) => [x.scope, x.mark])).toEqual([['-', new Date(mark).toISOString()]]);
    expect(s.scopes[0]!.nextIncrementalRun).toMatch(/^incremental since /);
    // Without a reset an incremental run is incremental...
    const inc = await syncOnce(app, 'izuma-c', ['devices'], 'incremental');
    const modeOf = async (runId: string) => (await env.db.selectFrom('sync_walks').select('mode').where('run_id', '=', runId).where('resource', '=', 'devices').executeTakeFirstOrThrow()).mode;
    expect(await modeOf(inc.runId)).toBe('incremental');

    // ... refused while a run of the source is running ...
    await app.engine.pauseSource('izuma-c', 'held by the test');
    const { runId: running } = await app.engine.startRun('izuma-c', { trigger: 'test', resources: ['devices'] });
    const refused = await cli(['state', 'reset', '--source', 'izuma-c', '--resource', 'devices']);
    expect([refused.code, refused.stderr.trim()]).toEqual([1, `fleetsync: not reset: run ${running} of izuma-c is running; wait for it to end (or cancel it), then reset`]);
    expect((await show()).scopes[0]!.mark).not.toBeNull();
    await app.engine.resumeSource('izuma-c');
    expect((await app.engine.waitForRun(running)).status).toBe('succeeded');

    // ... and after the reset the next incremental run walks fully.
    const reset = await cli(['state', 'reset', '--source', 'izuma-c', '--resource', 'devices']);
    expect(reset.code, reset.stderr).toBe(0);
    expect(reset.stdout.trim()).toMatch(/^reset izuma-c\/devices: cleared the high-water mark of \d+ succeeded walks?; the next run walks it fully from the first page$/);
    s = await show();
    expect(s.scopes.map((x) => [x.mark, x.nextIncrementalRun])).toEqual([[null, 'full']]);
    const after = await syncOnce(app, 'izuma-c', ['devices'], 'incremental');
    expect(await modeOf(after.runId)).toBe('full');

    const text = await cli(['state', 'show', '--source', 'automox-c', '--resource', 'devices']);
    expect(text.stdout.split('\n')[0]).toBe('automox-c/devices: every run walks it fully from the first page (the vendor has no changed-since filter)');
    const typo = await cli(['state', 'show', '--source', 'izuma-c', '--resource', 'device']);
    expect([typo.code, typo.stderr.trim()]).toEqual([2, 'fleetsync: izuma-c has no resource "device" (resources: organizations, device_groups, devices, firmware_images)']);
  });

  it('an unknown source lists the configured ones, in every command that takes one', async () => {
    for (const args of [
      ['status', '--source', 'automox'],
      ['pause', '--source', 'automox'],
      ['resume', '--source', 'automox'],
      ['runs', '--source', 'automox'],
      ['state', 'show', '--source', 'automox', '--resource', 'devices'],
      ['sync', '--source', 'automox'],
      ['worker', '--source', 'automox'],
    ]) {
      const r = await cli(args);
      expect([args[0], r.code, r.stderr.trim()]).toEqual([args[0], 2, 'fleetsync: unknown source "automox" (configured: automox-c, izuma-c)']);
    }
  });

  it('reads ./.env without overriding variables already set and without printing values', async () => {
    const cwd = join(dir.path, 'with-env');
    await mkdir(cwd);
    await writeFile(join(cwd, 'fleetsync.yaml'), await import('yaml').then((y) => y.stringify(cfg)));
    // The keys only in .env; DATABASE_URL in both (the environment's must win).
    await writeFile(join(cwd, '.env'), `# local secrets\nAX_KEY=${AX_KEY}\nIZ_KEY="${IZ_KEY}"\nDATABASE_URL=postgres://nobody@127.0.0.1:1/nothing\n`);
    const processEnv = cliEnv(env, { FLEETSYNC_LOG_LEVEL: 'debug' });
    delete processEnv.AX_KEY;
    delete processEnv.IZ_KEY;
    const r = await runIn(cwd, ['status', '--source', 'automox-c', '--json'], processEnv);
    expect(r.code, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as Array<{ sourceId: string }>)[0]!.sourceId).toBe('automox-c');
    const line = r.stderr.split('\n').find((l) => l.includes('read .env'));
    expect(JSON.parse(line!)).toMatchObject({ variables: ['AX_KEY', 'IZ_KEY'] });
    expect(r.stdout + r.stderr).not.toContain(AX_KEY);
    expect(r.stdout + r.stderr).not.toContain(IZ_KEY);

    // Without the .env a read-only command still works (it sends no request), and the worker names what is missing.
    const bare = join(dir.path, 'without-env');
    await mkdir(bare);
    await writeFile(join(bare, 'fleetsync.yaml'), await import('yaml').then((y) => y.stringify(cfg)));
    for (const args of [['status', '--json'], ['runs'], ['schedules'], ['report', 'health'], ['state', 'show', '--source', 'automox-c', '--resource', 'devices']]) {
      const reads = await runIn(bare, args, processEnv);
      expect(reads.code, `${args.join(' ')}: ${reads.stderr}`).toBe(0);
    }
    const missing = await runIn(bare, ['worker'], processEnv);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('environment variable AX_KEY is not set');
  });

  it('config errors: every missing variable at once, the cron pattern quoted, a directory in place of the config file', async () => {
    const two = await dir.writeYaml('missing.yaml', testConfig([automoxSource('a1', 'https://a.example/api', 'NOPE_ONE'), izumaSource('i1', 'https://i.example', 'NOPE_TWO')]));
    const m = await runCli(env, two, ['worker']);
    expect(m.code).toBe(2);
    expect(m.stderr.trim()).toBe(
      `fleetsync: ${two}: 2 environment variables are not set (export them or put them in .env):\n` +
        '  sources[0].credentials.apiKey: environment variable NOPE_ONE is not set\n' +
        '  sources[1].credentials.apiKey: environment variable NOPE_TWO is not set',
    );

    const cron = await dir.writeYaml('cron.yaml', { ...cfg, schedules: [{ name: 'daily', cron: 'every day' }] });
    const c = await cli(['--config', cron, 'schedules']);
    expect(c.code).toBe(2);
    expect(c.stderr).toContain('schedules[0].cron: invalid cron pattern "every day": has 2 fields, needs 5 or 6 (5 fields: minute hour day-of-month month day-of-week, e.g. "0 2 * * *"');
    expect(c.stderr).not.toContain('alias');

    const asDir = join(dir.path, 'mounted', 'fleetsync.yaml');
    await mkdir(asDir, { recursive: true });
    const d = await runCli(env, asDir, ['status']);
    expect([d.code, d.stderr.trim()]).toEqual([
      2,
      `fleetsync: config file ${asDir} is a directory: docker creates one when a bind-mounted fleetsync.yaml does not exist on the host; create ./fleetsync.yaml (see fleetsync.example.yaml) and remove the directory`,
    ]);
  });

  it('simulate serves a vendor on loopback with a matching config and a throwaway key, until stopped', async () => {
    const port = await freePort();
    const child = spawn(process.execPath, ['--import', TSX, CLI, 'simulate', 'automox', '--port', String(port), '--devices', '4'], { env: { ...process.env, FLEETSYNC_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    await waitFor(() => out.includes('# then:'), 'the simulator to print its config');
    const base = `http://127.0.0.1:${port}/api`;
    expect(out.split('\n')[0]).toBe(`automox simulator on ${base} (loopback only; Ctrl-C stops it)`);
    const key = /^TRIAL_AUTOMOX_KEY=(\S+)$/m.exec(out)![1]!;
    expect(out).toContain(`sources:\n  - id: automox-trial\n    vendor: automox\n    baseUrl: ${base}\n    credentials:\n      apiKey: \${TRIAL_AUTOMOX_KEY}\n`);
    const orgs = (await (await fetch(`${base}/orgs`, { headers: { authorization: `Bearer ${key}` } })).json()) as Array<{ id: number }>;
    expect(orgs).toHaveLength(2);
    const servers = (await (await fetch(`${base}/servers?o=${orgs[0]!.id}`, { headers: { authorization: `Bearer ${key}` } })).json()) as unknown[];
    expect(servers).toHaveLength(4);
    expect((await fetch(`${base}/orgs`, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);

    // The port is taken now: a second one says so.
    const again = await runIn(process.cwd(), ['simulate', 'toggl', '--port', String(port)], process.env);
    expect([again.code, again.stderr.trim()]).toEqual([1, `fleetsync: port ${port} on 127.0.0.1 is already in use; pick another with --port, or leave it out for a free one`]);
    child.kill('SIGINT');
    expect((await exited(child)).code).toBe(0);
    await expect(fetch(`${base}/orgs`)).rejects.toThrow();

    const unknown = await runIn(process.cwd(), ['simulate', 'jamf'], process.env);
    expect([unknown.code, unknown.stderr.trim()]).toEqual([2, 'fleetsync: no simulator for vendor "jamf" (simulators: automox, famoco, famoco-insights, izuma, toggl, rest)']);
  });
});
