import { gzipSync } from 'node:zlib';
import { sql } from 'kysely';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../src/app.js';
import { FamocoSimulator, generateFamocoData } from '../src/simulators/famoco.js';
import { createRng } from '../src/simulators/http-sim.js';
import { generateIzumaData, IzumaSimulator, type IzumaData } from '../src/simulators/izuma.js';
import { createTestEnv, TEST_WORKER, waitFor, type TestEnv } from './helpers.js';
import { FAST, famocoSource, izumaSource, testConfig } from './helpers/config.js';
import { syncOnce } from './helpers/sync.js';
import { liveRows } from './helpers/warehouse.js';

// docs/reliability.md, "Records and responses": a bad record costs only itself, a broken body is
// retried like a 5xx, an oversized page or body is refused naming the page, and a loop is a
// request the walk already made, whatever the vendor's id order.

const API_KEY = 'ak_test0123456789abcdef0123456789ab';
const lane = { rateLimits: { api: { ...FAST, concurrency: 2 } } };

/** Requests of a simulator after `mark` to one path, as [after, status]. */
function listRequests(sim: IzumaSimulator, mark: number, path = '/v3/devices') {
  return sim.requests.slice(mark).filter((r) => r.path === path).map((r) => [r.query.get('after'), r.status] as const);
}

function deepObject(levels: number): unknown {
  let v: unknown = 'bottom';
  for (let i = 0; i < levels; i++) v = { a: v };
  return v;
}

/** Gives every device a random id (not in creation order) and lists by creation time. */
function scrambleIds(data: IzumaData, seed: number): void {
  const rng = createRng(seed);
  for (const d of data.devices) d.id = rng.hex(32);
}

describe('records and responses', () => {
  let env: TestEnv;
  let app: App;
  const sim = new IzumaSimulator({ apiKey: API_KEY, data: generateIzumaData({ seed: 21, devices: 23, groups: 2, firmwareImages: 2 }) });
  const big = new IzumaSimulator({ apiKey: API_KEY, data: generateIzumaData({ seed: 22, devices: 0, groups: 0, firmwareImages: 50_000 }) });
  const ordered = new IzumaSimulator({ apiKey: API_KEY, data: generateIzumaData({ seed: 23, devices: 37, groups: 0, firmwareImages: 0 }) });
  // DRF cursor links: nothing in a link tells where it stands, only that the walk used it before.
  const famoco = new FamocoSimulator({ token: 'famoco-token', data: generateFamocoData({ seed: 24, orgs: 1, devicesPerOrg: [17], fleetsPerOrg: 1 }) });
  const ids = () => sim.data.devices.map((d) => d.id).sort();

  beforeAll(async () => {
    env = await createTestEnv();
    scrambleIds(ordered.data, 5);
    ordered.listOrder = 'created';
    famoco.cursorLinks = true;
    const config = testConfig([
      izumaSource('izuma-rr', await sim.start(), 'RR_KEY', lane),
      izumaSource('izuma-big', await big.start(), 'RR_KEY', { ...lane, pageSize: 500 }),
      izumaSource('izuma-order', await ordered.start(), 'RR_KEY', lane),
      // Four slots: pages are fetched ahead two deep, each as soon as the one before is parsed.
      izumaSource('izuma-chain', ordered.origin, 'RR_KEY', { rateLimits: { api: { ...FAST, concurrency: 4 } } }),
      famocoSource('famoco-rr', await famoco.start(), 'RR_FAMOCO', { rateLimits: { mdm: FAST } }),
    ]);
    app = await env.open(config, { ...process.env, RR_KEY: API_KEY, RR_FAMOCO: 'famoco-token' });
    app.engine.startWorkers();
  });
  afterAll(async () => {
    await Promise.all([sim.stop(), big.stop(), ordered.stop(), famoco.stop()]);
    await env.cleanup();
  });
  afterEach(() => {
    for (const s of [sim, big, ordered]) s.clearFaults();
    ordered.afterGlitch.clear();
    famoco.linkGlitch = null;
  });

  it('a lone surrogate and a 5,000-deep record cost only themselves: the others land, the walk succeeds, nothing is retried', async () => {
    const first = await syncOnce(app, 'izuma-rr', ['devices']);
    expect(first.run.status).toBe('succeeded');
    const byId = new Map(sim.data.devices.map((d) => [d.id, d]));
    const [a, b, c] = [ids()[3]!, ids()[6]!, ids()[12]!];
    sim.updateDevice(a, { name: 'bad\ud800name' });
    sim.updateDevice(b, { custom_attributes: { 'key\udc00': 'v' } });
    sim.updateDevice(c, { custom_attributes: deepObject(5_000) as Record<string, string> });
    const mark = sim.requests.length;
    const { run, summary } = await syncOnce(app, 'izuma-rr', ['devices']);
    expect([run.status, run.error_message]).toEqual(['succeeded', null]);
    // Five pages, each asked once, all answered 200: no retry of a data fault.
    expect(listRequests(sim, mark)).toEqual([null, ids()[4], ids()[9], ids()[14], ids()[19]].map((after) => [after, 200]));
    const walk = await env.db.selectFrom('sync_walks').selectAll().where('run_id', '=', run.id).executeTakeFirstOrThrow();
    expect([walk.records, walk.quarantined, walk.repaired, walk.unidentified, walk.deleted]).toEqual([23, 1, 2, 0, 0]);
    expect(summary.resources[0]!.quarantined).toBe(1);
    const rows = await liveRows(env, 'devices', 'izuma-rr');
    // Every device is live: the deep one keeps its last good row (its id was seen), none is deleted.
    expect(rows.map((r) => r.external_id)).toEqual(ids());
    const row = (id: string) => rows.find((r) => r.external_id === id)!;
    expect([row(a).name, (row(a).raw as { name: string }).name]).toEqual(['bad\ufffdname', 'bad\ufffdname']);
    expect((row(b).raw as { custom_attributes: unknown }).custom_attributes).toEqual({ 'key\ufffd': 'v' });
    expect(row(c).vendor_updated_at).not.toEqual(new Date(byId.get(c)!.updated_at));
    const q = await env.db.selectFrom('sync_quarantine').selectAll().where('run_id', '=', run.id).execute();
    expect(q).toHaveLength(1);
    const field = ['custom_attributes', ...Array<string>(63).fill('a')].join('.');
    expect(q[0]).toMatchObject({ source_id: 'izuma-rr', resource: 'devices', scope: '-', page: 2, external_id: c, field, raw: null });
    expect(q[0]!.reason).toBe(`izuma-rr/devices scope - page 2: nested deeper than 64 levels at ${field}`);
    expect(q[0]!.raw_text).toMatch(new RegExp(`^\\{"object":"device","id":"${c}",`));
  });

  for (const [what, body, type] of [
    ['a cut-off JSON body', '{"object":"list","limit":5,"has_more":true,"data":[{"object":"device","id":"0', 'application/json'],
    ['an HTML page', '<html><head><title>502 Bad Gateway</title></head><body><h1>Bad Gateway</h1></body></html>', 'text/html'],
    ['an empty body', '', 'application/json'],
  ] as const) {
    it(`${what} with status 200 is retried, and the walk succeeds once the vendor answers JSON again`, async () => {
      sim.inject({ kind: 'status', status: 200, body, headers: { 'content-type': type }, times: 2, match: (r) => r.path === '/v3/devices' && r.query.get('after') === ids()[9] });
      const mark = sim.requests.length;
      const { run } = await syncOnce(app, 'izuma-rr', ['devices']);
      expect([run.status, run.error_message]).toEqual(['succeeded', null]);
      const reqs = listRequests(sim, mark);
      expect(reqs.filter(([after]) => after === ids()[9])).toHaveLength(3);
      expect(new Set(reqs.map(([after]) => after)).size).toBe(5);
      expect((await liveRows(env, 'devices', 'izuma-rr')).map((r) => r.external_id)).toEqual(ids());
    });
  }

  it('a 200 that stays unparsable fails the walk after its retries with "200 but the body was not JSON"', async () => {
    const html = `<!DOCTYPE html><html><body>${'maintenance '.repeat(40)}</body></html>`;
    sim.inject({ kind: 'status', status: 200, body: html, headers: { 'content-type': 'text/html' }, times: Number.POSITIVE_INFINITY, match: (r) => r.path === '/v3/devices' && r.query.get('after') === ids()[4] });
    const mark = sim.requests.length;
    const { run } = await syncOnce(app, 'izuma-rr', ['devices']);
    expect(run.status).toBe('failed');
    expect(run.error_message).toBe(`izuma-rr/devices scope - page 1: 200 but the body was not JSON: ${html.slice(0, 200)} (gave up after ${TEST_WORKER.attempts} attempts)`);
    expect(run.error_status).toBe(200);
    // In-process retries (3) within each of the job's attempts.
    expect(listRequests(sim, mark).filter(([after]) => after === ids()[4])).toHaveLength(4 * TEST_WORKER.attempts);
    const deleted = await env.db.selectFrom('devices').select('external_id').where('source_id', '=', 'izuma-rr').where('deleted_at', 'is not', null).execute();
    expect(deleted).toEqual([]);
  });

  it('duplicate ids within a page are counted on the walk and in the run summary, the last one landing', async () => {
    const dup = sim.data.devices.find((d) => d.id === ids()[1])!;
    sim.data.devices.push({ ...dup, name: 'second copy' });
    try {
      const { run, summary } = await syncOnce(app, 'izuma-rr', ['devices']);
      expect(run.status).toBe('succeeded');
      const walk = await env.db.selectFrom('sync_walks').select(['duplicates', 'records']).where('run_id', '=', run.id).executeTakeFirstOrThrow();
      expect(walk).toEqual({ duplicates: 1, records: 24 });
      expect(summary.resources[0]!.duplicates).toBe(1);
      expect((await liveRows(env, 'devices', 'izuma-rr')).find((r) => r.external_id === dup.id)!.name).toBe('second copy');
    } finally {
      sim.data.devices.pop();
    }
  });

  it('a page of 50,000 records when 500 were asked for is refused, naming the page, and nothing of it lands', async () => {
    big.ignoreLimit = true;
    const mark = big.requests.length;
    const { run } = await syncOnce(app, 'izuma-big', ['firmware_images']);
    expect(run.status).toBe('failed');
    expect(run.error_message).toBe(
      'izuma-big/firmware_images scope - page 0: the vendor sent 50000 records where at most 500 were asked for (it ignored the page size); page refused, committing it would be unsafe',
    );
    expect(listRequests(big, mark, '/v3/firmware-images')).toEqual([[null, 200]]);
    expect(await liveRows(env, 'firmware_images', 'izuma-big')).toEqual([]);
  });

  it('ids in no lexicographic order walk to the end exactly, each page asked once', async () => {
    const byCreation = [...ordered.data.devices].sort((x, y) => (x.created_at < y.created_at ? -1 : 1)).map((d) => d.id);
    // The fixture is what it claims: some id sorts before the one listed ahead of it.
    expect(byCreation.some((id, i) => i > 0 && id < byCreation[i - 1]!)).toBe(true);
    const mark = ordered.requests.length;
    const { run } = await syncOnce(app, 'izuma-order', ['devices']);
    expect([run.status, run.error_message]).toEqual(['succeeded', null]);
    expect(listRequests(ordered, mark)).toEqual([null, ...[4, 9, 14, 19, 24, 29, 34].map((i) => byCreation[i])].map((after) => [after, 200]));
    expect((await liveRows(env, 'devices', 'izuma-order')).map((r) => r.external_id)).toEqual([...byCreation].sort());
    const cursors = await env.db.selectFrom('sync_walk_cursors').select('walk_id').execute();
    expect(cursors).toEqual([]);
  });

  it('a vendor that sends the walk back to an after cursor it already used is a loop, and the walk fails without committing the repeat', async () => {
    const byCreation = [...ordered.data.devices].sort((x, y) => (x.created_at < y.created_at ? -1 : 1)).map((d) => d.id);
    // Page 2 (after the 10th device) answers the first page again: its last id sends the walk to page 1's request.
    ordered.afterGlitch.set(byCreation[9]!, null);
    const mark = ordered.requests.length;
    const { run } = await syncOnce(app, 'izuma-order', ['devices']);
    expect(run.status).toBe('failed');
    expect(run.error_message).toMatch(
      new RegExp(`^izuma-order/devices scope - page 2: pagination loop: the next request /v3/devices\\?after=${byCreation[4]}&limit=5&order=ASC repeats the request of page 1 of this walk$`),
    );
    expect(listRequests(ordered, mark)).toEqual([null, byCreation[4], byCreation[9]].map((after) => [after, 200]));
    const walk = await env.db.selectFrom('sync_walks').select(['pages', 'records']).where('run_id', '=', run.id).executeTakeFirstOrThrow();
    expect(walk).toEqual({ pages: 2, records: 10 });
  });

  it('fetching ahead never asks a loop again: the request a page fetched ahead sends the walk back to is not sent, before any page commits', async () => {
    const byCreation = [...ordered.data.devices].sort((x, y) => (x.created_at < y.created_at ? -1 : 1)).map((d) => d.id);
    ordered.afterGlitch.set(byCreation[9]!, null);
    const mark = ordered.requests.length;
    let runId = '';
    // Nothing commits while the lock is held: no committed request tells page 2's answer is a loop.
    await env.db.transaction().execute(async (trx) => {
      await sql`LOCK TABLE devices IN SHARE MODE`.execute(trx);
      ({ runId } = await app.engine.startRun('izuma-chain', { trigger: 'test', resources: ['devices'] }));
      await waitFor(() => listRequests(ordered, mark).length >= 3, 'pages 1 and 2 fetched ahead');
    });
    const run = await app.engine.waitForRun(runId);
    expect(run.status).toBe('failed');
    expect(run.error_message).toMatch(/^izuma-chain\/devices scope - page 2: pagination loop: /);
    expect(listRequests(ordered, mark)).toEqual([null, byCreation[4], byCreation[9]].map((after) => [after, 200]));
  });

  it('a next link back to a page the walk already read is a loop, also when links carry no page number', async () => {
    const org = famoco.data.organizations[0]!.id;
    const path = `/api/organizations/${org}/devices/`;
    const first = await syncOnce(app, 'famoco-rr');
    expect([first.run.status, first.run.error_message]).toEqual(['succeeded', null]);
    expect((await liveRows(env, 'devices', 'famoco-rr')).length).toBe(17);
    // The third page links back to the second.
    famoco.linkGlitch = { from: 3, to: 2 };
    const mark = famoco.requests.length;
    const { run } = await syncOnce(app, 'famoco-rr');
    // Organizations and fleets (one page each) succeed; the devices walk fails.
    expect(run.status).toBe('partial');
    const cursors = famoco.requests.slice(mark).filter((r) => r.path === path).map((r) => r.query.get('cursor'));
    expect(cursors).toEqual([null, Buffer.from('o=5').toString('base64url'), Buffer.from('o=10').toString('base64url')]);
    expect(run.error_message).toBe(
      `famoco-rr/devices org ${org} page 2: pagination loop: the next request ${famoco.origin}${path}?page_size=5&limit=5&cursor=${cursors[1]} repeats the request of page 1 of this walk`,
    );
    // The failed walk marked nothing deleted.
    expect((await liveRows(env, 'devices', 'famoco-rr')).length).toBe(17);
  });
});

describe('maxResponseBytes', () => {
  let env: TestEnv;
  let app: App;
  const sim = new IzumaSimulator({ apiKey: API_KEY, data: generateIzumaData({ seed: 31, devices: 12, groups: 0, firmwareImages: 0 }) });
  const LIMIT = 64 * 1024;

  beforeAll(async () => {
    env = await createTestEnv();
    const config = testConfig([izumaSource('izuma-max', await sim.start(), 'MAX_KEY', lane)], { worker: { ...TEST_WORKER, maxResponseBytes: LIMIT } });
    app = await env.open(config, { ...process.env, MAX_KEY: API_KEY });
    app.engine.startWorkers();
  });
  afterAll(async () => {
    await sim.stop();
    await env.cleanup();
  });
  afterEach(() => sim.clearFaults());

  // A list page padded past the limit: valid JSON, so only its size can refuse it.
  const oversized = JSON.stringify({ object: 'list', limit: 5, has_more: false, data: [{ object: 'device', id: 'f'.repeat(32), description: ' '.repeat(1024 * 1024) }] });

  for (const [what, body, headers] of [
    ['plain', oversized, { 'content-type': 'application/json' }],
    // 1 MiB of JSON in about 1 KiB of gzip: the limit counts what the body decompresses to.
    ['gzip', gzipSync(oversized), { 'content-type': 'application/json', 'content-encoding': 'gzip' }],
  ] as const) {
    it(`a ${what} body over the limit is refused once, without a retry, naming the page`, async () => {
      sim.inject({ kind: 'status', status: 200, body, headers, match: (r) => r.path === '/v3/devices' && r.query.get('after') === [...sim.data.devices].map((d) => d.id).sort()[4] });
      const mark = sim.requests.length;
      const { run } = await syncOnce(app, 'izuma-max', ['devices']);
      expect(run.status).toBe('failed');
      expect(run.error_message).toBe(`izuma-max/devices scope - page 1: the response body is larger than maxResponseBytes (${LIMIT} bytes): refused without reading the rest`);
      expect(listRequests(sim, mark).map(([, status]) => status)).toEqual([200, 200]);
    });
  }

  it('pages under the limit land as usual', async () => {
    const { run } = await syncOnce(app, 'izuma-max', ['devices']);
    expect(run.status).toBe('succeeded');
    expect((await liveRows(env, 'devices', 'izuma-max')).length).toBe(12);
  });
});
