import { sql } from 'kysely';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../src/app.js';
import { generateIzumaData, IzumaSimulator, type IzumaData } from '../src/simulators/izuma.js';
import { createTestEnv, type TestEnv } from './helpers.js';
import { FAST, izumaSource, SLOW, testConfig } from './helpers/config.js';
import { syncOnce } from './helpers/sync.js';
import { expectColumnsFilled, expectDevicesRaw, liveRows } from './helpers/warehouse.js';
import { finishWithNewWorker, killMidWalk, useWorkerFixture } from './helpers/worker.js';

const API_KEY = 'ak_test0123456789abcdef0123456789ab';
const SOURCE = 'izuma-test';

function config(origin: string) {
  return testConfig([izumaSource(SOURCE, origin, 'TEST_IZUMA_KEY', { rateLimits: { api: { ...FAST, concurrency: 2 } } })]);
}

const iso = (v: unknown) => (v === null ? null : (v as Date).toISOString());

/** Asserts the warehouse holds exactly the simulator's live devices, value by value. */
async function expectExactDevices(env: TestEnv, data: IzumaData) {
  const rows = await liveRows(env, 'devices', SOURCE);
  expect(rows.map((r) => r.external_id)).toEqual(data.devices.map((d) => d.id).sort());
  const byId = new Map(data.devices.map((d) => [d.id, d]));
  for (const r of rows) {
    const d = byId.get(String(r.external_id))!;
    expect(r.scope).toBe('-');
    expect(r.organization_external_id).toBe(d.account_id);
    expect(r.device_group_external_id).toBe(d.groups.length === 1 ? d.groups[0] : null);
    expect(r.name).toBe(d.name);
    expect(r.serial_number).toBe(d.serial_number);
    expect(r.model).toBe(d.device_class || null);
    expect(r.status).toBe(d.state);
    expect(iso(r.vendor_created_at)).toBe(d.created_at);
    expect(iso(r.vendor_updated_at)).toBe(d.updated_at);
    expect(r.raw).toEqual(d);
  }
}

async function expectExact(env: TestEnv, data: IzumaData) {
  await expectExactDevices(env, data);
  const orgs = await env.db.selectFrom('organizations').selectAll().where('source_id', '=', SOURCE).execute();
  expect(orgs.map((o) => [o.external_id, o.name, iso(o.vendor_created_at), o.parent_external_id])).toEqual([[data.account.id, data.account.display_name, data.account.created_at, data.account.parent_id]]);
  expect(data.account.parent_id).toMatch(/^[0-9a-f]{32}$/);
  expect(orgs[0]!.raw).toEqual(data.account);
  const groups = await liveRows(env, 'device_groups', SOURCE);
  expect(groups.map((g) => [g.external_id, g.name, g.device_count])).toEqual(data.groups.map((g) => [g.id, g.name, g.devices_count]));
  const images = await liveRows(env, 'firmware_images', SOURCE);
  expect(images.map((f) => [f.external_id, f.name, f.description, f.datafile_url, f.datafile_checksum, f.datafile_size, iso(f.vendor_created_at)])).toEqual(
    data.firmwareImages.map((f) => [f.id, f.name, f.description, f.datafile, f.datafile_checksum, String(f.datafile_size), f.created_at]),
  );
  for (const [i, f] of data.firmwareImages.entries()) expect(images[i]!.raw).toEqual(f);
}

describe('Izuma sync', () => {
  let env: TestEnv;
  let sim: IzumaSimulator;
  let app: App;

  beforeAll(async () => {
    env = await createTestEnv();
    sim = new IzumaSimulator({ apiKey: API_KEY, data: generateIzumaData({ seed: 7, devices: 23, groups: 4, firmwareImages: 3 }) });
    const origin = await sim.start();
    app = await env.open(config(origin), { ...process.env, TEST_IZUMA_KEY: API_KEY });
    app.engine.startWorkers();
  });
  afterAll(async () => {
    await sim.stop();
    await env.cleanup();
  });
  afterEach(() => {
    sim.clearFaults();
    sim.stuckAfter = false;
  });

  it('lands exactly the simulator data: account, groups, devices across pages, firmware images', async () => {
    // Asked for incremental, but with no high-water mark yet every walk runs full.
    const { run, summary } = await syncOnce(app, SOURCE, undefined, 'incremental');
    expect(run.status).toBe('succeeded');
    await expectExact(env, sim.data);
    const ids = sim.data.devices.map((d) => d.id).sort();
    const reqs = sim.requests.filter((r) => r.path === '/v3/devices');
    expect(reqs.map((r) => [r.query.get('limit'), r.query.get('order'), r.query.get('after'), r.query.get('include'), r.status])).toEqual([
      ['5', 'ASC', null, 'total_count', 200],
      ['5', 'ASC', ids[4], null, 200],
      ['5', 'ASC', ids[9], null, 200],
      ['5', 'ASC', ids[14], null, 200],
      ['5', 'ASC', ids[19], null, 200],
    ]);
    const walk = await env.db
      .selectFrom('sync_walks')
      .select(['mode', 'pages', 'records', 'total', 'high_water_mark'])
      .where('run_id', '=', run.id)
      .where('resource', '=', 'devices')
      .executeTakeFirstOrThrow();
    const maxUpdated = sim.data.devices.map((d) => d.updated_at).sort().at(-1);
    expect({ ...walk, high_water_mark: iso(walk.high_water_mark) }).toEqual({ mode: 'full', pages: 5, records: 23, total: 23, high_water_mark: maxUpdated });
    expect(summary.resources.map((r) => [r.resource, r.inserted])).toEqual([
      ['organizations', 1],
      ['device_groups', 4],
      ['devices', 23],
      ['firmware_images', 3],
    ]);
    // The key only ever travels in the Authorization header.
    for (const r of sim.requests) expect(r.query.toString()).not.toContain(API_KEY);
  });

  it('keeps int64 firmware sizes of 2 GiB and more, and fills every column docs/connectors.md maps', async () => {
    const { run } = await syncOnce(app, SOURCE);
    expect(run.status).toBe('succeeded');
    const big = sim.data.firmwareImages.filter((f) => f.datafile_size >= 2 ** 31);
    expect(big.length).toBeGreaterThan(0);
    for (const f of big) {
      const row = await env.db.selectFrom('firmware_images').select('datafile_size').where('external_id', '=', f.id).executeTakeFirstOrThrow();
      expect(row.datafile_size).toBe(String(f.datafile_size)); // bigint arrives as text, exact
    }
    await expectColumnsFilled(env, 'firmware_images', SOURCE, ['name', 'description', 'datafile_url', 'datafile_checksum', 'datafile_size', 'vendor_created_at', 'vendor_updated_at']);
    await expectColumnsFilled(env, 'devices', SOURCE, ['organization_external_id', 'device_group_external_id', 'name', 'serial_number', 'model', 'status', 'vendor_created_at', 'vendor_updated_at']);
    await expectColumnsFilled(env, 'device_groups', SOURCE, ['name', 'device_count', 'vendor_created_at', 'vendor_updated_at']);
    await expectColumnsFilled(env, 'organizations', SOURCE, ['name', 'vendor_created_at', 'vendor_updated_at']);
  });

  it('an incremental run fetches only changed devices since the mark minus the overlap, lands them, and never marks deletes', async () => {
    const mark = Date.parse(sim.data.devices.map((d) => d.updated_at).sort().at(-1)!);
    const since = new Date(mark - 5 * 60_000).toISOString();
    const touched = [sim.data.devices[2]!, sim.data.devices[11]!, sim.data.devices[20]!];
    sim.updateDevice(touched[0]!.id, { name: 'renamed-Δ-😀' });
    sim.updateDevice(touched[1]!.id, { state: 'deregistered' });
    sim.touchDevice(touched[2]!.id);
    const removed = sim.data.devices[6]!;
    sim.deleteDevice(removed.id);
    const added = sim.addDevice({ name: 'brand-new' });
    // What the vendor answers: the changes, plus unchanged devices updated within the overlap.
    const changed = new Set([...touched.map((d) => d.id), added.id]);
    const returned = sim.data.devices.filter((d) => Date.parse(d.updated_at) >= Date.parse(since));
    const inOverlap = returned.filter((d) => !changed.has(d.id)).length;
    expect(inOverlap).toBeGreaterThanOrEqual(1); // at least the device that set the mark
    expect(returned.length).toBeLessThan(sim.data.devices.length / 2);

    const reqMark = sim.requests.length;
    const { run, summary } = await syncOnce(app, SOURCE, ['devices'], 'incremental');
    expect(run.status).toBe('succeeded');
    expect(run.mode).toBe('incremental');
    const reqs = sim.requests.slice(reqMark).filter((r) => r.path === '/v3/devices');
    expect(reqs.length).toBe(Math.max(1, Math.ceil(returned.length / 5)));
    for (const r of reqs) expect(r.query.get('updated_at__gte')).toBe(since);
    const walk = await env.db.selectFrom('sync_walks').selectAll().where('run_id', '=', run.id).where('resource', '=', 'devices').executeTakeFirstOrThrow();
    expect(walk.mode).toBe('incremental');
    expect(iso(walk.since)).toBe(since);
    expect(walk.total).toBe(returned.length);
    const dev = summary.resources.find((r) => r.resource === 'devices')!;
    expect([dev.records, dev.inserted, dev.updated, dev.unchanged, dev.deleted]).toEqual([returned.length, 1, 3, inOverlap, 0]);
    expect(iso(walk.high_water_mark)).toBe(sim.data.devices.map((d) => d.updated_at).sort().at(-1));

    // The deleted device is still there (incremental walks cannot see deletes) ...
    const gone = await env.db.selectFrom('devices').select('deleted_at').where('source_id', '=', SOURCE).where('external_id', '=', removed.id).executeTakeFirstOrThrow();
    expect(gone.deleted_at).toBeNull();
    const renamed = await env.db.selectFrom('devices').select(['name']).where('external_id', '=', touched[0]!.id).executeTakeFirstOrThrow();
    expect(renamed.name).toBe('renamed-Δ-😀');
    const fresh = await env.db.selectFrom('devices').select(['name']).where('external_id', '=', added.id).executeTakeFirstOrThrow();
    expect(fresh.name).toBe('brand-new');

    // ... until the next full walk, which asks Izuma about the device it missed (GET /v3/devices/{id}):
    // the 404 marks it deleted at once (deletes: confirm).
    const asked = sim.requests.length;
    const full = await syncOnce(app, SOURCE, ['devices'], 'full');
    expect(full.summary.resources.find((r) => r.resource === 'devices')!.deleted).toBe(1);
    expect(sim.requests.slice(asked).filter((r) => r.path === `/v3/devices/${removed.id}`).map((r) => r.status)).toEqual([404]);
    await expectExactDevices(env, sim.data);
  });

  it('an incremental run walks fully when the last full walk is older than fullWalkEvery (default 7d), and for resources without incremental support', async () => {
    // firmware_images has no incremental support: always full.
    const { run } = await syncOnce(app, SOURCE, ['devices', 'firmware_images'], 'incremental');
    const walks = await env.db.selectFrom('sync_walks').select(['resource', 'mode']).where('run_id', '=', run.id).orderBy('resource').execute();
    expect(walks).toEqual([
      { resource: 'devices', mode: 'incremental' },
      { resource: 'firmware_images', mode: 'full' },
    ]);
    await sql`update sync_walks set started_at = now() - interval '8 days' where source_id = ${SOURCE} and resource = 'devices' and mode = 'full'`.execute(env.db);
    const again = await syncOnce(app, SOURCE, ['devices'], 'incremental');
    expect(again.run.status).toBe('succeeded');
    const walk = await env.db.selectFrom('sync_walks').select(['mode', 'since', 'records']).where('run_id', '=', again.run.id).executeTakeFirstOrThrow();
    expect(walk).toEqual({ mode: 'full', since: null, records: sim.data.devices.length });
    const last = sim.requests.filter((r) => r.path === '/v3/devices').at(-1)!;
    expect(last.query.has('updated_at__gte')).toBe(false);
  });

  it('a 429 with Retry-After pauses the lane, then the walk finishes exact, without busy retries', async () => {
    const ids = sim.data.devices.map((d) => d.id).sort();
    sim.inject({ kind: 'status', status: 429, headers: { 'Retry-After': '1' }, match: (r) => r.path === '/v3/devices' && r.query.get('after') === ids[9] });
    const mark = sim.requests.length;
    const { run } = await syncOnce(app, SOURCE, ['devices']);
    expect(run.status).toBe('succeeded');
    const reqs = sim.requests.slice(mark).filter((r) => r.path === '/v3/devices');
    expect(reqs.map((r) => [r.query.get('after'), r.status])).toEqual([
      [null, 200],
      [ids[4], 200],
      [ids[9], 429],
      [ids[9], 200],
      [ids[14], 200],
      [ids[19], 200],
    ]);
    expect(reqs[3]!.at - reqs[2]!.at).toBeGreaterThanOrEqual(900);
    await expectExactDevices(env, sim.data);
  });

  it('has_more: true with an after that does not advance fails the walk as a pagination loop', async () => {
    sim.stuckAfter = true;
    const mark = sim.requests.length;
    const { run } = await syncOnce(app, SOURCE, ['devices']);
    expect(run.status).toBe('failed');
    const ids = sim.data.devices.map((d) => d.id).sort();
    expect(run.error_message).toBe(`${SOURCE}/devices scope - page 1: pagination loop: the next cursor repeats after=${ids[4]}`);
    expect(sim.requests.length - mark).toBe(2);
    // A failed walk marks nothing deleted.
    const deleted = await env.db.selectFrom('devices').select('external_id').where('source_id', '=', SOURCE).where('deleted_at', 'is not', null).execute();
    expect(deleted.length).toBe(1); // the one deleted in the incremental test
  });

  it('a 400 validation error lands type, message, per-field messages and the request id in the run and walk', async () => {
    sim.inject({
      kind: 'status',
      status: 400,
      body: {
        object: 'error',
        code: 400,
        type: 'validation_error',
        message: 'Validation error',
        fields: [
          { name: 'limit', message: 'Limit must be an integer between 2 and 1000.' },
          { name: 'order', message: 'Order must be ASC or DESC.' },
        ],
        request_id: '0123456789abcdef0123456789abcdef',
      },
      match: (r) => r.path === '/v3/firmware-images',
    });
    const mark = sim.requests.length;
    const { run } = await syncOnce(app, SOURCE, ['firmware_images']);
    expect(run.status).toBe('failed');
    expect(sim.requests.slice(mark).length).toBe(1);
    const message = `${SOURCE}/firmware_images scope - page 0: 400 validation_error: Validation error (limit: Limit must be an integer between 2 and 1000.; order: Order must be ASC or DESC.)`;
    expect([run.error_status, run.error_message]).toEqual([400, message]);
    // X-Request-ID header (the simulator's own id for the response) wins over the body's copy.
    expect(run.error_request_id).toMatch(/^[0-9a-f]{32}$/);
    const walk = await env.db.selectFrom('sync_walks').select(['status', 'error_status', 'error_message', 'error_request_id']).where('run_id', '=', run.id).executeTakeFirstOrThrow();
    expect(walk).toEqual({ status: 'failed', error_status: 400, error_message: message, error_request_id: run.error_request_id });
  });
});

describe('Izuma: a worker killed with SIGKILL mid-walk', () => {
  let sim: IzumaSimulator;
  const fx = useWorkerFixture({
    dirPrefix: 'fleetsync-izuma-crash-',
    start: async () => {
      sim = new IzumaSimulator({ apiKey: API_KEY, data: generateIzumaData({ seed: 13, devices: 120 }) });
      const origin = await sim.start();
      const config = testConfig([izumaSource('izuma-crash', origin, 'CRASH_KEY', { rateLimits: { api: { ...SLOW, concurrency: 2 } } })]);
      return { config, keys: { CRASH_KEY: API_KEY }, stop: () => sim.stop() };
    },
  });

  it('resumes from the stored after cursor in a new worker and ends exact', async () => {
    const { env, app } = fx;
    const { runId } = await app.engine.startRun('izuma-crash', { trigger: 'test', resources: ['devices'] });
    const atKill = await killMidWalk(fx, runId, 6);
    expect(atKill).toBeLessThan(24);

    await finishWithNewWorker(fx, runId, atKill);
    await expectDevicesRaw(env, [...sim.data.devices].sort((a, b) => (a.id < b.id ? -1 : 1)));
    const walk = await env.db.selectFrom('sync_walks').selectAll().where('run_id', '=', runId).executeTakeFirstOrThrow();
    expect([walk.status, walk.pages, walk.records, walk.inserted, walk.updated, walk.total]).toEqual(['succeeded', 24, 120, 120, 0, 120]);
    // Each `after` was asked for at most twice (once more only for the page in flight at the kill).
    const afters = sim.requests.map((r) => r.query.get('after') ?? '-');
    const counts = new Map<string, number>();
    for (const a of afters) counts.set(a, (counts.get(a) ?? 0) + 1);
    expect(Math.max(...counts.values())).toBeLessThanOrEqual(2);
  });
});
