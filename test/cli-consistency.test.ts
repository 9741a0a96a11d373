import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AutomoxSimulator, generateAutomoxData } from '../src/simulators/automox.js';
import { IzumaSimulator, generateIzumaData } from '../src/simulators/izuma.js';
import { createTestEnv, waitFor, type TestEnv } from './helpers.js';
import { cliEnv, runCli } from './helpers/cli.js';
import { automoxSource, FAST, izumaSource, tempDir, testConfig, type TempDir } from './helpers/config.js';
import { freePort } from './helpers/ports.js';
import { exited } from './helpers/worker.js';

const AX_KEY = 'consistency-ax-key';
const IZ_KEY = 'ak_consistency';

describe('consistent answers: exit codes, paused sources, --since, the dashboard token, a second simulate', () => {
  let env: TestEnv;
  let ax: AutomoxSimulator;
  let iz: IzumaSimulator;
  let dir: TempDir;
  let configFile: string;
  const cli = (args: string[], extra: NodeJS.ProcessEnv = {}) => runCli(env, configFile, args, { AX_KEY, IZ_KEY, ...extra });

  beforeAll(async () => {
    env = await createTestEnv();
    ax = new AutomoxSimulator({ apiKey: AX_KEY, data: generateAutomoxData({ seed: 3, orgs: 1, devicesPerOrg: [3] }) });
    iz = new IzumaSimulator({ apiKey: IZ_KEY, data: generateIzumaData({ seed: 3, devices: 4, groups: 1, firmwareImages: 1 }) });
    const [a, i] = await Promise.all([ax.start(), iz.start()]);
    dir = await tempDir('fleetsync-consistency-');
    configFile = await dir.writeYaml('fleetsync.yaml', testConfig([automoxSource('ax', `${a}/api`, 'AX_KEY', { rateLimits: { servers: FAST } }), izumaSource('iz', i, 'IZ_KEY')]));
  });
  afterAll(async () => {
    await Promise.all([ax.stop(), iz.stop()]);
    await env.cleanup();
    await dir.remove();
  });

  it('an unknown source, an unknown resource, an unknown run and an unknown option all exit 2 (usage)', async () => {
    const cases: Array<[string[], string]> = [
      [['sync', '--source', 'nope'], 'fleetsync: unknown source "nope" (configured: ax, iz)'],
      [['sync', '--source', 'ax', '--resource', 'gizmos'], 'fleetsync: ax: unknown resource "gizmos" (known: organizations, device_groups, devices, packages, patch_categories)'],
      [['state', 'show', '--source', 'ax', '--resource', 'gizmos'], 'fleetsync: ax has no resource "gizmos" (resources: organizations, device_groups, devices, packages, patch_categories)'],
      [['runs', 'show', '424242'], 'fleetsync: no run 424242 (fleetsync runs lists them)'],
    ];
    for (const [args, stderr] of cases) {
      const r = await cli(args);
      expect({ args, code: r.code, stderr: r.stderr.trim() }).toEqual({ args, code: 2, stderr });
    }
    const option = await cli(['runs', '--colour']);
    expect(option.code).toBe(2);
    expect(option.stderr).toContain("unknown option '--colour'");
    const help = await cli(['--help']);
    expect(help.code).toBe(0);
  });

  it('sync on a paused source says it is paused; with --wait it refuses instead of waiting for ever', async () => {
    expect((await cli(['pause', '--source', 'ax'])).code).toBe(0);
    const waited = await cli(['sync', '--source', 'ax', '--wait']);
    expect([waited.code, waited.stderr.trim()]).toEqual([1, 'fleetsync: ax is paused (paused by command): no worker takes its pages, so --wait would wait for ever; resume it first: fleetsync resume --source ax']);
    expect(await env.db.selectFrom('sync_runs').select('id').where('source_id', '=', 'ax').execute()).toEqual([]);
    const queued = await cli(['sync', '--source', 'ax']);
    expect(queued.code, queued.stderr).toBe(0);
    expect(queued.stdout.trim()).toMatch(/^started run \d+ of ax; ax is paused \(paused by command\): the run waits until fleetsync resume --source ax$/);
    expect((await cli(['resume', '--source', 'ax'])).code).toBe(0);
  });

  it('backfill --since refuses a source whose vendor filters nothing by date, and names what walks fully otherwise', async () => {
    const refused = await cli(['backfill', '--source', 'ax', '--since', '2026-01-01', '--detach']);
    expect([refused.code, refused.stderr.trim()]).toEqual([2, 'fleetsync: --since: automox filters none of organizations, device_groups, devices, packages, patch_categories of ax by update time, so a backfill walks them fully anyway; leave out --since']);
    const izuma = await cli(['backfill', '--source', 'iz', '--since', '2026-01-01', '--detach']);
    expect(izuma.code, izuma.stderr).toBe(0);
    expect(izuma.stdout).toMatch(/^started backfill run \d+ of iz since 2026-01-01T00:00:00.000Z\n--since narrows devices; organizations, device_groups, firmware_images walk fully \(no filter by update time\)\n$/);
  });

  it('dashboard --host 0.0.0.0 without a token refuses before connecting to anything', async () => {
    const deadRedis = `redis://127.0.0.1:${await freePort()}`;
    const r = await cli(['dashboard', '--host', '0.0.0.0', '--port', '0'], { REDIS_URL: deadRedis, FLEETSYNC_DASHBOARD_TOKEN: '' });
    expect([r.code, r.stderr.trim()]).toEqual([2, 'fleetsync: the dashboard has no token: listening on 0.0.0.0 (not loopback) needs --token or FLEETSYNC_DASHBOARD_TOKEN']);
  });

  it('a second simulate where the first left fleetsync.yaml and .env says to replace, not to save over them', async () => {
    const trialDir = await tempDir('fleetsync-trial-');
    const cwd = trialDir.path;
    await writeFile(join(cwd, 'fleetsync.yaml'), 'sources:\n  - id: automox-trial\n    vendor: automox\n    baseUrl: http://127.0.0.1:40000/api\n    credentials: { apiKey: ${TRIAL_AUTOMOX_KEY} }\n');
    await writeFile(join(cwd, '.env'), 'TRIAL_AUTOMOX_KEY=from-the-first-trial\n');
    const child = spawn(process.execPath, ['--import', pathToFileURL(resolve('node_modules/tsx/dist/loader.mjs')).href, resolve('src/cli.ts'), 'simulate', 'automox', '--devices', '2'], { cwd, env: cliEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    try {
      await waitFor(() => out.includes('# then:'), 'simulate to print its instructions', 30_000);
    } finally {
      child.kill('SIGINT');
      await exited(child);
      await trialDir.remove();
    }
    expect(out).not.toMatch(/save as|put them in \.env/);
    expect(out).toContain('.env has TRIAL_AUTOMOX_KEY from an earlier trial; replace that line with:');
    expect(out).toContain('# fleetsync.yaml has a source automox-trial already (an earlier trial?): replace that entry under sources: with this one');
  });
});
