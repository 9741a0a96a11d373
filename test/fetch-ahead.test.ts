import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../src/app.js';
import { fetchAhead, sendFirst } from '../src/queue/head-start/fetch-ahead.js';
import { PagePrefetch, PREFETCH_TTL_MS, type Prepare } from '../src/queue/head-start/prefetch.js';
import type { Lane } from '../src/queue/lanes.js';
import type { PageRef } from '../src/queue/page-ref.js';
import { AutomoxSimulator, generateAutomoxData } from '../src/simulators/automox.js';
import type { HttpPage } from '../src/http/client.js';
import { createTestEnv, waitFor, type TestEnv } from './helpers.js';
import { automoxSource, FAST, testConfig } from './helpers/config.js';
import { syncOnce } from './helpers/sync.js';
import { expectDevicesRaw } from './helpers/warehouse.js';

// Fetching ahead within a walk (src/queue/prefetch.ts): the next page's request goes out while a
// page commits, and the next page's job takes its response.

const KEY = 'test-automox-key-fetch-ahead-0123456789';
const vars = { ...process.env, TEST_AUTOMOX_KEY: KEY };
const page = (n: number): HttpPage => ({ status: 200, body: [n], requestId: null, throttleMs: 0, headers: {} });

/** Holds `response` for `key` in a slot of `lane`, as a page fetched ahead is held. */
const put = (p: PagePrefetch, key: string, lane: string, response: Promise<HttpPage>, prepare?: Prepare) => p.reserve(key, lane)?.(response, prepare);
/** Takes the response held for `key`, as the page's job does (null: none held). */
const take = (p: PagePrefetch, key: string) => p.takePage(key)?.response ?? null;

/** The page numbers of the simulator's /servers requests for its first organization, in order. */
function pageRequests(sim: AutomoxSimulator): Array<string | null> {
  const org = String(sim.data.orgs[0]!.id);
  return sim.requests.filter((r) => r.path === '/api/servers' && r.query.get('o') === org).map((r) => r.query.get('page'));
}

/**
 * Starts a devices run of `sourceId` while a lock on devices holds page 0's commit, and returns
 * its id once page `page` was requested: only a request sent ahead can reach the vendor
 * meanwhile. Asserts that no page of the walk committed by then.
 */
async function requestedWhileFirstPageWaits(env: TestEnv, app: App, sim: AutomoxSimulator, sourceId: string, page: number): Promise<string> {
  let runId = '';
  await env.db.transaction().execute(async (trx) => {
    await sql`LOCK TABLE devices IN SHARE MODE`.execute(trx);
    ({ runId } = await app.engine.startRun(sourceId, { trigger: 'test', resources: ['devices'] }));
    await waitFor(() => pageRequests(sim).includes(String(page)), `page ${page} requested while page 0 waits to commit`);
    const walk = await trx.selectFrom('sync_walks').select('pages').where('run_id', '=', runId).where('resource', '=', 'devices').executeTakeFirstOrThrow();
    expect(walk.pages).toBe(0);
  });
  return runId;
}

describe('PagePrefetch', () => {
  it('hands a held response over once, by walk, page and request', async () => {
    const p = new PagePrefetch();
    put(p, PagePrefetch.key('w1', 3, 'h'), 'lane', Promise.resolve(page(3)));
    expect(take(p, PagePrefetch.key('w1', 3, 'other'))).toBeNull();
    expect(await take(p, PagePrefetch.key('w1', 3, 'h'))).toEqual(page(3));
    expect(take(p, PagePrefetch.key('w1', 3, 'h'))).toBeNull();
    expect(p.size).toBe(0);
  });

  it("keeps a failed request as the job's failure, and drops responses older than the TTL", async () => {
    let now = 1_000;
    const p = new PagePrefetch(() => now);
    put(p, 'failed', 'lane', Promise.reject(new Error('400 bad page')));
    await expect(take(p, 'failed')).rejects.toThrow('400 bad page');
    put(p, 'old', 'lane', Promise.resolve(page(1)));
    now += PREFETCH_TTL_MS + 1;
    expect(take(p, 'old')).toBeNull();
    put(p, 'a', 'lane', Promise.resolve(page(1)));
    now += PREFETCH_TTL_MS + 1;
    put(p, 'b', 'lane', Promise.resolve(page(2)));
    expect(p.size).toBe(1);
  });

  it("holds no more pages ahead than the lane's free slots in this process", async () => {
    const p = new PagePrefetch();
    expect(p.hasRoom('a', 1)).toBe(true);
    const leave = p.enter('a');
    expect(p.hasRoom('a', 1)).toBe(false);
    expect(p.hasRoom('a', 2)).toBe(true);
    expect(p.hasRoom('b', 1)).toBe(true);
    put(p, 'k', 'a', Promise.resolve(page(1)));
    expect(p.hasRoom('a', 2)).toBe(false);
    expect(p.hasRoom('a', 3)).toBe(true);
    await take(p, 'k');
    expect(p.hasRoom('a', 2)).toBe(true);
    leave();
    leave();
    expect(p.hasRoom('a', 1)).toBe(true);
  });

  it('reserves a page at once, so two callers never both fetch it, and frees a reservation that fetches nothing', async () => {
    const p = new PagePrefetch();
    const key = PagePrefetch.key('w1', 4, 'h');
    const fulfil = p.reserve(key, 'lane');
    expect(fulfil).not.toBeNull();
    expect(p.reserve(key, 'lane')).toBeNull();
    // A job that takes the page before its request is decided waits for it; none means "ask yourself".
    const held = p.takePage(key)!;
    fulfil!(null);
    expect(await held.response).toBeNull();
    expect(await held.prepared).toBeNull();
    const again = p.reserve(key, 'lane')!;
    expect(p.hasRoom('lane', 1)).toBe(false);
    again(null);
    expect(p.hasRoom('lane', 1)).toBe(true);
    expect(p.size).toBe(0);
  });

  it('prepares a held page once its answer comes, and a failed preparation leaves the work to the job', async () => {
    const p = new PagePrefetch();
    const made = { cursorKey: '{"page":2}', frame: { next: null, records: 0 }, normalized: {} as never, payload: { bytes: Buffer.alloc(0), records: [] }, requestId: null };
    put(p, 'ok', 'lane', Promise.resolve(page(2)), (res) => ({ ...made, frame: { next: null, records: (res.body as unknown[]).length } }));
    expect(await p.takePage('ok')!.prepared).toMatchObject({ cursorKey: '{"page":2}', frame: { records: 1 } });
    put(p, 'bad', 'lane', Promise.resolve(page(3)), () => {
      throw new Error('page shape');
    });
    const bad = p.takePage('bad')!;
    expect(await bad.response).toEqual(page(3));
    expect(await bad.prepared).toBeNull();
  });

  it('sends nothing ahead once the worker is stopping (its answer would only be dropped)', async () => {
    const p = new PagePrefetch();
    let sent = 0;
    const lane = { concurrency: 3, name: 'lane', request: async () => (sent++, { sent: true, page: page(1) }) } as unknown as Lane;
    const deps = { store: p, db: { selectFrom: () => ({ select: () => ({ where: () => ({ where: () => ({ executeTakeFirst: async () => undefined }) }) }) }) } } as unknown as Parameters<typeof fetchAhead>[0];
    const ref = { src: { vendor: {}, config: {} }, lane, walk: { id: 'w1' }, page: 1, request: { method: 'GET', path: '/x' }, requestHash: 'h' } as unknown as PageRef;
    await fetchAhead(deps, ref);
    expect(sent).toBe(1);
    expect(p.size).toBe(1);
    p.close();
    await fetchAhead(deps, { ...ref, page: 2, requestHash: 'h2' });
    expect(sent).toBe(1);
    expect(p.size).toBe(1);
  });
});

describe('sendFirst', () => {
  it('waits for the next request to be sent, hands its failure on, and never waits on a send that hangs', async () => {
    const order: string[] = [];
    await sendFirst(async () => {
      await Promise.resolve();
      order.push('sent');
    }, () => order.push('failed'));
    order.push('prepared');
    await sendFirst(async () => {
      throw new Error('Redis is down');
    }, (err) => order.push(`failed: ${(err as Error).message}`));
    // A loop check or gate token that never answers (Postgres or Redis hanging) must not hold the page.
    await sendFirst(() => new Promise<void>(() => undefined), () => order.push('failed'), 5);
    order.push('prepared after a hanging send');
    expect(order).toEqual(['sent', 'prepared', 'failed: Redis is down', 'prepared after a hanging send']);
  });
});

/** A database of its own and an Automox simulator of one organization of `devices`, for one describe block. */
function walkSetup(seed: number, devices: number): { env: TestEnv; sim: AutomoxSimulator } {
  const setup = {} as { env: TestEnv; sim: AutomoxSimulator };
  beforeAll(async () => {
    setup.env = await createTestEnv();
    setup.sim = new AutomoxSimulator({ apiKey: KEY, data: generateAutomoxData({ seed, orgs: 1, devicesPerOrg: devices, packagesPerDevice: 0 }) });
  });
  afterAll(async () => {
    await setup.sim.stop();
    await setup.env.cleanup();
  });
  return setup;
}

describe('fetching ahead in a walk', () => {
  const setup = walkSetup(11, 23);

  it("requests page 1 while page 0 is still committing, then walks every page exactly once, exact", async () => {
    const { env, sim } = setup;
    const origin = await sim.start();
    const app = await env.open(testConfig([automoxSource('ax-ahead', `${origin}/api`, 'TEST_AUTOMOX_KEY', { rateLimits: { servers: { ...FAST, concurrency: 2 } } })]), vars);
    app.engine.startWorkers();
    const runId = await requestedWhileFirstPageWaits(env, app, sim, 'ax-ahead', 1);
    const run = await app.engine.waitForRun(runId);
    expect(run.status).toBe('succeeded');
    expect(pageRequests(sim)).toEqual(['0', '1', '2', '3', '4']);
    await expectDevicesRaw(env, sim.data.servers);

    // A fetched-ahead request that fails is its page's failure: a 4xx is not asked again and
    // fails the walk with the vendor's message.
    const again = sim.requests.length;
    sim.inject({ kind: 'status', status: 422, body: { errors: ['page 2 is not allowed'] }, match: (r) => r.path === '/api/servers' && r.query.get('page') === '2' });
    const second = await syncOnce(app, 'ax-ahead', ['devices']);
    expect(second.run.status).toBe('partial');
    expect(second.run.error_message).toMatch(/devices org \d+ page 2: 422/);
    const pages = sim.requests.slice(again).filter((r) => r.path === '/api/servers').map((r) => [r.query.get('page'), r.status]);
    expect(pages).toEqual([['0', 200], ['1', 200], ['2', 422]]);
    await expectDevicesRaw(env, sim.data.servers);
  });
});

describe('fetching ahead as soon as a page is parsed', () => {
  const setup = walkSetup(12, 33);

  it('asks for page 2 once page 1, fetched ahead, is parsed, while page 0 still waits to commit; then every page once, exact', async () => {
    const { env, sim } = setup;
    const origin = await sim.start();
    // Three slots: page 0's job, page 1 held ahead, and page 2 held ahead of page 1.
    const app = await env.open(testConfig([automoxSource('ax-chain', `${origin}/api`, 'TEST_AUTOMOX_KEY', { rateLimits: { servers: { ...FAST, concurrency: 3 } } })]), vars);
    app.engine.startWorkers();
    // Only page 1's answer, parsed ahead, knows page 2's request before page 0 commits.
    const runId = await requestedWhileFirstPageWaits(env, app, sim, 'ax-chain', 2);
    const run = await app.engine.waitForRun(runId);
    expect([run.status, run.error_message]).toEqual(['succeeded', null]);
    expect(pageRequests(sim)).toEqual(['0', '1', '2', '3', '4', '5', '6']);
    await expectDevicesRaw(env, sim.data.servers);
  });
});
