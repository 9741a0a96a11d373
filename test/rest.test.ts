import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import type { App } from '../src/app.js';
import { toTimestamp } from '../src/normalize.js';
import { generatePartnerData, PartnerSimulator, type PartnerData } from '../src/simulators/partner.js';
import { createTestEnv, TEST_WORKER, type TestEnv } from './helpers.js';
import { syncOnce } from './helpers/sync.js';
import { liveRows, sortById } from './helpers/warehouse.js';

const CLIENT_ID = 'partner-client';
const CLIENT_SECRET = 'partner-secret-7d3a';
const SOURCE = 'partner-test';
// Scaled down from the documented 200 burst + 100/min so the test takes seconds, not minutes;
// the simulator enforces exactly the same bucket.
const BUCKET = { capacity: 20, refillPerMinute: 600 };

/** The whole source, in YAML only: no code knows this API. */
const YAML = `
sources:
  - id: ${SOURCE}
    vendor: rest
    baseUrl: \${PARTNER_URL}/v1
    credentials:
      clientId: \${PARTNER_ID}
      clientSecret: \${PARTNER_SECRET}
    rateLimits:
      api: { tokenBucket: { capacity: ${BUCKET.capacity}, refillPerMinute: ${BUCKET.refillPerMinute} }, concurrency: 2 }
    rest:
      auth: { type: basic }
      orgUnits:
        ids: [ou-emea, ou-apac]
        activate: { method: PUT, path: /org-units/active, body: { id: '{ou}' } }
      resources:
        - name: sites
          path: /sites
          table: organizations
          pagination: { type: page, limit: 5 }
          map: { name: name, parent_external_id: $ou, vendor_created_at: created_at, vendor_updated_at: updated_at }
        - name: devices
          parent: sites
          path: /sites/{scope}/devices
          table: devices
          pagination: { type: page, limit: 5 }
          map:
            organization_external_id: site_id
            name: name
            serial_number: serial
            os_family: os.family
            os_version: os.version
            status: status
            vendor_last_seen_at: last_seen_at
            vendor_created_at: created_at
        - name: users
          path: /users
          table: users
          pagination: { type: page, limit: 5 }
          map: { organization_external_id: $ou, user_external_id: id, name: display_name, email: email, role: role, active: active, vendor_created_at: created_at }
worker:
  lockDurationMs: ${TEST_WORKER.lockDurationMs}
  backoffMs: ${TEST_WORKER.backoffMs}
  attempts: ${TEST_WORKER.attempts}
  maxInProcessWaitMs: ${TEST_WORKER.maxInProcessWaitMs}
`;

async function expectExact(env: TestEnv, data: PartnerData) {
  const sites = await liveRows(env, 'organizations', SOURCE);
  expect(sites.map((s) => [s.external_id, s.scope, s.parent_external_id, s.name])).toEqual(
    sortById(data.sites).map((s) => [s.id, s.ou, s.ou, s.name]),
  );
  const devices = await liveRows(env, 'devices', SOURCE);
  const simDevices = sortById(data.devices);
  expect(devices.map((d) => d.external_id)).toEqual(simDevices.map((d) => d.id));
  for (const [i, d] of simDevices.entries()) {
    const row = devices[i]!;
    // Each OU's rows land under their own OU's scope.
    expect(row.scope).toBe(`${d.ou}/${d.site_id}`);
    expect([row.organization_external_id, row.name, row.serial_number, row.os_family, row.os_version, row.status]).toEqual([d.site_id, d.name, d.serial, d.os.family, d.os.version, d.status]);
    expect((row.vendor_last_seen_at as Date).toISOString()).toBe(toTimestamp(d.last_seen_at));
    expect(row.raw).toEqual(d);
  }
  const users = await liveRows(env, 'users', SOURCE);
  expect(users.map((u) => [u.external_id, u.scope, u.organization_external_id, u.user_external_id, u.email, u.active])).toEqual(
    sortById(data.users).map((u) => [u.id, u.ou, u.ou, u.id, u.email, u.active]),
  );
}

describe('declarative REST source (partner API template)', () => {
  let env: TestEnv;
  let sim: PartnerSimulator;
  let app: App;
  let vars: NodeJS.ProcessEnv;

  beforeAll(async () => {
    env = await createTestEnv();
    // Site sizes: exactly two full pages (10), a multi-page one, an empty one, a short one.
    sim = new PartnerSimulator({
      clientId: CLIENT_ID,
      clientSecret: CLIENT_SECRET,
      data: generatePartnerData({ seed: 9, sitesPerOu: [[10, 17, 0, 4, 8], [12, 9, 5, 14]], usersPerOu: 26 }),
      bucket: BUCKET,
    });
    const origin = await sim.start();
    vars = { ...process.env, PARTNER_URL: origin, PARTNER_ID: CLIENT_ID, PARTNER_SECRET: CLIENT_SECRET };
    app = await env.open(parseYaml(YAML), vars);
    // A second engine on the same queues stands in for a second worker process.
    const other = await env.open(parseYaml(YAML), vars);
    app.engine.startWorkers();
    other.engine.startWorkers();
  });
  afterAll(async () => {
    await sim.stop();
    await env.cleanup();
  });

  it('syncs exactly from YAML alone, bursting then holding the steady rate with zero 429s, one OU at a time', async () => {
    const { runId, run } = await syncOnce(app, SOURCE);
    expect(run.status, run.error_message ?? '').toBe('succeeded');
    await expectExact(env, sim.data);

    // Rate: no 429 at all, and more requests than the burst, so the steady phase was reached.
    expect(sim.rateLimited).toBe(0);
    expect(sim.requests.filter((r) => r.status === 429)).toEqual([]);
    const n = sim.requests.length;
    expect(n).toBeGreaterThan(BUCKET.capacity + 10);
    const perMs = BUCKET.refillPerMinute / 60_000;
    const first = sim.requests[0]!.at;
    sim.requests.forEach((r, i) => expect(i + 1).toBeLessThanOrEqual(BUCKET.capacity + (r.at - first) * perMs + 1));
    // That the burst goes at once is shown without a clock in test/lane-gate.test.ts.

    // OUs: each activated once, every list answered under the OU its walk belongs to.
    expect([...sim.activations].sort()).toEqual(['ou-apac', 'ou-emea']);
    expect(sim.violations).toBe(0);
    const switchAt = sim.served.findIndex(([, , ou]) => ou !== sim.served[0]![2]);
    expect(sim.served.slice(switchAt).every(([, , ou]) => ou === sim.served[switchAt]![2])).toBe(true);

    // total known: walks record it; the 10-device site needed no third, empty request.
    const ten = sim.data.sites.find((s) => sim.data.devices.filter((d) => d.site_id === s.id).length === 10)!;
    expect(sim.served.filter(([p]) => p === `/v1/sites/${ten.id}/devices`).map(([, page]) => page)).toEqual(['1', '2']);
    const walk = await env.db.selectFrom('sync_walks').select(['total', 'records', 'pages']).where('run_id', '=', runId).where('scope', '=', `${ten.ou}/${ten.id}`).executeTakeFirstOrThrow();
    expect(walk).toEqual({ total: 10, records: 10, pages: 2 });
  });

  it('a second run switches OUs correctly even when the other OU is still active, and detects deletes per OU', async () => {
    const gone = sim.data.devices.find((d) => d.ou === 'ou-apac')!;
    sim.data.devices = sim.data.devices.filter((d) => d !== gone);
    sim.activations.length = 0;
    sim.served.length = 0;
    sim.reset();
    const { run } = await syncOnce(app, SOURCE);
    expect(run.status, run.error_message ?? '').toBe('succeeded');
    expect(sim.violations).toBe(0);
    expect(sim.rateLimited).toBe(0);
    // The OU left active by the first run is used as it is; the other is activated once.
    expect(sim.activations.length).toBeLessThanOrEqual(2);
    // deletes: confirm: missing after this walk, deleted after the next one that misses it too.
    const missing = await env.db.selectFrom('devices').select(['deleted_at', 'missing_since']).where('external_id', '=', gone.id).executeTakeFirstOrThrow();
    expect([missing.deleted_at, missing.missing_since === null]).toEqual([null, false]);
    const confirming = await syncOnce(app, SOURCE);
    expect(confirming.run.status, confirming.run.error_message ?? '').toBe('succeeded');
    await expectExact(env, sim.data);
    const row = await env.db.selectFrom('devices').select('deleted_at').where('external_id', '=', gone.id).executeTakeFirstOrThrow();
    expect(row.deleted_at).not.toBeNull();
  });

  it('activates the OU again when the vendor forgot it (its restart) while Redis still names it active', async () => {
    sim.activeOu = null;
    sim.activations.length = 0;
    sim.reset();
    const mark = sim.requests.length;
    const { run } = await syncOnce(app, SOURCE);
    expect(run.status, run.error_message ?? '').toBe('succeeded');
    await expectExact(env, sim.data);
    expect(sim.violations).toBe(0);
    // One 409 for the page that found the OU forgotten, then the OU again and the page again.
    expect(sim.requests.slice(mark).filter((r) => r.status === 409).length).toBe(1);
    expect(sim.activations.length).toBeGreaterThanOrEqual(1);
  });

  it('shows the vendor error body {error, message, details} and never repeats a 4xx', async () => {
    sim.inject({ kind: 'status', status: 422, body: { error: 'validation_failed', message: 'limit is too large', details: { field: 'limit' } }, match: (r) => r.path === '/v1/users' });
    const mark = sim.requests.length;
    const { run } = await syncOnce(app, SOURCE, ['users']);
    expect(run.status).toBe('partial');
    expect(run.error_message).toMatch(/^partner-test\/users scope ou-(emea|apac) page 0: 422 validation_failed: limit is too large \(details: \{"field":"limit"\}\)$/);
    expect(sim.requests.slice(mark).filter((r) => r.path === '/v1/users' && r.status === 422).length).toBe(1);
  });

  it('refuses a mapping to an unknown column, an unknown table and a bad bucket, naming each key path', async () => {
    const cfg = parseYaml(YAML) as { sources: Array<Record<string, unknown>> };
    const src = cfg.sources[0]! as { rest: { resources: Array<Record<string, unknown>> }; rateLimits: unknown };
    src.rest.resources[0]!.map = { name: 'name', colour: 'color' };
    src.rest.resources[2]!.table = 'people';
    await expect(env.open(cfg, vars)).rejects.toThrow(
      /sources\[0\]\.rest\.resources\[0\]\.map\.colour: unknown column "colour" of table organizations \(columns: name, guid, [^)]*\)[\s\S]*sources\[0\]\.rest\.resources\[2\]\.table: unknown table "people"/,
    );
    const bad = parseYaml(YAML) as { sources: Array<Record<string, unknown>> };
    bad.sources[0]!.rateLimits = { api: { tokenBucket: { capacity: 0, refillPerMinute: 100 } } };
    await expect(env.open(bad, vars)).rejects.toThrow(/sources\[0\]\.rateLimits\.api\.tokenBucket\.capacity: Number must be greater than 0/);
    const item = parseYaml(YAML) as { sources: Array<{ rest: { resources: Array<Record<string, unknown>> } }> };
    item.sources[0]!.rest.resources[1]!.item = '/v1/devices';
    await expect(env.open(item, vars)).rejects.toThrow(/sources\[0\]\.rest\.resources\[1\]\.item: must contain \{id\}/);
  });
});
