import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AutomoxSimulator, generateAutomoxData } from '../src/simulators/automox.js';
import { createTestEnv, type TestEnv } from './helpers.js';
import { runCli, runFleetsync } from './helpers/cli.js';
import { automoxSource, FAST, tempDir, testConfig, type TempDir } from './helpers/config.js';

const KEY = 'cli-json-key';

interface Summary {
  runId: string;
  sourceId: string;
  status: string;
  resources: Array<{ resource: string; inserted: number; sweeps: Array<{ outcome: string }> }>;
}

describe('--json on every command that prints a result; --version', () => {
  let env: TestEnv;
  let sim: AutomoxSimulator;
  let dir: TempDir;
  let configFile: string;
  const cli = (args: string[]) => runCli(env, configFile, args, { AXJ_KEY: KEY });

  beforeAll(async () => {
    env = await createTestEnv();
    sim = new AutomoxSimulator({ apiKey: KEY, data: generateAutomoxData({ seed: 8, orgs: 2, devicesPerOrg: [4, 3] }) });
    const origin = await sim.start();
    dir = await tempDir('fleetsync-json-');
    configFile = await dir.writeYaml('fleetsync.yaml', testConfig([automoxSource('ax', `${origin}/api`, 'AXJ_KEY', { rateLimits: { servers: FAST } })]));
  });
  afterAll(async () => {
    await sim.stop();
    await env.cleanup();
    await dir.remove();
  });

  it('sync --wait --json, backfill --json, sweep --json and report --json print one JSON document each', async () => {
    const sync = await cli(['sync', '--source', 'ax', '--resource', 'devices', '--wait', '--json']);
    expect(sync.code, sync.stderr).toBe(0);
    const summary = JSON.parse(sync.stdout) as Summary;
    expect(summary).toMatchObject({ sourceId: 'ax', status: 'succeeded' });
    expect(summary.resources.find((r) => r.resource === 'devices')!.inserted).toBe(7);

    const started = await cli(['sync', '--source', 'ax', '--resource', 'organizations', '--json']);
    expect(JSON.parse(started.stdout)).toMatchObject({ source: 'ax', resumed: false, since: null, note: null, runId: expect.stringMatching(/^\d+$/) });

    // One organization listed empty: the guard holds its sweep; a backfill exits 3 and says so in JSON too.
    const org = sim.data.orgs[0]!.id;
    sim.data.servers = sim.data.servers.filter((d) => d.organization_id !== org);
    const backfill = await cli(['backfill', '--source', 'ax', '--resource', 'devices', '--json']);
    expect(backfill.code, backfill.stderr).toBe(3);
    const held = JSON.parse(backfill.stdout) as Summary;
    expect(held.status).toBe('succeeded');
    expect(held.resources.find((r) => r.resource === 'devices')!.sweeps.map((s) => s.outcome)).toContain('held');

    const sweep = await cli(['sweep', '--source', 'ax', '--resource', 'devices', '--json']);
    expect(sweep.code, sweep.stderr).toBe(0);
    expect(JSON.parse(sweep.stdout)).toEqual([expect.objectContaining({ resource: 'devices', scope: String(org), rows: 4 })]);
    const confirm = await cli(['sweep', '--source', 'ax', '--resource', 'devices', '--confirm', '--json']);
    expect(JSON.parse(confirm.stdout)).toEqual([expect.objectContaining({ resource: 'devices', scope: String(org), deleted: 4 })]);

    const report = await cli(['report', 'inventory', '--json']);
    expect(report.code, report.stderr).toBe(0);
    expect((JSON.parse(report.stdout) as unknown[]).length).toBe(3);
    const both = await cli(['report', 'inventory', '--json', '--format', 'csv']);
    expect([both.code, both.stderr.trim()]).toEqual([2, 'fleetsync: --json and --format csv contradict each other; give one']);
  });

  it('--version prints the version and exits 0', async () => {
    const r = await runFleetsync(['--version'], process.env);
    const { version } = JSON.parse(await readFile('package.json', 'utf8')) as { version: string };
    expect([r.code, r.stdout]).toEqual([0, `fleetsync ${version}\n`]);
  });
});
