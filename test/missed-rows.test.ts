import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HttpGet } from '../src/http/client.js';
import { VendorError } from '../src/http/errors.js';
import { LaneGate } from '../src/queue/lane-gate.js';
import { Lane } from '../src/queue/lanes.js';
import { askAboutMissed, itemVerdict } from '../src/queue/missed-rows.js';
import { analyzeIfStale, ENGINE_STATISTICS_TARGET, STATS_CHECK_INTERVAL_MS, statsAreStale, statsCheckDue } from '../src/warehouse/table-stats.js';
import { createTestEnv, deleteRedisPrefix, REDIS_URL, waitFor, type TestEnv } from './helpers.js';

// The per-id questions about rows a walk missed (src/queue/missed-rows.ts), through a real gate
// in Redis, and the statistics keeper (src/warehouse/table-stats.ts) on a real Postgres.

const prefix = `fst-missed-${randomBytes(4).toString('hex')}`;
const redis = new Redis(REDIS_URL);
let env: TestEnv;

beforeAll(async () => {
  env = await createTestEnv();
});
afterAll(async () => {
  redis.disconnect();
  await deleteRedisPrefix(prefix);
  await env.cleanup();
});

/** A lane over a real gate whose vendor answers each path with `answers[path]`. */
function laneAnswering(name: string, answers: Record<string, number>, windows = [{ max: 1000, durationMs: 1000 }]): { lane: Lane; asked: string[] } {
  const asked: string[] = [];
  const http: HttpGet = async (req) => {
    const path = req.path ?? '';
    asked.push(path);
    const status = answers[path] ?? 500;
    if (status >= 200 && status < 300) return { status, body: {}, requestId: null, throttleMs: 0, headers: {} };
    throw new VendorError({ kind: status === 404 ? 'invalid_request' : status === 410 ? 'gone' : 'retryable', status, message: `${path}: ${status}` });
  };
  const lane = new Lane({ sourceId: 's', laneClass: 'api', limit: { windows, concurrency: 1 }, gate: new LaneGate(redis, `${prefix}:${name}`, windows), http, rateLimitBackoffMs: 1000 });
  return { lane, asked };
}

describe('itemVerdict', () => {
  it('counts 404 and 410 as gone, 2xx as present, anything else as no answer', () => {
    expect([404, 410, 200, 204, 500, 503, 429, 401, 403, 400].map(itemVerdict)).toEqual(['gone', 'gone', 'present', 'present', 'unknown', 'unknown', 'unknown', 'unknown', 'unknown', 'unknown']);
  });
});

describe('askAboutMissed', () => {
  it('asks id by id and sorts the answers; the first answer that tells nothing stops it and the rest stay unknown', async () => {
    const { lane, asked } = laneAnswering('stop', { '/x/1': 404, '/x/2': 200, '/x/3': 410, '/x/4': 503, '/x/5': 404 });
    const out = await askAboutMissed(lane, ['1', '2', '3', '4', '5'], (id) => ({ path: `/x/${id}` }), { maxIds: 100, maxWaitMs: 1000 });
    expect(out).toEqual({ gone: ['1', '3'], present: ['2'], unknown: 2, problem: 'asking for 4: /x/4: 503' });
    expect(asked).toEqual(['/x/1', '/x/2', '/x/3', '/x/4']);
  });

  it('asks at most maxIds ids per walk and says so', async () => {
    const { lane } = laneAnswering('cap', { '/x/1': 404, '/x/2': 404, '/x/3': 404 });
    const out = await askAboutMissed(lane, ['1', '2', '3'], (id) => ({ path: `/x/${id}` }), { maxIds: 2, maxWaitMs: 1000 });
    expect(out).toEqual({ gone: ['1', '2'], present: [], unknown: 1, problem: 'only 2 ids are asked per walk' });
  });

  it('keeps to the lane: a window spent beyond the wait budget stops the questions without a request', async () => {
    const { lane, asked } = laneAnswering('full', { '/x/1': 404, '/x/2': 404 }, [{ max: 1, durationMs: 60_000 }]);
    const out = await askAboutMissed(lane, ['1', '2'], (id) => ({ path: `/x/${id}` }), { maxIds: 10, maxWaitMs: 0 });
    expect(out).toEqual({ gone: ['1'], present: [], unknown: 1, problem: "the lane's rate limit left no room for more questions in this walk" });
    expect(asked).toEqual(['/x/1']);
  });
});

describe('statsCheckDue', () => {
  it('asks at most once per interval per table, and never while a check runs', () => {
    expect(statsCheckDue(undefined, 5_000)).toBe(true);
    expect(statsCheckDue(5_000, 5_000 + STATS_CHECK_INTERVAL_MS - 1)).toBe(false);
    expect(statsCheckDue(5_000, 5_000 + STATS_CHECK_INTERVAL_MS)).toBe(true);
    expect(statsCheckDue(Number.POSITIVE_INFINITY, 1e15)).toBe(false);
  });
});

describe('statsAreStale', () => {
  it('wants an analyze once a table holds twice the rows its statistics were taken with', () => {
    expect(statsAreStale(999, -1)).toBe(false);
    expect(statsAreStale(1000, -1)).toBe(true); // never analyzed
    expect(statsAreStale(1000, 0)).toBe(true);
    expect(statsAreStale(199_999, 100_000)).toBe(false);
    expect(statsAreStale(200_000, 100_000)).toBe(true);
  });
});

/** How many histogram bounds a column's statistics hold (one more than the statistics target for a column of distinct values). */
async function histogramBounds(table: string, column: string): Promise<number> {
  const res = await sql<{ n: number }>`
    SELECT cardinality(histogram_bounds::text::text[])::int AS n FROM pg_stats
    WHERE schemaname = current_schema() AND tablename = ${table} AND attname = ${column}`.execute(env.db);
  return res.rows[0]?.n ?? 0;
}

describe('analyzeIfStale', () => {
  it('analyzes a table that grew past the threshold since its statistics were taken, and only then', async () => {
    await env.db.connection().execute(async (conn) => {
      await sql`INSERT INTO devices (source_id, external_id, scope, raw) SELECT 'stats', g::text, '-', '{}'::jsonb FROM generate_series(1, 1500) g`.execute(conn);
      // A backend's counters reach the shared statistics at its next flush: ask for it now.
      await sql`SELECT pg_stat_force_next_flush()`.execute(conn);
    });
    const changed = async () => Number((await sql<{ n: string }>`SELECT n_live_tup::text AS n FROM pg_stat_user_tables WHERE relname = 'devices'`.execute(env.db)).rows[0]?.n ?? 0);
    await waitFor(async () => (await changed()) >= 1500, 'the insert in the table statistics');
    expect(await analyzeIfStale(env.db, ['devices', 'packages'])).toEqual(['devices']);
    const stats = await sql<{ reltuples: number }>`SELECT reltuples::float8 AS reltuples FROM pg_class WHERE relname = 'devices' AND relkind = 'r'`.execute(env.db);
    expect(stats.rows[0]!.reltuples).toBe(1500);
    expect(await analyzeIfStale(env.db, ['devices'])).toEqual([]);
    // Only the columns the engine plans on have statistics: not raw, not the normalized columns.
    const cols = (await sql<{ attname: string }>`SELECT attname FROM pg_stats WHERE tablename = 'devices' AND schemaname = current_schema()`.execute(env.db)).rows.map((r) => r.attname);
    expect(cols.sort()).toEqual(['deleted_at', 'external_id', 'missing_since', 'organization_external_id', 'scope', 'source_id']);
    // From a small sample (ENGINE_STATISTICS_TARGET): 1,500 distinct ids would fill 101 histogram bounds at the default target.
    expect(await histogramBounds('devices', 'external_id')).toBe(ENGINE_STATISTICS_TARGET + 1);
  });

  it('analyzes a table without any planned column as a whole', async () => {
    await env.db.connection().execute(async (conn) => {
      await sql`CREATE TABLE stats_plain (n int, m int)`.execute(conn);
      // A column's own statistics target is kept.
      await sql`ALTER TABLE stats_plain ALTER m SET STATISTICS 100`.execute(conn);
      await sql`INSERT INTO stats_plain SELECT g, g FROM generate_series(1, 1500) g`.execute(conn);
      await sql`SELECT pg_stat_force_next_flush()`.execute(conn);
    });
    const live = async () => Number((await sql<{ n: string }>`SELECT n_live_tup::text AS n FROM pg_stat_user_tables WHERE relname = 'stats_plain'`.execute(env.db)).rows[0]?.n ?? 0);
    await waitFor(async () => (await live()) >= 1500, 'the insert in the table statistics');
    expect(await analyzeIfStale(env.db, ['stats_plain'])).toEqual(['stats_plain']);
    const cols = (await sql<{ attname: string }>`SELECT attname FROM pg_stats WHERE tablename = 'stats_plain' AND schemaname = current_schema()`.execute(env.db)).rows.map((r) => r.attname);
    expect(cols.sort()).toEqual(['m', 'n']);
    expect(await histogramBounds('stats_plain', 'n')).toBe(ENGINE_STATISTICS_TARGET + 1);
    expect(await histogramBounds('stats_plain', 'm')).toBe(101);
  });
});
