import { sql } from 'kysely';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../src/app.js';
import { toTimestamp } from '../src/normalize.js';
import { AutomoxSimulator, generateAutomoxData, type AutomoxData } from '../src/simulators/automox.js';
import { createTestEnv, type TestEnv } from './helpers.js';
import { automoxSource, FAST, testConfig } from './helpers/config.js';
import { syncOnce } from './helpers/sync.js';
import { expectColumnsFilled, liveRows, sortById } from './helpers/warehouse.js';

const API_KEY = 'test-automox-key-0123456789';
const SOURCE = 'automox-test';

function config(baseUrl: string) {
  // The test simulator has no /servers limit; keep the suite fast.
  return testConfig([automoxSource(SOURCE, baseUrl, 'TEST_AUTOMOX_KEY', { rateLimits: { servers: { ...FAST, concurrency: 2 } } })]);
}

/** Asserts the warehouse holds exactly the simulator's live data, value by value. */
async function expectExact(env: TestEnv, data: AutomoxData) {
  const devices = await liveRows(env, 'devices');
  const servers = sortById(data.servers);
  expect(devices.map((d) => d.external_id)).toEqual(servers.map((s) => String(s.id)));
  for (const [i, s] of servers.entries()) {
    const d = devices[i]!;
    expect(d.source_id).toBe('automox-test');
    expect(d.name).toBe(s.name);
    expect(d.display_name).toBe(s.display_name);
    expect(d.organization_external_id).toBe(String(s.organization_id));
    expect(d.device_group_external_id).toBe(String(s.server_group_id));
    expect(d.serial_number).toBe(s.serial_number === '' ? s.detail.SERIAL : s.serial_number);
    expect([d.compliant, d.is_compatible, d.pending_patches, d.needs_reboot]).toEqual([s.compliant, s.is_compatible, s.pending_patches, s.needs_reboot]);
    expect(d.vendor_last_disconnect_at === null ? null : (d.vendor_last_disconnect_at as Date).toISOString()).toBe(toTimestamp(s.last_disconnect_time));
    expect(d.os_family).toBe(s.os_family);
    expect(d.os_name).toBe(s.os_name);
    expect(d.os_version).toBe(s.os_version);
    expect(d.agent_version).toBe(s.agent_version);
    expect(d.model).toBe(s.detail.MODEL);
    expect((d.vendor_last_seen_at as Date).toISOString()).toBe(toTimestamp(s.last_refresh_time));
    expect((d.vendor_created_at as Date).toISOString()).toBe(toTimestamp(s.create_time));
    expect(d.raw).toEqual(s);
  }
  const live = new Set(data.servers.map((s) => s.id));
  const pkgs = data.packages.filter((p) => live.has(p.server_id));
  const packages = await liveRows(env, 'packages');
  expect(packages.length).toBe(pkgs.length);
  const byId = new Map(packages.map((p) => [p.external_id, p]));
  for (const p of pkgs) {
    const row = byId.get(String(p.id));
    expect(row, `package ${p.id}`).toBeDefined();
    expect(row!.device_external_id).toBe(String(p.server_id));
    expect(row!.name).toBe(p.name);
    expect(row!.severity).toBe(p.severity);
    expect(row!.installed).toBe(p.installed);
    expect(row!.patch_category_id).toBe(p.patch_classification_category_id);
    expect(row!.unmanaged).toBe(!p.is_managed);
    expect(row!.raw).toEqual(p);
  }
  const groups = await liveRows(env, 'device_groups');
  expect(groups.length).toBe(data.groups.length);
  expect(groups.filter((g) => g.is_default).length).toBe(data.orgs.length);
  const orgs = await liveRows(env, 'organizations');
  expect(orgs.map((o) => [o.external_id, o.name])).toEqual(data.orgs.map((o) => [String(o.id), o.name]));
  const cats = await env.db.selectFrom('patch_categories').select(['external_id', 'name']).orderBy(sql`external_id::int`).execute();
  expect(cats.length).toBe(13);
  expect(cats[7]).toEqual({ external_id: '8', name: 'Security Updates' });
}

describe('Automox sync', () => {
  let env: TestEnv;
  let sim: AutomoxSimulator;
  let app: App;

  beforeAll(async () => {
    env = await createTestEnv();
    // Org 2 holds exactly two pages of 5: the walk must ask for a third, empty page.
    sim = new AutomoxSimulator({ apiKey: API_KEY, data: generateAutomoxData({ seed: 11, orgs: 3, devicesPerOrg: [7, 10, 3], packagesPerDevice: 2, unmanagedPerDevice: 1 }) });
    const origin = await sim.start();
    app = await env.open(config(`${origin}/api`), { ...process.env, TEST_AUTOMOX_KEY: API_KEY });
    app.engine.startWorkers();
  });
  afterAll(async () => {
    await sim.stop();
    await env.cleanup();
  });
  afterEach(() => sim.clearFaults());

  it('lands exactly the simulator data, across page boundaries, unicode and unknown fields included', async () => {
    const { run, summary } = await syncOnce(app, SOURCE);
    expect(run.status).toBe('succeeded');
    await expectExact(env, sim.data);
    const org2 = String(sim.data.orgs[1]!.id);
    const org2Pages = sim.requests.filter((r) => r.path === '/api/servers' && r.query.get('o') === org2).map((r) => r.query.get('page'));
    expect(org2Pages).toEqual(['0', '1', '2']);
    expect(sim.data.servers.some((s) => /[^\x00-\x7f]/.test(s.name))).toBe(true);
    expect(sim.data.servers.some((s) => s.x_future_field !== undefined)).toBe(true);
    const devices = summary.resources.find((r) => r.resource === 'devices')!;
    expect(devices.inserted).toBe(sim.data.servers.length);
    expect(devices.walks).toBe(3);
  });

  it('asks /servers for details (include_details=1) and fills every column docs/connectors.md maps, serial from detail.SERIAL when serial_number is empty', async () => {
    const mark = sim.requests.length;
    const { run } = await syncOnce(app, SOURCE);
    expect(run.status).toBe('succeeded');
    const servers = sim.requests.slice(mark).filter((r) => r.path === '/api/servers');
    expect(servers.length).toBeGreaterThan(0);
    expect(servers.every((r) => r.query.get('include_details') === '1')).toBe(true);
    expect(sim.data.servers.some((s) => s.serial_number === '')).toBe(true);
    for (const s of sim.data.servers.filter((x) => x.serial_number === '')) {
      const row = await env.db.selectFrom('devices').select(['serial_number', 'model']).where('external_id', '=', String(s.id)).executeTakeFirstOrThrow();
      expect(row).toEqual({ serial_number: s.detail.SERIAL, model: s.detail.MODEL });
    }
    await expectColumnsFilled(env, 'devices', SOURCE, [
      'organization_external_id', 'device_group_external_id', 'name', 'serial_number', 'model', 'os_family', 'os_name', 'os_version', 'agent_version', 'status',
      'vendor_created_at', 'vendor_updated_at', 'vendor_last_seen_at', 'compliant', 'is_compatible', 'pending_patches', 'needs_reboot', 'vendor_last_disconnect_at',
    ]);
    await expectColumnsFilled(env, 'device_groups', SOURCE, ['organization_external_id', 'name', 'is_default', 'device_count']);
    await expectColumnsFilled(env, 'organizations', SOURCE, ['name', 'vendor_created_at']);
    await expectColumnsFilled(env, 'packages', SOURCE, ['organization_external_id', 'device_external_id', 'name', 'display_name', 'version', 'severity', 'installed', 'patch_category_id', 'vendor_created_at', 'cve_count', 'unmanaged']);
  });

  it('lists software Automox cannot patch too (includeUnmanaged=1), marked unmanaged; devices keep their display_name', async () => {
    const mark = sim.requests.length;
    const { run } = await syncOnce(app, SOURCE, ['packages']);
    expect(run.status).toBe('succeeded');
    const asked = sim.requests.slice(mark).filter((r) => r.path.endsWith('/packages'));
    expect(asked.length).toBeGreaterThan(0);
    expect(asked.every((r) => r.query.get('includeUnmanaged') === '1')).toBe(true);
    const unmanaged = sim.data.packages.filter((p) => !p.is_managed);
    expect(unmanaged.length).toBe(sim.data.servers.length);
    const rows = await env.db.selectFrom('packages').select(['external_id', 'unmanaged']).where('source_id', '=', SOURCE).where('deleted_at', 'is', null).execute();
    expect(rows.filter((r) => r.unmanaged === true).map((r) => r.external_id).sort()).toEqual(unmanaged.map((p) => String(p.id)).sort());
    expect(rows.filter((r) => r.unmanaged === false).length).toBe(sim.data.packages.length - unmanaged.length);
    const named = sim.data.servers.filter((s) => s.display_name !== s.name);
    expect(named.length).toBeGreaterThan(0);
    const devices = await env.db.selectFrom('devices').select(['external_id', 'name', 'display_name']).where('external_id', 'in', named.map((s) => String(s.id))).execute();
    expect(devices.map((d) => [d.external_id, d.name, d.display_name]).sort()).toEqual(named.map((s) => [String(s.id), s.name, s.display_name]).sort());
  });

  it('a 4xx whose body is not Automox\'s {errors: [...]} shows the body text in the message', async () => {
    const org = String(sim.data.orgs[0]!.id);
    sim.inject({ kind: 'status', status: 422, body: { detail: 'o: organization is being migrated' }, match: (r) => r.path === '/api/servergroups' && r.query.get('o') === org });
    const { run } = await syncOnce(app, SOURCE, ['device_groups']);
    expect(run.status).toBe('partial');
    expect(run.error_status).toBe(422);
    expect(run.error_message).toBe(`automox-test/device_groups org ${org} page 0: 422 {"detail":"o: organization is being migrated"}`);
  });

  it('re-syncing unchanged data rewrites no row; deletes and renames are detected; a returning row is revived', async () => {
    const before = await sql<{ n: string; x: string }>`select count(*) as n, string_agg(xmin::text || ':' || external_id, ',' order by external_id) as x from devices`.execute(env.db);
    const pkgBefore = await sql<{ x: string }>`select string_agg(xmin::text, ',' order by external_id) as x from packages`.execute(env.db);
    const again = await syncOnce(app, SOURCE);
    expect(again.run.status).toBe('succeeded');
    for (const r of again.summary.resources) {
      expect([r.resource, r.inserted, r.updated, r.deleted]).toEqual([r.resource, 0, 0, 0]);
    }
    expect(again.summary.resources.find((r) => r.resource === 'devices')!.unchanged).toBe(sim.data.servers.length);
    const after = await sql<{ n: string; x: string }>`select count(*) as n, string_agg(xmin::text || ':' || external_id, ',' order by external_id) as x from devices`.execute(env.db);
    const pkgAfter = await sql<{ x: string }>`select string_agg(xmin::text, ',' order by external_id) as x from packages`.execute(env.db);
    expect(after.rows[0]).toEqual(before.rows[0]); // same tuple versions: nothing rewritten
    expect(pkgAfter.rows[0]).toEqual(pkgBefore.rows[0]);

    const removed = [sim.data.servers[0]!, sim.data.servers[8]!];
    const renamed = sim.data.servers[4]!;
    sim.data.servers = sim.data.servers.filter((s) => !removed.includes(s));
    renamed.name = 'renamed-Ωmega-📦';
    const mark = sim.requests.length;
    const third = await syncOnce(app, SOURCE);
    expect(third.run.status).toBe('succeeded');
    const dev = third.summary.resources.find((r) => r.resource === 'devices')!;
    // deletes: confirm (the default): devices have the vendor's per-id GET, which answers 404
    // for both removed servers, so the first complete walk that misses them marks them deleted ...
    expect([dev.inserted, dev.updated, dev.missing, dev.deleted]).toEqual([0, 1, 0, 2]);
    const asked = sim.requests.slice(mark).filter((r) => /^\/api\/servers\/\d+$/.test(r.path)).map((r) => [r.path, r.query.get('o'), r.status]);
    expect(asked.sort()).toEqual(removed.map((s) => [`/api/servers/${s.id}`, String(s.organization_id), 404]).sort());
    const gone = await env.db.selectFrom('devices').select(['external_id', 'deleted_at']).where('deleted_at', 'is not', null).orderBy('external_id').execute();
    expect(gone.map((g) => g.external_id)).toEqual(removed.map((s) => String(s.id)).sort());
    const row = await env.db.selectFrom('devices').select(['name', 'deleted_at']).where('external_id', '=', String(renamed.id)).executeTakeFirstOrThrow();
    expect(row).toEqual({ name: 'renamed-Ωmega-📦', deleted_at: null });
    // ... while packages, without one, are only marked missing by the first miss and deleted by
    // the next complete walk that misses them too.
    const confirming = await syncOnce(app, SOURCE);
    expect(confirming.summary.resources.find((r) => r.resource === 'devices')!.deleted).toBe(0);
    // Packages of deleted servers disappear from the org's package list too.
    const pkgMissing = third.summary.resources.find((r) => r.resource === 'packages')!.missing;
    const pkgDeleted = confirming.summary.resources.find((r) => r.resource === 'packages')!.deleted;
    expect([pkgMissing, pkgDeleted]).toEqual(Array(2).fill(sim.data.packages.filter((p) => removed.some((s) => s.id === p.server_id)).length));
    await expectExact(env, sim.data);

    sim.data.servers.push(removed[0]!);
    const fourth = await syncOnce(app, SOURCE);
    expect(fourth.summary.resources.find((r) => r.resource === 'devices')!.updated).toBe(1);
    const revived = await env.db.selectFrom('devices').select('deleted_at').where('external_id', '=', String(removed[0]!.id)).executeTakeFirstOrThrow();
    expect(revived.deleted_at).toBeNull();
    await expectExact(env, sim.data);
  });

  it('survives a 429 with retry-after by pausing the lane, without spending attempts', async () => {
    const org = String(sim.data.orgs[0]!.id);
    sim.inject({ kind: 'status', status: 429, headers: { 'retry-after': '1' }, match: (r) => r.path === '/api/servers' && r.query.get('o') === org && r.query.get('page') === '1' });
    const mark = sim.requests.length;
    const { run } = await syncOnce(app, SOURCE, ['devices']);
    expect(run.status).toBe('succeeded');
    const reqs = sim.requests.slice(mark).filter((r) => r.path === '/api/servers' && r.query.get('o') === org);
    // page 0, page 1 (429), page 1 again, no busy retries in between
    expect(reqs.map((r) => [r.query.get('page'), r.status])).toEqual([
      ['0', 200],
      ['1', 429],
      ['1', 200],
    ]);
    expect(reqs[2]!.at - reqs[1]!.at).toBeGreaterThanOrEqual(900);
    const walk = await env.db.selectFrom('sync_walks').select(['status', 'pages']).where('run_id', '=', run.id).where('resource', '=', 'devices').where('scope', '=', org).executeTakeFirstOrThrow();
    expect(walk).toEqual({ status: 'succeeded', pages: 2 });
    await expectExact(env, sim.data);
  });

  it('pauses the lane on x-ratelimit-remaining: 0 until x-ratelimit-reset', async () => {
    // The throttling answer is the root walk's only page, so no other request is in flight
    // when it arrives: everything after it must wait for the reset.
    const reset = Math.ceil((Date.now() + 1500) / 1000);
    sim.inject({
      kind: 'status',
      status: 200,
      body: sim.data.orgs,
      headers: { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(reset) },
      match: (r) => r.path === '/api/orgs',
    });
    const mark = sim.requests.length;
    const { run } = await syncOnce(app, SOURCE, ['device_groups']);
    expect(run.status).toBe('succeeded');
    const after = sim.requests.slice(mark);
    expect(after[0]!.path).toBe('/api/orgs');
    expect(after.length).toBe(1 + sim.data.orgs.length);
    for (const r of after.slice(1)) expect(r.at).toBeGreaterThanOrEqual(reset * 1000 - 20);
  });

  it('survives 5xx bursts and dropped connections with exact data', async () => {
    sim.inject({ kind: 'status', status: 503, times: 4, match: (r) => r.path === '/api/servers' });
    sim.inject({ kind: 'drop', times: 3, match: (r) => r.path.endsWith('/packages') });
    sim.inject({ kind: 'status', status: 500, times: 2, match: (r) => r.path === '/api/orgs' });
    const { run } = await syncOnce(app, SOURCE);
    expect(run.status).toBe('succeeded');
    expect(sim.pendingFaults).toBe(0);
    await expectExact(env, sim.data);
  });

  it('fails a walk on 400 with the vendor message and does not repeat the request', async () => {
    const org = String(sim.data.orgs[1]!.id);
    sim.inject({ kind: 'status', status: 400, body: { errors: ['limit must be between 1 and 500'] }, match: (r) => r.path === '/api/servergroups' && r.query.get('o') === org });
    const mark = sim.requests.length;
    const { run, summary } = await syncOnce(app, SOURCE, ['device_groups']);
    expect(run.status).toBe('partial');
    const tries = sim.requests.slice(mark).filter((r) => r.path === '/api/servergroups' && r.query.get('o') === org);
    expect(tries.length).toBe(1);
    expect(run.error_status).toBe(400);
    expect(run.error_message).toBe(`automox-test/device_groups org ${org} page 0: 400 limit must be between 1 and 500`);
    expect(run.error_request_id).toMatch(/^[0-9a-f]{32}$/);
    const groups = summary.resources.find((r) => r.resource === 'device_groups')!;
    expect(groups.failed).toBe(1);
    // The other orgs' groups landed and nothing was marked deleted by the failed walk.
    const deleted = await env.db.selectFrom('device_groups').select('external_id').where('deleted_at', 'is not', null).execute();
    expect(deleted).toEqual([]);
  });

  it('walks a data set with a NUL byte and an invalid record: repairs one, quarantines the other, loses nothing else', async () => {
    const victim = sim.data.servers[1]!;
    const originalName = victim.name;
    victim.name = 'nul\u0000byte';
    const bad = { ...sim.data.servers[2]!, id: 'not-a-number-id', name: 42 } as unknown as (typeof sim.data.servers)[number];
    sim.data.servers.splice(3, 0, bad);
    try {
      const { run, summary } = await syncOnce(app, SOURCE, ['devices']);
      expect(run.status).toBe('succeeded');
      const row = await env.db.selectFrom('devices').select('name').where('external_id', '=', String(victim.id)).executeTakeFirstOrThrow();
      expect(row.name).toBe('nulbyte');
      const q = await env.db.selectFrom('sync_quarantine').selectAll().execute();
      expect(q.length).toBe(1);
      expect(q[0]!.external_id).toBe('not-a-number-id');
      expect(q[0]!.reason).toMatch(/^automox-test\/devices org \d+ page \d+: invalid record: name: /);
      expect(summary.resources.find((r) => r.resource === 'devices')!.quarantined).toBe(1);
    } finally {
      victim.name = originalName;
      sim.data.servers = sim.data.servers.filter((s) => s !== bad);
    }
  });
});

describe('Automox credentials', () => {
  let env: TestEnv;
  let sim: AutomoxSimulator;

  beforeAll(async () => {
    env = await createTestEnv();
    sim = new AutomoxSimulator({ apiKey: API_KEY, data: generateAutomoxData({ seed: 3, orgs: 1, devicesPerOrg: 2 }) });
  });
  afterAll(async () => {
    await sim.stop();
    await env.cleanup();
  });

  it('fails the run on 401 with a message to check credentials, without retrying and without leaking the key', async () => {
    const origin = await sim.start();
    const wrong = 'wrong-key-SECRET-value';
    const app = await env.open(config(`${origin}/api`), { ...process.env, TEST_AUTOMOX_KEY: wrong });
    app.engine.startWorkers();
    const { run } = await syncOnce(app, SOURCE);
    expect(run.status).toBe('failed');
    expect(run.error_status).toBe(401);
    expect(run.error_message).toContain('check the credentials of source automox-test');
    expect(run.error_message).toContain('401 Unauthorized');
    expect(sim.requests.length).toBe(1);
    const everything = await sql<{ t: string }>`select (select coalesce(json_agg(r), '[]')::text from sync_runs r) || (select coalesce(json_agg(w), '[]')::text from sync_walks w) as t`.execute(env.db);
    expect(everything.rows[0]!.t).not.toContain(wrong);
    const keys = await app.redis.keys(`${env.prefix}:*`);
    for (const k of keys) {
      const type = await app.redis.type(k);
      if (type === 'hash') expect(JSON.stringify(await app.redis.hgetall(k))).not.toContain(wrong);
    }
  });

  it('refuses a config with a bad source before anything runs', async () => {
    await expect(
      env.open({ sources: [{ id: 'a', vendor: 'automox', baseUrl: 'http://example.com/api', credentials: { apiKey: 'k' }, resources: ['devices', 'gizmos'] }] }),
    ).rejects.toThrow(/sources\[0\]\.baseUrl: must be https[\s\S]*sources\[0\]\.resources\[1\]: unknown resource "gizmos"/);
  });
});
