import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { automox } from '../jobs/automox.js';
import { PagePrefetch, PREFETCH_TTL_MS } from '../src/queue/head-start/prefetch.js';
import { writeAheadRefusal, type WriteAheadCase } from '../src/queue/head-start/write-ahead.js';
import { AutomoxSimulator, generateAutomoxData } from '../src/simulators/automox.js';
import { normalizePage } from '../src/sync/normalize-page.js';
import { commitPageAhead, type CommitOutcome, type PageCommit } from '../src/warehouse/page-commit.js';
import { payloadRecords } from '../src/warehouse/payload.js';
import { getWalk, insertRun, type WalkRow } from '../src/warehouse/walks.js';
import { createTestEnv, waitFor, type TestEnv } from './helpers.js';
import { automoxSource, FAST, testConfig } from './helpers/config.js';
import { expectDevicesRaw } from './helpers/warehouse.js';

// Writing a page ahead (src/queue/write-ahead.ts): the next page's rows go in while this page
// commits; its cursor commits only after this page's, and nothing of it when this page fails.

const KEY = 'test-automox-key-write-ahead-0123456789';
const vars = { ...process.env, TEST_AUTOMOX_KEY: KEY };

describe('writeAheadRefusal', () => {
  const base: WriteAheadCase = { ids: ['1', '2'], nextIds: ['3', '4'], nextIsLast: false, requestHash: 'a', nextRequestHash: 'b', afterNextRequestHash: 'c' };

  it('lets a next page with its own ids and requests be written ahead', () => {
    expect(writeAheadRefusal(base)).toBeNull();
  });

  it('refuses a last page, a page that shares an id with this one, and repeated requests', () => {
    expect(writeAheadRefusal({ ...base, nextIsLast: true })).toMatch(/ends the walk/);
    expect(writeAheadRefusal({ ...base, nextIds: ['3', '2'] })).toBe('id 2 is on both pages');
    expect(writeAheadRefusal({ ...base, nextRequestHash: 'a' })).toMatch(/repeat/);
    expect(writeAheadRefusal({ ...base, afterNextRequestHash: 'a' })).toMatch(/repeat/);
    expect(writeAheadRefusal({ ...base, afterNextRequestHash: 'b' })).toMatch(/repeat/);
    expect(writeAheadRefusal({ ...base, afterNextRequestHash: null })).toBeNull();
  });
});

describe('PagePrefetch.peekPage', () => {
  it('shows a held page without taking it, and nothing once it expired', async () => {
    let now = 0;
    const p = new PagePrefetch(() => now);
    const res = { status: 200, body: [], requestId: null, throttleMs: 0, headers: {} };
    p.reserve('k', 'lane')!(Promise.resolve(res));
    const seen = p.peekPage('k')!;
    expect(await seen.response).toEqual(res);
    expect(p.takePage('k')!.prepared).toBe(seen.prepared);
    expect(p.peekPage('k')).toBeNull();
    p.reserve('old', 'lane')!(Promise.resolve(res));
    now += PREFETCH_TTL_MS + 1;
    expect(p.peekPage('old')).toBeNull();
  });
});

describe('commitPage of a page written ahead', () => {
  let env: TestEnv;
  let walk: WalkRow;
  const data = generateAutomoxData({ seed: 5, orgs: 1, devicesPerOrg: 15, packagesPerDevice: 0 });
  const def = automox.resources.find((r) => r.name === 'devices')!;

  beforeAll(async () => {
    env = await createTestEnv();
    // A run and a devices walk of one organization, as a run's start makes them; no worker runs:
    // the test commits the walk's pages itself.
    const runId = await env.db.transaction().execute((trx) => insertRun(trx, { sourceId: 'ax-wa', trigger: 'test', mode: 'full', resources: ['devices'] }));
    const org = String(data.orgs[0]!.id);
    await env.db
      .insertInto('sync_walks')
      .values({ run_id: runId, source_id: 'ax-wa', resource: 'devices', scope: org, parent_walk_id: null, mode: 'full', status: 'running', cursor: '{"page":0}', total: null, since: null, high_water_mark: null, waiting_until: null, waiting_reason: null, error_status: null, error_message: null, error_request_id: null, finished_at: null })
      .execute();
    walk = await env.db.selectFrom('sync_walks').selectAll().where('run_id', '=', runId).executeTakeFirstOrThrow();
  });
  afterAll(async () => {
    await env.cleanup();
  });

  const pageOf = (page: number, next: string | null): PageCommit => {
    const servers = data.servers.slice(page * 5, page * 5 + 5);
    const normalized = normalizePage(def, servers, { sourceId: 'ax-wa', scope: walk.scope, where: `page ${page}` });
    return {
      ...normalized,
      payload: payloadRecords(normalized.rows),
      walk,
      page,
      table: 'devices',
      records: servers.length,
      next,
      total: null,
      requestHash: `request ${page}`,
      nextRequestHash: next === null ? null : `request ${page + 1}`,
      sweep: { policy: { deletes: 'confirm', maxDeleteShare: 0.5, label: 'devices' }, range: null },
      history: true,
    };
  };
  const ids = (page: number) => data.servers.slice(page * 5, page * 5 + 5).map((s) => String(s.id));
  const stored = async (page: number) =>
    (await env.db.selectFrom('devices').select('external_id').where('external_id', 'in', ids(page)).execute()).length;
  const openVersions = async (page: number) =>
    (await sql<{ n: number }>`SELECT count(*)::int AS n FROM devices_history WHERE external_id = ANY(${ids(page)}::text[]) AND valid_to IS NULL`.execute(env.db)).rows[0]!.n;
  const noChildren = async () => null;

  it('rolls back when the page before does not commit, or fails, or the walk moved on', async () => {
    expect(await commitPageAhead(env.db, pageOf(1, '{"page":2}'), { onComplete: noChildren }, { after: Promise.resolve(false) })).toEqual({ committed: false });
    expect(await commitPageAhead(env.db, pageOf(1, '{"page":2}'), { onComplete: noChildren }, { after: Promise.reject(new Error('page 0: Postgres went away')) })).toEqual({ committed: false });
    // The page before "committed", but the walk is still at page 0: another delivery's doing.
    expect(await commitPageAhead(env.db, pageOf(1, '{"page":2}'), { onComplete: noChildren }, { after: Promise.resolve(true) })).toEqual({ committed: false });
    expect(await stored(1)).toBe(0);
    expect(await openVersions(1)).toBe(0);
    expect((await getWalk(env.db, walk.id))!.pages).toBe(0);
  });

  it('writes its rows before the page before commits, waits for it in Postgres, and commits its cursor after it', async () => {
    // Page 0's transaction, as commitPage runs it: the walk row locked first, the cursor advanced.
    let ahead: Promise<CommitOutcome> = Promise.resolve({ committed: false });
    await env.db.transaction().execute(async (trx) => {
      await trx.selectFrom('sync_walks').select('pages').where('id', '=', walk.id).forUpdate().execute();
      ahead = commitPageAhead(env.db, pageOf(1, '{"page":2}'), { onComplete: noChildren }, { after: Promise.resolve(true), fromCursor: (c) => JSON.stringify(c) === '{"page":1}' });
      // Its rows are in (uncommitted) and it waits for the walk row, in Postgres.
      const waited = waitFor(
        async () =>
          (
            await sql<{ n: number }>`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query ~ 'sync_walks' AND query ~* 'for update'`.execute(env.db)
          ).rows[0]!.n === 1,
        'the page written ahead waits for the walk row',
      );
      await waited.catch(async (err: unknown) => {
        await ahead.catch(() => undefined);
        throw err;
      });
      expect(await stored(1)).toBe(0);
      await trx.updateTable('sync_walks').set({ pages: 1, cursor: '{"page":1}' }).where('id', '=', walk.id).execute();
    });
    // This commit let it go on.
    expect(await ahead).toMatchObject({ committed: true, counts: { inserted: 5 } });
    const w = (await getWalk(env.db, walk.id))!;
    expect(w).toMatchObject({ pages: 2, inserted: 5, records: 5, cursor: { page: 2 } });
    expect(await stored(1)).toBe(5);
    expect(await openVersions(1)).toBe(5);
    expect((await env.db.selectFrom('sync_walk_pages').select('page').where('walk_id', '=', walk.id).execute()).map((r) => r.page)).toEqual([1]);
  });

  it('rolls back when the page before committed another cursor (another delivery of it)', async () => {
    const other = commitPageAhead(env.db, pageOf(2, '{"page":3}'), { onComplete: noChildren }, { after: Promise.resolve(true), fromCursor: (c) => JSON.stringify(c) === '{"page":"elsewhere"}' });
    expect(await other).toEqual({ committed: false });
    expect(await stored(2)).toBe(0);
    expect((await getWalk(env.db, walk.id))!.pages).toBe(2);
  });
});

describe('writing ahead in a walk', () => {
  let env: TestEnv;
  let sim: AutomoxSimulator;

  beforeAll(async () => {
    env = await createTestEnv();
    sim = new AutomoxSimulator({ apiKey: KEY, data: generateAutomoxData({ seed: 12, orgs: 1, devicesPerOrg: 53, packagesPerDevice: 0 }) });
  });
  afterAll(async () => {
    await sim.stop();
    await env.cleanup();
  });

  it('writes page 4 while page 3 commits, and commits nothing of it while page 3 fails; then lands every device once', async () => {
    const origin = await sim.start();
    const app = await env.open(testConfig([automoxSource('ax-wa2', `${origin}/api`, 'TEST_AUTOMOX_KEY', { rateLimits: { servers: { ...FAST, concurrency: 2 } } })]), vars);
    // Page 3's first device waits for this session's advisory lock, then fails once: its page's
    // transaction is held open, then rolled back, while page 4 is written ahead beside it.
    const blocked = String(sim.data.servers[15]!.id);
    await sql`CREATE SEQUENCE write_ahead_fail`.execute(env.db);
    await sql
      .raw(
        `CREATE FUNCTION write_ahead_block() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF NEW.external_id = '${blocked}' THEN
            PERFORM pg_advisory_xact_lock_shared(4242);
            IF nextval('write_ahead_fail') = 1 THEN RAISE EXCEPTION 'test: page 3 fails once'; END IF;
          END IF;
          RETURN NEW;
        END $$`,
      )
      .execute(env.db);
    await sql`CREATE TRIGGER write_ahead_block BEFORE INSERT ON devices FOR EACH ROW EXECUTE FUNCTION write_ahead_block()`.execute(env.db);
    await env.db.connection().execute(async (conn) => {
      await sql`SELECT pg_advisory_lock(4242)`.execute(conn);
      app.engine.startWorkers();
      const { runId } = await app.engine.startRun('ax-wa2', { trigger: 'test', resources: ['devices'] });
      const page4 = sim.data.servers.slice(20, 25).map((s) => String(s.id));
      // Once page 3's transaction waits for the lock (pages 0-2 committed), page 4's rows are
      // written, not yet committed, by a transaction that waits for page 3's walk row.
      await waitFor(
        async () =>
          (
            await sql<{ blocked: number; ahead: number }>`SELECT
              count(*) FILTER (WHERE wait_event_type = 'Lock' AND wait_event = 'advisory')::int AS blocked,
              count(*) FILTER (WHERE wait_event_type = 'Lock' AND query ~ 'sync_walks' AND query ~* 'for update')::int AS ahead
              FROM pg_stat_activity WHERE datname = current_database()`.execute(conn)
          ).rows.some((r) => r.blocked === 1 && r.ahead === 1),
        'page 4 written while page 3 commits',
      );
      const w = await env.db.selectFrom('sync_walks').select(['pages']).where('run_id', '=', runId).where('resource', '=', 'devices').executeTakeFirstOrThrow();
      expect(w.pages).toBe(3);
      await sql`SELECT pg_advisory_unlock(4242)`.execute(conn);
      const run = await app.engine.waitForRun(runId);
      expect(run.status).toBe('succeeded');
      await expectDevicesRaw(env, sim.data.servers);
      const walk = await env.db.selectFrom('sync_walks').selectAll().where('run_id', '=', runId).where('resource', '=', 'devices').executeTakeFirstOrThrow();
      // Page 4's rows counted once: written by the page that committed, not by the one rolled back.
      expect(walk).toMatchObject({ pages: 11, records: 53, inserted: 53, updated: 0 });
      expect((await env.db.selectFrom('devices').select('external_id').where('external_id', 'in', page4).execute()).length).toBe(5);
      expect(Number((await sql<{ n: string }>`SELECT last_value::text AS n FROM write_ahead_fail`.execute(conn)).rows[0]!.n)).toBeGreaterThanOrEqual(2);
    });
  });
});
