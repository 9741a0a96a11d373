import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sampleIds, HOLD_SAMPLE_SIZE } from '../src/queue/missed-rows.js';
import { AutomoxSimulator, generateAutomoxData } from '../src/simulators/automox.js';
import { FamocoSimulator, generateFamocoData } from '../src/simulators/famoco.js';
import type { HttpSimulator } from '../src/simulators/http-sim.js';
import { createTestEnv, type TestEnv } from './helpers.js';
import { runCli } from './helpers/cli.js';
import { automoxSource, FAST, famocoSource, tempDir, testConfig, type TempDir } from './helpers/config.js';
import { syncOnce } from './helpers/sync.js';

// A listing glitch twice in a row (a vendor's search index down) must not delete a scope
// (docs/reliability.md, Deletes): with a per-id GET only the vendor's own 404/410 deletes a held
// row, a sample asked first; without one, a hold of a whole scope needs `sweep --confirm`.

const KEY = 'test-automox-key-held-0123456789';
const TOKEN = 'test-famoco-token-held-0123456789';
const vars = { ...process.env, TEST_AUTOMOX_KEY: KEY, TEST_FAMOCO_TOKEN: TOKEN };

let env: TestEnv;
let dir: TempDir;
const sims: HttpSimulator[] = [];

beforeAll(async () => {
  env = await createTestEnv();
  dir = await tempDir('fleetsync-held-');
});
afterAll(async () => {
  for (const s of sims) await s.stop();
  await env.cleanup();
  await dir.remove();
});

/** Rows of a source marked deleted. */
async function deletedIds(sourceId: string): Promise<string[]> {
  const rows = await env.db.selectFrom('devices').select('external_id').where('source_id', '=', sourceId).where('deleted_at', 'is not', null).orderBy('external_id').execute();
  return rows.map((r) => r.external_id);
}

function walkOf(runId: string, scope: string) {
  return env.db.selectFrom('sync_walks').selectAll().where('run_id', '=', runId).where('resource', '=', 'devices').where('scope', '=', scope).executeTakeFirstOrThrow();
}

describe('a listing glitch twice', () => {
  it('with a per-id GET: the agreeing walk asks a sample, keeps the hold on a 200, and deletes only rows the vendor answered 404/410 for', async () => {
    const sim = new AutomoxSimulator({ apiKey: KEY, data: generateAutomoxData({ seed: 11, orgs: 1, devicesPerOrg: [40], packagesPerDevice: 0 }) });
    sims.push(sim);
    const origin = await sim.start();
    const app = await env.open(testConfig([automoxSource('ax-twice', `${origin}/api`, 'TEST_AUTOMOX_KEY', { rateLimits: { servers: FAST }, pageSize: 100 })]), vars);
    app.engine.startWorkers();
    const org = String(sim.data.orgs[0]!.id);
    await syncOnce(app, 'ax-twice', ['devices']);
    const gets = (from: number) => sim.requests.slice(from).filter((r) => r.path.startsWith('/api/servers/')).map((r) => [r.path.slice('/api/servers/'.length), r.status] as const);

    // The search index is down: the org is listed empty, its devices all still answer 200 by id.
    sim.inject({ kind: 'status', status: 200, body: [], times: Number.POSITIVE_INFINITY, match: (r) => r.path === '/api/servers' && r.query.get('o') === org });
    const first = await syncOnce(app, 'ax-twice', ['devices']);
    expect((await walkOf(first.runId, org)).sweep_reason).toBe(`held: would delete 40 of 40 devices of org ${org} (listed empty)`);
    let mark = sim.requests.length;
    const second = await syncOnce(app, 'ax-twice', ['devices']);
    const w2 = await walkOf(second.runId, org);
    expect([w2.sweep, w2.deleted, w2.missing]).toEqual(['held', 0, 0]);
    expect(w2.sweep_reason).toBe(`held: a second complete walk missed the same 40 of 40 devices of org ${org}, but the vendor still has ${HOLD_SAMPLE_SIZE} of those it was asked about (per-id GET answered 2xx); nothing marked`);
    const hold = await env.db.selectFrom('sync_held_sweeps').select('ids').where('source_id', '=', 'ax-twice').executeTakeFirstOrThrow();
    // Only the sample was asked.
    expect(gets(mark)).toEqual(sampleIds(hold.ids, HOLD_SAMPLE_SIZE).map((id) => [id, 200]));
    expect(await deletedIds('ax-twice')).toEqual([]);

    // Now the org is emptied for real, except one device the listing still hides (not in the sample):
    // the sample answers 404 throughout, so the rest is asked; that one answers 200 and is kept.
    const sample = new Set(sampleIds(hold.ids, HOLD_SAMPLE_SIZE));
    const kept = sim.data.servers.find((s) => !sample.has(String(s.id)))!;
    sim.data.servers = [kept];
    mark = sim.requests.length;
    const third = await syncOnce(app, 'ax-twice', ['devices']);
    const w3 = await walkOf(third.runId, org);
    expect([w3.sweep, w3.deleted]).toEqual(['applied', 39]);
    const answered = gets(mark);
    expect(answered.length).toBe(40);
    expect(answered.filter(([, status]) => status === 200)).toEqual([[String(kept.id), 200]]);
    // Every deleted row had its own 404.
    expect(await deletedIds('ax-twice')).toEqual(answered.filter(([, status]) => status === 404).map(([id]) => id).sort());
    expect(await env.db.selectFrom('sync_held_sweeps').select('ids').where('source_id', '=', 'ax-twice').execute()).toEqual([]);
  });

  it('without a per-id GET: a whole scope listed empty twice stays held, the run that finds it exits 3, and only sweep --confirm deletes', async () => {
    const data = generateFamocoData({ seed: 5, orgs: 2, devicesPerOrg: 12 });
    const sim = new FamocoSimulator({ token: TOKEN, data });
    sims.push(sim);
    const origin = await sim.start();
    const config = testConfig([famocoSource('fam-twice', origin, 'TEST_FAMOCO_TOKEN', { rateLimits: { mdm: FAST } })]);
    const file = await dir.writeYaml('fam-twice.yaml', config);
    const app = await env.open(config, vars);
    app.engine.startWorkers();
    const [orgA, orgB] = data.organizations.map((o) => String(o.id)) as [string, string];
    await syncOnce(app, 'fam-twice', ['devices']);
    const devicesOf = (org: string) => `/api/organizations/${org}/devices/`;
    sim.inject({ kind: 'status', status: 200, body: { count: 0, next: null, previous: null, results: [] }, times: Number.POSITIVE_INFINITY, match: (r) => r.path === devicesOf(orgA) });

    const first = await syncOnce(app, 'fam-twice', ['devices']);
    expect((await walkOf(first.runId, orgA)).sweep).toBe('held');
    const again = await runCli(env, file, ['sync', '--source', 'fam-twice', '--resource', 'devices', '--wait'], vars);
    expect(again.code, again.stderr).toBe(3);
    const reason = `held: a second complete walk missed the same 12 of 12 devices of org ${orgA}; a hold of a whole scope is applied only by fleetsync sweep --confirm`;
    expect(again.stdout).toContain(`fam-twice/devices: ${reason}`);
    expect(await deletedIds('fam-twice')).toEqual([]);

    const confirmed = await runCli(env, file, ['sweep', '--source', 'fam-twice', '--resource', 'devices', '--confirm'], vars);
    expect(confirmed.code, confirmed.stderr).toBe(0);
    expect((await deletedIds('fam-twice')).length).toBe(12);

    // A hold of part of a scope is still applied by the second walk that agrees.
    const victims = new Set(data.devices.filter((d) => String(d.organization) === orgB).slice(0, 8).map((d) => d.id));
    expect(victims.size).toBe(8);
    sim.data.devices = sim.data.devices.filter((d) => !victims.has(d.id));
    const held = await syncOnce(app, 'fam-twice', ['devices']);
    expect((await walkOf(held.runId, orgB)).sweep).toBe('held');
    const applied = await walkOf((await syncOnce(app, 'fam-twice', ['devices'])).runId, orgB);
    expect([applied.sweep, applied.deleted]).toEqual(['applied', 8]);
  });
});
