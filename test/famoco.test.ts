import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../src/app.js';
import { toTimestamp } from '../src/normalize.js';
import { FamocoInsightsSimulator, FamocoSimulator, generateFamocoData, toInsightsDevice, type FamocoData } from '../src/simulators/famoco.js';
import { createTestEnv, type TestEnv } from './helpers.js';
import { FAST, famocoSource, SLOW, testConfig } from './helpers/config.js';
import { syncOnce } from './helpers/sync.js';
import { expectColumnsFilled, expectDevicesRaw, liveRows } from './helpers/warehouse.js';
import { finishWithNewWorker, killMidWalk, useWorkerFixture } from './helpers/worker.js';

const TOKEN = 'test-famoco-token-0123456789abcdef';

function config(mdmOrigin: string, insightsOrigin: string) {
  return testConfig([
    // The documented 100/min would make the suite wait for minutes; the windows are the lane's job, tested elsewhere.
    famocoSource('famoco-test', mdmOrigin, 'TEST_FAMOCO_TOKEN', { rateLimits: { mdm: FAST } }),
    famocoSource('insights-test', insightsOrigin, 'TEST_FAMOCO_TOKEN', {
      vendor: 'famoco-insights',
      rateLimits: { insights: FAST },
      options: { endpoints: { devices: '/api/organizations/{guid}/devices/' } },
    }),
  ]);
}

/** Asserts the warehouse holds exactly the MDM simulator's data for a source (default famoco-test), value by value. */
async function expectExactMdm(env: TestEnv, data: FamocoData, source = 'famoco-test') {
  const orgs = await liveRows(env, 'organizations', source);
  expect(orgs.map((o) => [o.external_id, o.name, o.guid])).toEqual(data.organizations.map((o) => [String(o.id), o.name, o.guid]));
  for (const [i, o] of data.organizations.entries()) {
    expect(orgs[i]!.raw).toEqual(o);
    // Organizations answer create_date / update_date, as the live API does.
    expect([(orgs[i]!.vendor_created_at as Date).toISOString(), (orgs[i]!.vendor_updated_at as Date).toISOString()]).toEqual([o.create_date, o.update_date]);
  }

  const groups = await liveRows(env, 'device_groups', source);
  expect(groups.map((g) => [g.external_id, g.scope, g.organization_external_id, g.name, g.is_default, g.device_count])).toEqual(
    data.fleets.map((f) => [String(f.id), String(f.organization), String(f.organization), f.name, f.is_stock, f.devices_count]),
  );

  const devices = await liveRows(env, 'devices', source);
  expect(devices.map((d) => d.external_id)).toEqual(data.devices.map((d) => String(d.id)));
  for (const [i, s] of data.devices.entries()) {
    const d = devices[i]!;
    expect(d.scope).toBe(String(s.organization));
    expect(d.organization_external_id).toBe(String(s.organization));
    expect(d.device_group_external_id).toBe(s.fleet ? String(s.fleet.id) : null);
    expect(d.name).toBe(s.label);
    expect(d.serial_number).toBe(s.serial_number ?? s.hardware_details.serial_number);
    expect(d.model).toBe(s.model);
    expect(d.os_version).toBe(s.state_details.os_version);
    expect(d.agent_version).toBe(s.state_details.agent_version);
    expect(d.status).toBe(s.state_details.is_online ? 'online' : 'offline');
    expect(d.vendor_last_seen_at === null ? null : (d.vendor_last_seen_at as Date).toISOString()).toBe(toTimestamp(s.state_details.last_sync));
    expect((d.vendor_updated_at as Date).toISOString()).toBe(s.updated_at);
    expect(d.raw).toEqual(s);
  }
}

describe('Famoco MDM and Insights sync', () => {
  let env: TestEnv;
  let sim: FamocoSimulator;
  let insights: FamocoInsightsSimulator;
  let evil: FamocoSimulator;
  let app: App;

  beforeAll(async () => {
    env = await createTestEnv();
    // Org 2 holds 12 devices: pages of 5, 5 and 2; org 3 has none.
    const data = generateFamocoData({ seed: 5, orgs: 3, devicesPerOrg: [7, 12, 0], fleetsPerOrg: 3 });
    sim = new FamocoSimulator({ token: TOKEN, data });
    insights = new FamocoInsightsSimulator({ token: TOKEN, data });
    evil = new FamocoSimulator({ token: 'not-ours', data: generateFamocoData({ seed: 1, orgs: 1, devicesPerOrg: 1 }) });
    const [mdmOrigin, insightsOrigin] = await Promise.all([sim.start(), insights.start(), evil.start()]);
    app = await env.open(config(mdmOrigin!, insightsOrigin!), { ...process.env, TEST_FAMOCO_TOKEN: TOKEN });
    app.engine.startWorkers();
  });
  afterAll(async () => {
    await Promise.all([sim.stop(), insights.stop(), evil.stop()]);
    await env.cleanup();
  });
  afterEach(() => {
    sim.clearFaults();
    sim.nextOriginOverride = undefined;
    sim.repeatNext = false;
  });

  it('MDM: lands exactly the simulator data, following next links across pages', async () => {
    const { run, summary } = await syncOnce(app, 'famoco-test');
    expect(run.status).toBe('succeeded');
    await expectExactMdm(env, sim.data);
    const org2 = sim.data.organizations[1]!.id;
    const reqs = sim.requests.filter((r) => r.path === `/api/organizations/${org2}/devices/`);
    expect(reqs.map((r) => [r.query.get('page'), r.query.get('page_size'), r.status])).toEqual([
      [null, '5', 200],
      ['2', '5', 200],
      ['3', '5', 200],
    ]);
    const walk = await env.db.selectFrom('sync_walks').select(['pages', 'records', 'total']).where('run_id', '=', run.id).where('resource', '=', 'devices').where('scope', '=', String(org2)).executeTakeFirstOrThrow();
    expect(walk).toEqual({ pages: 3, records: 12, total: 12 });
    const devices = summary.resources.find((r) => r.resource === 'devices')!;
    expect([devices.walks, devices.inserted, devices.failed]).toEqual([3, 19, 0]);
    expect(summary.resources.find((r) => r.resource === 'device_groups')!.inserted).toBe(9);
    expect(sim.data.devices.some((d) => d.x_future_field !== undefined)).toBe(true);
    expect(sim.data.devices.some((d) => /[^\x00-\x7f]/.test(d.label))).toBe(true);
  });

  it('Insights: walks devices per organization GUID through the configured path template', async () => {
    const { run } = await syncOnce(app, 'insights-test');
    expect(run.status).toBe('succeeded');
    const rows = await env.db.selectFrom('devices').selectAll().where('source_id', '=', 'insights-test').orderBy('external_id').execute();
    const expected = sim.data.devices
      .map((d) => toInsightsDevice(d, sim.data.organizations.find((o) => o.id === d.organization)!.guid))
      .sort((a, b) => (a.famoco_id < b.famoco_id ? -1 : a.famoco_id > b.famoco_id ? 1 : 0));
    expect(rows.map((r) => r.external_id)).toEqual(expected.map((d) => d.famoco_id));
    for (const [i, d] of expected.entries()) {
      const r = rows[i]!;
      expect(r.scope).toBe(d.organization_guid);
      expect(r.organization_external_id).toBe(d.organization_guid);
      expect([r.serial_number, r.model, r.os_version, r.agent_version, r.status]).toEqual([d.serial_number, d.model, d.os_version, d.agent_version, d.is_online ? 'online' : 'offline']);
      expect(r.raw).toEqual(d);
    }
    const guids = new Set(insights.requests.filter((r) => r.path.endsWith('/devices/')).map((r) => r.path.split('/')[3]));
    expect(guids).toEqual(new Set(sim.data.organizations.map((o) => o.guid)));
    const orgs = await env.db.selectFrom('organizations').select(['external_id', 'guid']).where('source_id', '=', 'insights-test').orderBy('external_id').execute();
    expect(orgs).toEqual(sim.data.organizations.map((o) => ({ external_id: String(o.id), guid: o.guid })));
  });

  it('a 429 with Retry-After pauses the lane, then the walk finishes exact, without busy retries', async () => {
    const org = sim.data.organizations[1]!.id;
    const path = `/api/organizations/${org}/devices/`;
    sim.inject({
      kind: 'status',
      status: 429,
      headers: { 'retry-after': '1' },
      body: { errors: { detail: 'Request was throttled. Expected available in 1 seconds.' } },
      match: (r) => r.path === path && r.query.get('page') === '2',
    });
    const mark = sim.requests.length;
    const { run } = await syncOnce(app, 'famoco-test', ['devices']);
    expect(run.status).toBe('succeeded');
    const reqs = sim.requests.slice(mark).filter((r) => r.path === path);
    expect(reqs.map((r) => [r.query.get('page'), r.status])).toEqual([
      [null, 200],
      ['2', 429],
      ['2', 200],
      ['3', 200],
    ]);
    expect(reqs[2]!.at - reqs[1]!.at).toBeGreaterThanOrEqual(900);
    await expectExactMdm(env, sim.data);
  });

  it('refuses a next link to a foreign origin: the walk fails naming where, the foreign host gets nothing', async () => {
    sim.nextOriginOverride = evil.origin;
    const org = sim.data.organizations[0]!.id;
    const { run, summary } = await syncOnce(app, 'famoco-test', ['devices']);
    expect(evil.requests.length).toBe(0);
    expect(run.status).toBe('partial'); // the org without devices has no next link and succeeds
    const devices = summary.resources.find((r) => r.resource === 'devices')!;
    expect(devices.failed).toBe(2);
    const failed = await env.db.selectFrom('sync_walks').select(['scope', 'error_message', 'pages']).where('run_id', '=', run.id).where('status', '=', 'failed').orderBy('scope').execute();
    expect(failed[0]!.scope).toBe(String(org));
    expect(failed[0]!.pages).toBe(1);
    expect(failed[0]!.error_message).toBe(
      `famoco-test/devices org ${org} page 1: refused to follow a link to ${evil.origin}, off the source's origin ${sim.origin}`,
    );
    expect(run.error_message).toMatch(/^famoco-test\/devices org \d+ page 1: refused to follow a link to /);
    // Nothing was marked deleted by the failed walks.
    const deleted = await env.db.selectFrom('devices').select('external_id').where('source_id', '=', 'famoco-test').where('deleted_at', 'is not', null).execute();
    expect(deleted).toEqual([]);
  });

  it('a next link that repeats the current page fails the walk as a pagination loop', async () => {
    sim.repeatNext = true;
    const mark = sim.requests.length;
    const { run } = await syncOnce(app, 'famoco-test', ['organizations']);
    expect(run.status).toBe('failed');
    expect(run.error_message).toMatch(/^famoco-test\/organizations scope - page 0: pagination loop: "next" points at the current page 1 again/);
    expect(sim.requests.length - mark).toBe(1);
    const walk = await env.db.selectFrom('sync_walks').select(['status', 'pages']).where('run_id', '=', run.id).executeTakeFirstOrThrow();
    expect(walk).toEqual({ status: 'failed', pages: 0 });
  });

  it('fails a walk on 400 with the field error as a readable message, requested once', async () => {
    const org = sim.data.organizations[0]!.id;
    const path = `/api/organizations/${org}/fleets/`;
    sim.inject({ kind: 'status', status: 400, body: { errors: { page_size: ['Ensure this value is less than or equal to 1000.'] } }, match: (r) => r.path === path });
    const mark = sim.requests.length;
    const { run } = await syncOnce(app, 'famoco-test', ['device_groups']);
    expect(run.status).toBe('partial');
    expect(sim.requests.slice(mark).filter((r) => r.path === path).length).toBe(1);
    expect(run.error_status).toBe(400);
    expect(run.error_message).toBe(`famoco-test/device_groups org ${org} page 0: 400 page_size: Ensure this value is less than or equal to 1000.`);
  });
});

describe('Famoco with DRF limit/offset links', () => {
  let env: TestEnv;
  let sim: FamocoSimulator;
  let app: App;

  beforeAll(async () => {
    env = await createTestEnv();
    sim = new FamocoSimulator({ token: TOKEN, data: generateFamocoData({ seed: 8, orgs: 2, devicesPerOrg: [12, 3], fleetsPerOrg: 2 }), pagination: 'limit-offset' });
    const origin = await sim.start();
    app = await env.open(testConfig([famocoSource('famoco-lo', origin, 'TEST_FAMOCO_TOKEN', { rateLimits: { mdm: FAST } })]), { ...process.env, TEST_FAMOCO_TOKEN: TOKEN });
    app.engine.startWorkers();
  });
  afterAll(async () => {
    await sim.stop();
    await env.cleanup();
  });
  afterEach(() => {
    sim.repeatNext = false;
  });

  it('walks an offset= link chain to its end: exact data, every documented column filled', async () => {
    const { run } = await syncOnce(app, 'famoco-lo');
    expect(run.status).toBe('succeeded');
    await expectExactMdm(env, sim.data, 'famoco-lo');
    const org1 = sim.data.organizations[0]!.id;
    const reqs = sim.requests.filter((r) => r.path === `/api/organizations/${org1}/devices/`);
    // The first request asks for the page size both ways; the server answers limit/offset links.
    expect(reqs.map((r) => [r.query.get('limit'), r.query.get('offset'), r.status])).toEqual([
      ['5', null, 200],
      ['5', '5', 200],
      ['5', '10', 200],
    ]);
    await expectColumnsFilled(env, 'devices', 'famoco-lo', [
      'organization_external_id', 'device_group_external_id', 'name', 'serial_number', 'model', 'os_family', 'os_name', 'os_version', 'agent_version', 'status',
      'vendor_created_at', 'vendor_updated_at', 'vendor_last_seen_at',
    ]);
    await expectColumnsFilled(env, 'device_groups', 'famoco-lo', ['organization_external_id', 'name', 'is_default', 'device_count', 'vendor_created_at', 'vendor_updated_at']);
    await expectColumnsFilled(env, 'organizations', 'famoco-lo', ['name', 'guid', 'vendor_created_at', 'vendor_updated_at']);
  });

  it('an offset= link that does not advance fails the walk as a pagination loop after one request', async () => {
    sim.repeatNext = true;
    const mark = sim.requests.length;
    const { run } = await syncOnce(app, 'famoco-lo', ['organizations']);
    expect(run.status).toBe('failed');
    expect(run.error_message).toMatch(/^famoco-lo\/organizations scope - page 0: pagination loop: "next" points at the current offset 0 again/);
    expect(sim.requests.length - mark).toBe(1);
  });
});

describe('Famoco config', () => {
  it('refuses an Insights source without a valid path template', async () => {
    const env = await createTestEnv();
    try {
      const src = { id: 'ins', vendor: 'famoco-insights', baseUrl: 'https://insights.famoco.com', credentials: { token: 't' } };
      await expect(env.open({ sources: [src] })).rejects.toThrow(/sources\[0\]\.options\.endpoints\.devices: the Insights path template of devices is required/);
      await expect(env.open({ sources: [{ ...src, options: { endpoints: { devices: '/api/orgs/devices/' } } }] })).rejects.toThrow(
        /sources\[0\]\.options\.endpoints\.devices: must be a path starting with "\/" that contains \{guid\}/,
      );
      // Only organizations: no template needed.
      const app = await env.open({ sources: [{ ...src, resources: ['organizations'] }] });
      expect(app.sources.get('ins')!.resources.size).toBe(1);
    } finally {
      await env.cleanup();
    }
  });
});

describe('Famoco: a worker killed with SIGKILL mid-walk', () => {
  let sim: FamocoSimulator;
  const fx = useWorkerFixture({
    dirPrefix: 'fleetsync-famoco-crash-',
    start: async () => {
      sim = new FamocoSimulator({ token: TOKEN, data: generateFamocoData({ seed: 9, orgs: 2, devicesPerOrg: [60, 45] }) });
      const origin = await sim.start();
      const config = testConfig([famocoSource('famoco-crash', origin, 'CRASH_TOKEN', { rateLimits: { mdm: { ...SLOW, concurrency: 2 } } })]);
      return { config, keys: { CRASH_TOKEN: TOKEN }, stop: () => sim.stop() };
    },
  });

  it('resumes from the stored next link in a new worker and ends exact', async () => {
    const { env, app } = fx;
    const { runId } = await app.engine.startRun('famoco-crash', { trigger: 'test' });
    const atKill = await killMidWalk(fx, runId, 8);
    const mid = await env.db.selectFrom('sync_walks').select(['cursor']).where('run_id', '=', runId).where('resource', '=', 'devices').where('status', '=', 'running').execute();
    // A running devices walk past its first page holds the absolute next link as its cursor.
    expect(mid.some((w) => typeof (w.cursor as { url?: unknown } | null)?.url === 'string')).toBe(true);

    await finishWithNewWorker(fx, runId, atKill);
    await expectDevicesRaw(env, sim.data.devices);
    const walks = await env.db.selectFrom('sync_walks').selectAll().where('run_id', '=', runId).execute();
    for (const w of walks) expect([w.resource, w.scope, w.status, w.inserted, w.updated]).toEqual([w.resource, w.scope, 'succeeded', w.records, 0]);
  });
});
