import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../src/app.js';
import { AutomoxSimulator, generateAutomoxData, type AutomoxData } from '../src/simulators/automox.js';
import { createTestEnv, type TestEnv } from './helpers.js';
import { runCli } from './helpers/cli.js';
import { automoxSource, FAST, tempDir, testConfig, type TempDir } from './helpers/config.js';
import { syncOnce } from './helpers/sync.js';

// reporting.organization_summary reads its devices, device_groups and packages from
// reporting.organization_counts, which a source's run end and `fleetsync sweep --confirm`
// recompute (docs/warehouse.md). Each figure is checked against the simulator's own data.

const KEY = 'test-automox-key-org-counts-0123456789';
const SOURCE = 'ax-counts';
const vars = { ...process.env, TEST_AUTOMOX_KEY: KEY };

/** [organization id, devices, device groups, packages] per organization, from the vendor's data. */
function expectedSummary(data: AutomoxData): Array<[string, number, number, number]> {
  return [...data.orgs]
    .sort((a, b) => String(a.id).localeCompare(String(b.id)))
    .map((o) => [
      String(o.id),
      data.servers.filter((s) => s.organization_id === o.id).length,
      data.groups.filter((g) => g.organization_id === o.id).length,
      data.packages.filter((p) => p.organization_id === o.id).length,
    ]);
}

describe('organization_summary counts are refreshed when a run ends and when held sweeps are applied', () => {
  let env: TestEnv;
  let dir: TempDir;
  let sim: AutomoxSimulator;
  let app: App;
  let configFile: string;

  const summary = async (): Promise<Array<[string, number, number, number]>> => {
    const res = await sql<{ organization_id: string; devices: number; device_groups: number; packages: number }>`
      select organization_id, devices, device_groups, packages from reporting.organization_summary where source_id = ${SOURCE} order by organization_id`.execute(env.db);
    return res.rows.map((r) => [r.organization_id, r.devices, r.device_groups, r.packages]);
  };

  beforeAll(async () => {
    env = await createTestEnv();
    dir = await tempDir('fleetsync-org-counts-');
    sim = new AutomoxSimulator({ apiKey: KEY, data: generateAutomoxData({ seed: 41, orgs: 3, devicesPerOrg: [6, 4, 5], packagesPerDevice: 2 }) });
    const origin = await sim.start();
    // immediate: a vendor delete shows in one run (confirm mode is tested in test/deletes.test.ts).
    const config = testConfig([automoxSource(SOURCE, `${origin}/api`, 'TEST_AUTOMOX_KEY', { deletes: 'immediate', rateLimits: { api: FAST, servers: FAST } })]);
    configFile = await dir.writeYaml('fleetsync.yaml', config);
    app = await env.open(config, vars);
    app.engine.startWorkers();
  });

  afterAll(async () => {
    await sim.stop();
    await env.cleanup();
    await dir.remove();
  });

  it('devices added and removed at the vendor show in the counts once the next run ends, a partial run included', async () => {
    const first = await syncOnce(app, SOURCE);
    expect(first.run.status, first.run.error_message ?? '').toBe('succeeded');
    expect(await summary()).toEqual(expectedSummary(sim.data));

    // The vendor removes a device of the first organization (with its packages) and adds two
    // devices to the second one.
    const [orgA, orgB, orgC] = sim.data.orgs.map((o) => o.id) as [number, number, number];
    const gone = sim.data.servers.find((s) => s.organization_id === orgA)!;
    sim.data.servers = sim.data.servers.filter((s) => s !== gone);
    sim.data.packages = sim.data.packages.filter((p) => p.server_id !== gone.id);
    const model = sim.data.servers.find((s) => s.organization_id === orgB)!;
    for (const id of [3_000_001, 3_000_002]) sim.data.servers.push({ ...structuredClone(model), id, name: `added-${id}` });
    const second = await syncOnce(app, SOURCE);
    expect(second.run.status, second.run.error_message ?? '').toBe('succeeded');
    const afterSecond = expectedSummary(sim.data);
    expect(afterSecond.map((r) => r[1])).toEqual([5, 6, 5]);
    expect(await summary()).toEqual(afterSecond);

    // A partial run (the packages of the third organization answer 400) still ends the run: the
    // device it no longer lists is counted out; that organization's packages stay as they were.
    const leaving = sim.data.servers.find((s) => s.organization_id === orgC)!;
    sim.data.servers = sim.data.servers.filter((s) => s !== leaving);
    sim.inject({ kind: 'status', status: 400, times: Infinity, match: (r) => r.path === `/api/orgs/${orgC}/packages` });
    try {
      const partial = await syncOnce(app, SOURCE);
      expect(partial.run.status).toBe('partial');
    } finally {
      sim.clearFaults();
    }
    expect(await summary()).toEqual(afterSecond.map(([org, devices, groups, packages]) => [org, org === String(orgC) ? devices - 1 : devices, groups, packages]));
  });

  it('a held sweep leaves the counts alone until `fleetsync sweep --confirm` applies it', async () => {
    // The vendor lists the second organization's devices empty: the mass-delete guard holds the sweep.
    const orgB = String(sim.data.orgs[1]!.id);
    sim.inject({ kind: 'status', status: 200, body: [], times: Infinity, match: (r) => r.path === '/api/servers' && r.query.get('o') === orgB });
    try {
      const before = await summary();
      const held = await syncOnce(app, SOURCE, ['devices']);
      expect(held.run.status).toBe('succeeded');
      expect(held.summary.resources.find((r) => r.resource === 'devices')!.sweeps.map((s) => [s.scope, s.outcome])).toEqual([[orgB, 'held']]);
      expect(await summary()).toEqual(before);

      const applied = await runCli(env, configFile, ['sweep', '--source', SOURCE, '--resource', 'devices', '--confirm'], vars);
      expect(applied.code, applied.stderr).toBe(0);
      expect(await summary()).toEqual(before.map(([org, devices, groups, packages]) => [org, org === orgB ? 0 : devices, groups, packages]));
    } finally {
      sim.clearFaults();
    }
  });
});
