import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../src/app.js';
import { renderOverview, renderRun } from '../src/dashboard-pages.js';
import { createLogger } from '../src/logger.js';
import { AutomoxSimulator, generateAutomoxData, type AutomoxServer } from '../src/simulators/automox.js';
import { FamocoSimulator, generateFamocoData } from '../src/simulators/famoco.js';
import type { FaultMatchInput, HttpSimulator } from '../src/simulators/http-sim.js';
import { collectStatus, formatStatus } from '../src/status.js';
import { applyHeldSweeps } from '../src/warehouse/held-sweeps.js';
import { createTestEnv, type TestEnv } from './helpers.js';
import { runCli } from './helpers/cli.js';
import { automoxSource, FAST, famocoSource, tempDir, testConfig, type TempDir } from './helpers/config.js';
import { syncOnce } from './helpers/sync.js';

const KEY = 'test-automox-key-deletes-0123456789';
/** What the dashboard's pages read, without sources or buttons. */
const pages = (env: TestEnv) => ({ db: env.db, logger: createLogger({ level: 'silent' }), sources: [], csrf: null });
const TOKEN = 'test-famoco-token-deletes-0123456789';
const vars = { ...process.env, TEST_AUTOMOX_KEY: KEY, TEST_FAMOCO_TOKEN: TOKEN };

/**
 * Runs `fn` at the moment the simulator receives each request, before it answers: a fault whose
 * match never fires. This is how a test changes the vendor's data in the middle of a walk.
 */
function onRequest(sim: HttpSimulator, fn: (req: FaultMatchInput) => void): void {
  sim.inject({ kind: 'drop', times: Number.POSITIVE_INFINITY, match: (req) => (fn(req), false) });
}

/** A source's devices with their delete marks, by external id. */
async function marks(env: TestEnv, sourceId: string) {
  const rows = await env.db.selectFrom('devices').select(['external_id', 'scope', 'deleted_at', 'missing_since', 'first_seen_at']).where('source_id', '=', sourceId).orderBy('external_id').execute();
  return new Map(rows.map((r) => [r.external_id, r]));
}

/** Devices of a source with deleted_at or missing_since set. */
async function marked(env: TestEnv, sourceId: string) {
  return env.db
    .selectFrom('devices')
    .select(['external_id', 'deleted_at', 'missing_since'])
    .where('source_id', '=', sourceId)
    .where((eb) => eb.or([eb('deleted_at', 'is not', null), eb('missing_since', 'is not', null)]))
    .orderBy('external_id')
    .execute();
}

function walkOf(env: TestEnv, runId: string, resource: string, scope: string) {
  return env.db.selectFrom('sync_walks').selectAll().where('run_id', '=', runId).where('resource', '=', resource).where('scope', '=', scope).executeTakeFirstOrThrow();
}

const byId = (servers: readonly AutomoxServer[]) => [...servers].sort((a, b) => a.id - b.id);

describe('deletes that a changing listing cannot fake', () => {
  let env: TestEnv;
  let dir: TempDir;
  const sims: HttpSimulator[] = [];

  /** An Automox simulator with its own source and an app working it. */
  async function automox(id: string, devicesPerOrg: number[], extra: Record<string, unknown> = {}) {
    const sim = new AutomoxSimulator({ apiKey: KEY, data: generateAutomoxData({ seed: 7, orgs: devicesPerOrg.length, devicesPerOrg, packagesPerDevice: 0 }) });
    sims.push(sim);
    const origin = await sim.start();
    const config = testConfig([automoxSource(id, `${origin}/api`, 'TEST_AUTOMOX_KEY', { rateLimits: { servers: FAST }, ...extra })]);
    const app: App = await env.open(config, vars);
    app.engine.startWorkers();
    return { sim, app, config };
  }

  beforeAll(async () => {
    env = await createTestEnv();
    dir = await tempDir('fleetsync-deletes-');
  });
  afterAll(async () => {
    for (const s of sims) await s.stop();
    await env.cleanup();
    await dir.remove();
  });

  it('deletes during two page-number walks in a row hide the same device from both: the vendor answers 200 for it, so it is never marked; the truly deleted ones are marked at their first miss, on its 404', async () => {
    const { sim, app } = await automox('ax-churn', [12]);
    const org = String(sim.data.orgs[0]!.id);
    await syncOnce(app, 'ax-churn', ['devices']);
    const before = await marks(env, 'ax-churn');
    expect(before.size).toBe(12);

    // Pages of 5 in id order. Walk 1: while it asks for page 1, the third device (page 0,
    // already read) is deleted, so the sixth shifts onto page 0 and is on no page the walk reads.
    const sorted = byId(sim.data.servers);
    const hidden = sorted[5]!;
    let deleteAtPage1: AutomoxServer | null = sorted[2]!;
    onRequest(sim, (r) => {
      if (deleteAtPage1 && r.path === '/api/servers' && r.query.get('o') === org && r.query.get('page') === '1') {
        const victim = deleteAtPage1;
        deleteAtPage1 = null;
        sim.data.servers = sim.data.servers.filter((s) => s !== victim);
      }
    });
    let mark = sim.requests.length;
    const first = await syncOnce(app, 'ax-churn', ['devices']);
    expect(deleteAtPage1).toBeNull();
    const w1 = await walkOf(env, first.runId, 'devices', org);
    expect([w1.records, w1.seen_ids, w1.sweep, w1.missing, w1.deleted]).toEqual([11, 11, 'swept', 0, 0]);
    const askedOf = (from: number) => sim.requests.slice(from).filter((r) => r.path.startsWith('/api/servers/')).map((r) => [r.path, r.status]);
    expect(askedOf(mark)).toEqual([[`/api/servers/${hidden.id}`, 200]]);
    expect(await marked(env, 'ax-churn')).toEqual([]);

    // Walk 2: a new device with the smallest id lands on page 0 before the walk, and the first
    // old device is deleted while it asks for page 1: the same device is hidden again. Under
    // "two misses delete" it would now be marked deleted although the vendor listed it throughout.
    const newcomer: AutomoxServer = { ...structuredClone(sorted[0]!), id: sorted[0]!.id - 1000, name: 'newcomer' };
    sim.data.servers.push(newcomer);
    deleteAtPage1 = sorted[0]!;
    mark = sim.requests.length;
    const second = await syncOnce(app, 'ax-churn', ['devices']);
    expect(deleteAtPage1).toBeNull();
    const w2 = await walkOf(env, second.runId, 'devices', org);
    expect([w2.sweep, w2.missing, w2.deleted]).toEqual(['swept', 0, 1]);
    expect(askedOf(mark).sort()).toEqual([
      [`/api/servers/${hidden.id}`, 200],
      [`/api/servers/${sorted[2]!.id}`, 404],
    ].sort());
    expect((await marked(env, 'ax-churn')).map((r) => [r.external_id, r.deleted_at !== null, r.missing_since !== null])).toEqual([[String(sorted[2]!.id), true, true]]);

    // A quiet walk: the device deleted during walk 2 (seen on its page 0) is missed now and gone.
    await syncOnce(app, 'ax-churn', ['devices']);
    expect((await marked(env, 'ax-churn')).map((r) => [r.external_id, r.deleted_at !== null])).toEqual([[String(sorted[0]!.id), true], [String(sorted[2]!.id), true]].sort());
    const hiddenRow = (await marks(env, 'ax-churn')).get(String(hidden.id))!;
    expect([hiddenRow.deleted_at, hiddenRow.missing_since, hiddenRow.first_seen_at]).toEqual([null, null, before.get(String(hidden.id))!.first_seen_at]);

    // A device that comes back is revived and keeps its first_seen_at.
    sim.clearFaults();
    sim.data.servers.push(sorted[2]!);
    await syncOnce(app, 'ax-churn', ['devices']);
    const back = (await marks(env, 'ax-churn')).get(String(sorted[2]!.id))!;
    expect([back.deleted_at, back.missing_since, back.first_seen_at]).toEqual([null, null, before.get(String(sorted[2]!.id))!.first_seen_at]);
  });

  it('a question the vendor does not answer (503) leaves the missed device missing, not deleted, even at its second miss; the walk says so; a later 404 deletes it', async () => {
    const { sim, app } = await automox('ax-ask', [8]);
    const org = String(sim.data.orgs[0]!.id);
    await syncOnce(app, 'ax-ask', ['devices']);
    const gone = byId(sim.data.servers)[3]!;
    sim.data.servers = sim.data.servers.filter((s) => s !== gone);
    sim.inject({ kind: 'status', status: 503, body: { errors: ['Service Unavailable'] }, times: Number.POSITIVE_INFINITY, match: (r) => r.path === `/api/servers/${gone.id}` });
    for (const n of [1, 2]) {
      const { runId, run } = await syncOnce(app, 'ax-ask', ['devices']);
      expect(run.status).toBe('succeeded');
      const w = await walkOf(env, runId, 'devices', org);
      expect([n, w.sweep, w.missing, w.deleted]).toEqual([n, 'swept', n === 1 ? 1 : 0, 0]);
      expect(w.sweep_reason).toMatch(/^1 missed row not confirmed by the vendor \(asking for \d+: .*503.*\): kept as missing, asked again by the next walk$/);
      expect((await marked(env, 'ax-ask')).map((r) => [r.external_id, r.deleted_at, r.missing_since !== null])).toEqual([[String(gone.id), null, true]]);
    }
    sim.clearFaults();
    const { runId } = await syncOnce(app, 'ax-ask', ['devices']);
    expect((await walkOf(env, runId, 'devices', org)).deleted).toBe(1);
    expect((await marked(env, 'ax-ask')).map((r) => [r.external_id, r.deleted_at !== null])).toEqual([[String(gone.id), true]]);
  });

  it('an organization listed empty holds its sweep: nothing marked, status, dashboard and metrics show it, sync --wait exits 3; sweep --confirm applies it, a walk that agrees keeps another while the vendor answers 200, a listing that recovers revives', async () => {
    const { sim, app, config } = await automox('ax-glitch', [200, 30], { pageSize: 100 });
    const file = await dir.writeYaml('glitch.yaml', config);
    const [orgA, orgB] = sim.data.orgs.map((o) => String(o.id)) as [string, string];
    await syncOnce(app, 'ax-glitch', ['devices']);
    const landed = await marks(env, 'ax-glitch');
    expect(landed.size).toBe(230);

    // The vendor answers org A's device list with an empty page.
    const emptyFor = (org: string) => sim.inject({ kind: 'status', status: 200, body: [], times: Number.POSITIVE_INFINITY, match: (r) => r.path === '/api/servers' && r.query.get('o') === org });
    emptyFor(orgA);
    const held = `held: would delete 200 of 200 devices of org ${orgA} (listed empty)`;
    const sync = await runCli(env, file, ['sync', '--source', 'ax-glitch', '--resource', 'devices', '--wait'], vars);
    expect(sync.stderr).toContain('succeeded, but 1 sweep was held');
    expect(sync.code, sync.stderr).toBe(3);
    expect(sync.stdout).toContain(`ax-glitch/devices: ${held}`);
    expect(await marked(env, 'ax-glitch')).toEqual([]);
    const run = await env.db.selectFrom('sync_runs').selectAll().where('source_id', '=', 'ax-glitch').orderBy('id', 'desc').limit(1).executeTakeFirstOrThrow();
    expect(run.status).toBe('succeeded');
    const hw = await walkOf(env, run.id, 'devices', orgA);
    expect([hw.sweep, hw.sweep_reason, hw.deleted, hw.missing]).toEqual(['held', held, 0, 0]);

    const status = await runCli(env, file, ['status', '--json'], vars);
    const heldSweeps = (JSON.parse(status.stdout) as Array<{ sourceId: string; heldSweeps: Array<{ resource: string; scope: string; rows: number; message: string }> }>)[0]!.heldSweeps;
    expect(heldSweeps.map((h) => [h.resource, h.scope, h.rows, h.message])).toEqual([['devices', orgA, 200, held]]);
    expect((await runCli(env, file, ['status'], vars)).stdout).toContain(`${held} since `);
    expect(await renderOverview(pages(env), 5)).toContain(held);
    expect(await app.metrics.registry.metrics()).toContain('fleetsync_held_sweeps{source="ax-glitch",resource="devices"} 1');

    // Without --confirm: says what it would do, changes nothing.
    const dry = await runCli(env, file, ['sweep', '--source', 'ax-glitch', '--resource', 'devices'], vars);
    expect([dry.code, dry.stdout]).toEqual([0, expect.stringContaining(`${held} (walk ${hw.id}, `)]);
    expect(await marked(env, 'ax-glitch')).toEqual([]);
    const applied = await runCli(env, file, ['sweep', '--source', 'ax-glitch', '--resource', 'devices', '--scope', orgA, '--confirm'], vars);
    expect(applied.code, applied.stderr).toBe(0);
    expect(applied.stdout).toContain(`applied: deleted 200 of 200 devices of org ${orgA} (listed empty); 200 rows marked deleted now`);
    const deleted = await marked(env, 'ax-glitch');
    expect(deleted.length).toBe(200);
    expect(deleted.every((d) => d.deleted_at !== null && landed.get(d.external_id)!.scope !== orgB)).toBe(true);
    expect(await env.db.selectFrom('sync_held_sweeps').selectAll().execute()).toEqual([]);
    expect(await app.metrics.registry.metrics()).not.toContain('fleetsync_held_sweeps{source="ax-glitch"');
    expect((await walkOf(env, run.id, 'devices', orgA)).sweep).toBe('applied');
    expect((await runCli(env, file, ['sweep', '--source', 'ax-glitch', '--resource', 'devices', '--confirm'], vars)).code).toBe(1);

    // Org B listed empty twice: the first walk holds; the second agrees (misses the same rows), but
    // the vendor's per-id GET still answers 200 for its sample, so the hold stays (held-sweeps.test.ts).
    emptyFor(orgB);
    const first = await syncOnce(app, 'ax-glitch', ['devices']);
    expect((await walkOf(env, first.runId, 'devices', orgB)).sweep_reason).toBe(`held: would delete 30 of 30 devices of org ${orgB} (listed empty)`);
    const agreeing = await syncOnce(app, 'ax-glitch', ['devices']);
    const aw = await walkOf(env, agreeing.runId, 'devices', orgB);
    expect([aw.sweep, aw.deleted]).toEqual(['held', 0]);
    expect((await marked(env, 'ax-glitch')).filter((d) => d.deleted_at !== null).length).toBe(200);

    // The glitch ends: every device is listed again, revived, with its first_seen_at.
    sim.clearFaults();
    await syncOnce(app, 'ax-glitch', ['devices']);
    expect(await marked(env, 'ax-glitch')).toEqual([]);
    const after = await marks(env, 'ax-glitch');
    for (const [id, row] of landed) expect(after.get(id)!.first_seen_at).toEqual(row.first_seen_at);
  });

  it('a walk that quarantined a record without a usable id does not sweep its scope', async () => {
    const { sim, app } = await automox('ax-quarantine', [8]);
    const org = String(sim.data.orgs[0]!.id);
    await syncOnce(app, 'ax-quarantine', ['devices']);
    // Page 0 arrives with the second device's id as an object: the record cannot be identified.
    const page0 = byId(sim.data.servers).slice(0, 5).map((s, i) => (i === 1 ? { ...s, id: { value: s.id } } : s));
    sim.inject({ kind: 'status', status: 200, body: page0, match: (r) => r.path === '/api/servers' && r.query.get('o') === org && r.query.get('page') === '0' });
    const { runId, summary } = await syncOnce(app, 'ax-quarantine', ['devices']);
    const w = await walkOf(env, runId, 'devices', org);
    expect([w.quarantined, w.unidentified, w.sweep, w.deleted, w.missing]).toEqual([1, 1, 'skipped', 0, 0]);
    expect(w.sweep_reason).toBe(`skipped: 1 quarantined record without a usable id; a missed row may be one of them, so nothing of devices of org ${org} was marked`);
    expect(await marked(env, 'ax-quarantine')).toEqual([]);
    expect(summary.resources.find((r) => r.resource === 'devices')!.sweeps).toEqual([{ scope: org, outcome: 'skipped', message: w.sweep_reason }]);
  });

  it('a walk that cannot sweep still takes the rows it listed out of a held sweep, so confirming it never deletes them', async () => {
    const { sim, app } = await automox('ax-prune', [10]);
    const org = String(sim.data.orgs[0]!.id);
    await syncOnce(app, 'ax-prune', ['devices']);
    const sorted = byId(sim.data.servers);
    const page = (n: string) => (r: FaultMatchInput) => r.path === '/api/servers' && r.query.get('o') === org && r.query.get('page') === n;
    // A glitch lists only the first 2 of 10: the other 8 are held.
    sim.inject({ kind: 'status', status: 200, body: sorted.slice(0, 2), match: page('0') });
    const glitch = await syncOnce(app, 'ax-prune', ['devices']);
    expect((await walkOf(env, glitch.runId, 'devices', org)).sweep_reason).toBe(`held: would delete 8 of 10 devices of org ${org} (more than maxDeleteShare 0.5)`);
    // The next walk lists devices 2-5 and one record without an id, then an empty page: it
    // cannot sweep, but devices 2-5 exist.
    sim.inject({ kind: 'status', status: 200, body: sorted.slice(0, 5).map((s, i) => (i === 0 ? { ...s, id: null } : s)), match: page('0') });
    sim.inject({ kind: 'status', status: 200, body: [], match: page('1') });
    const skipped = await syncOnce(app, 'ax-prune', ['devices']);
    expect((await walkOf(env, skipped.runId, 'devices', org)).sweep).toBe('skipped');
    const hold = await env.db.selectFrom('sync_held_sweeps').select('ids').where('source_id', '=', 'ax-prune').executeTakeFirstOrThrow();
    expect(hold.ids).toEqual(sorted.slice(5).map((s) => String(s.id)).sort());
    expect(await applyHeldSweeps(env.db, 'ax-prune', 'devices')).toEqual([{ scope: org, message: `held: would delete 8 of 10 devices of org ${org} (more than maxDeleteShare 0.5)`, deleted: 5 }]);
    expect((await marked(env, 'ax-prune')).map((r) => r.external_id)).toEqual(sorted.slice(5).map((s) => String(s.id)).sort());
  });

  it('a walk that saw fewer distinct ids than the vendor total is inconsistent and does not sweep; status and the dashboard show it', async () => {
    const data = generateFamocoData({ seed: 3, orgs: 1, devicesPerOrg: 12 });
    const sim = new FamocoSimulator({ token: TOKEN, data });
    sims.push(sim);
    const origin = await sim.start();
    const app = await env.open(testConfig([famocoSource('fam-total', origin, 'TEST_FAMOCO_TOKEN', { rateLimits: { mdm: FAST } })]), vars);
    app.engine.startWorkers();
    await syncOnce(app, 'fam-total', ['devices']);
    const org = String(data.organizations[0]!.id);
    // While page 2 is asked for, a device of page 1 is deleted: count falls from 12 to 11 and
    // the sixth device shifts onto page 1, which the walk has read.
    const victim = [...data.devices].sort((a, b) => a.id - b.id)[1]!;
    onRequest(sim, (r) => {
      if (r.path === `/api/organizations/${org}/devices/` && r.query.get('page') === '2' && sim.data.devices.includes(victim)) sim.data.devices = sim.data.devices.filter((d) => d !== victim);
    });
    const { runId, run } = await syncOnce(app, 'fam-total', ['devices']);
    expect(run.status).toBe('succeeded');
    const w = await walkOf(env, runId, 'devices', org);
    const reason = `inconsistent: saw 11 distinct ids, the vendor reported a total of 12 devices of org ${org}; nothing marked`;
    expect([w.seen_ids, w.total_max, w.total, w.sweep, w.sweep_reason, w.deleted, w.missing]).toEqual([11, 12, 11, 'inconsistent', reason, 0, 0]);
    expect(await marked(env, 'fam-total')).toEqual([]);
    const status = formatStatus(await collectStatus(env.db, app.engine, ['fam-total'], () => 'famoco', () => ['organizations', 'devices']));
    expect(status).toContain(`devices: ${reason}`);
    expect(await renderRun(pages(env), runId)).toContain(reason);
  });

  it('deletes: immediate keeps the one-walk behaviour', async () => {
    const { sim, app } = await automox('ax-immediate', [9], { deletes: 'immediate' });
    const org = String(sim.data.orgs[0]!.id);
    await syncOnce(app, 'ax-immediate', ['devices']);
    const gone = sim.data.servers[3]!;
    sim.data.servers = sim.data.servers.filter((s) => s !== gone);
    const { runId } = await syncOnce(app, 'ax-immediate', ['devices']);
    const w = await walkOf(env, runId, 'devices', org);
    expect([w.sweep, w.deleted, w.missing]).toEqual(['swept', 1, 0]);
    const rows = await marked(env, 'ax-immediate');
    expect(rows.map((r) => [r.external_id, r.deleted_at !== null, r.missing_since !== null])).toEqual([[String(gone.id), true, true]]);
    const n = await sql<{ n: number }>`select count(*)::int as n from devices where source_id = 'ax-immediate' and deleted_at is null`.execute(env.db);
    expect(n.rows[0]!.n).toBe(8);
  });
});
