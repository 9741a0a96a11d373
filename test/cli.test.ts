import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AutomoxSimulator, generateAutomoxData } from '../src/simulators/automox.js';
import { deleteRedisPrefix, dropDatabase, PG_ADMIN_URL, REDIS_URL } from './helpers.js';
import { runFleetsync } from './helpers/cli.js';
import { automoxSource, tempDir, testConfig, type TempDir } from './helpers/config.js';

const KEY = 'cli-test-key';

describe('fleetsync CLI', () => {
  let sim: AutomoxSimulator;
  let dir: TempDir;
  let databaseUrl: string;
  let prefix: string;
  let env: NodeJS.ProcessEnv;

  // No --config and no test env: `migrate` must create this database itself, and FLEETSYNC_CONFIG names the file.
  const cli = (...args: string[]) => runFleetsync(args, env);

  beforeAll(async () => {
    sim = new AutomoxSimulator({ apiKey: KEY, data: generateAutomoxData({ seed: 9, orgs: 2, devicesPerOrg: [6, 4] }) });
    const origin = await sim.start();
    dir = await tempDir('fleetsync-cli-');
    const id = randomBytes(4).toString('hex');
    const url = new URL(PG_ADMIN_URL);
    url.pathname = `/fleetsync_cli_${id}`;
    databaseUrl = url.toString();
    prefix = `fsc-${id}`;
    const source = automoxSource('ax', `${origin}/api`, 'AX_KEY');
    const configFile = await dir.writeYaml('fleetsync.yaml', testConfig([source]));
    await dir.writeYaml('wrong-key.yaml', testConfig([{ ...source, id: 'ax-wrong', credentials: { apiKey: 'not-the-key' } }]));
    await dir.writeYaml('broken.yaml', { sources: [{ ...source, vendor: 'nokia-snake' }] });
    env = { ...process.env, DATABASE_URL: databaseUrl, REDIS_URL, FLEETSYNC_QUEUE_PREFIX: prefix, FLEETSYNC_LOG_LEVEL: 'error', AX_KEY: KEY, FLEETSYNC_CONFIG: configFile };
  });

  afterAll(async () => {
    await sim.stop();
    await dropDatabase(databaseUrl);
    await deleteRedisPrefix(prefix);
    await dir.remove();
  });

  it('migrate creates the database, and running it again changes nothing', async () => {
    const first = await cli('migrate');
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/^created database fleetsync_cli_[0-9a-f]+; applied \d{8}T\d{4}_initial/);
    const second = await cli('migrate');
    expect(second).toMatchObject({ code: 0, stdout: 'schema is up to date\n' });
  });

  it('sync --wait processes the run and prints the per-resource summary', async () => {
    const res = await cli('sync', '--source', 'ax', '--wait');
    expect(res.stderr + res.stdout).toMatch(/succeeded/);
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/^started run \d+ of ax\n/);
    expect(res.stdout).toMatch(/run \d+ of ax \(sync, full\): succeeded/);
    expect(res.stdout).toMatch(/^devices\s+2\s+3\s+10\s+10\s+0\s+0\s+0\s+0\s+ok$/m);
    expect(res.stdout).toMatch(/^patch_categories\s+1\s+1\s+13\s+13\s+0\s+0\s+0\s+0\s+ok$/m);
  });

  it('status --json reports the last run per resource', async () => {
    const res = await cli('status', '--json');
    expect(res.code).toBe(0);
    const status = JSON.parse(res.stdout) as Array<{ sourceId: string; lanes: Array<{ name: string; limit: string }>; resources: Array<{ resource: string; lastRunStatus: string; summary: { inserted: number; unchanged: number } }> }>;
    expect(status[0]!.sourceId).toBe('ax');
    expect(status[0]!.lanes.map((l) => [l.name, l.limit])).toEqual([
      ['ax.api', '100/s'],
      ['ax.servers', '29/min'],
    ]);
    const devices = status[0]!.resources.find((r) => r.resource === 'devices')!;
    expect(devices.lastRunStatus).toBe('succeeded');
    expect(devices.summary.inserted).toBe(10);
    const text = await cli('status');
    expect(text.stdout).toMatch(/source ax \(automox\)/);
    expect(text.stdout).toMatch(/^\s+devices\s+\d+\s+succeeded/m);
  });

  it('a second sync of unchanged data reports everything unchanged', async () => {
    const res = await cli('sync', '--source', 'ax', '--wait');
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/^devices\s+2\s+3\s+10\s+0\s+0\s+10\s+0\s+0\s+ok$/m);
  });

  it('exits non-zero with the reason when the vendor refuses the credentials', async () => {
    const res = await cli('--config', join(dir.path, 'wrong-key.yaml'), 'sync', '--source', 'ax-wrong', '--wait');
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/fleetsync: run \d+ failed: ax-wrong\/organizations scope - page 0: 401 Unauthorized: check the credentials of source ax-wrong/);
    expect(res.stdout + res.stderr).not.toContain('not-the-key');
  });

  it('refuses a bad config before anything runs, naming the key path', async () => {
    const res = await cli('--config', join(dir.path, 'broken.yaml'), 'sync', '--source', 'ax');
    expect(res.code).toBe(2);
    expect(res.stderr).toContain('sources[0].vendor: unknown vendor "nokia-snake"');
    const unknown = await cli('sync', '--source', 'nope');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown source "nope" (configured: ax)');
  });

  it('has --help on every command', async () => {
    for (const c of ['migrate', 'worker', 'sync', 'status', 'pause', 'resume', 'enable', 'demo']) {
      const res = await cli(c, '--help');
      expect(res.code, c).toBe(0);
      expect(res.stdout).toContain(`Usage: fleetsync ${c}`);
    }
  });
});
