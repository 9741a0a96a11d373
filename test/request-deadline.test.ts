import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderOverview } from '../src/dashboard-pages.js';
import { createLogger } from '../src/logger.js';
import { overdueAfterMs, overduePageJobs } from '../src/overdue-jobs.js';
import { AutomoxSimulator, generateAutomoxData } from '../src/simulators/automox.js';
import type { HttpSimulator } from '../src/simulators/http-sim.js';
import { collectStatus, formatStatus } from '../src/status.js';
import { createTestEnv, TEST_WORKER, waitFor, type TestEnv } from './helpers.js';
import { automoxSource, FAST, testConfig } from './helpers/config.js';
import { syncOnce } from './helpers/sync.js';

// Every request has a total deadline, headers and body (src/http/client.ts): a vendor that sends
// its answer a byte at a time fails the page like a timeout instead of stalling the source; a
// page job active far past that anyway is flagged in status, the dashboard and a metric.

const KEY = 'test-automox-key-deadline-0123456789';
const vars = { ...process.env, TEST_AUTOMOX_KEY: KEY };
let env: TestEnv;
const sims: HttpSimulator[] = [];

beforeAll(async () => {
  env = await createTestEnv();
});
afterAll(async () => {
  for (const s of sims) await s.stop();
  await env.cleanup();
});

async function automox(id: string, worker: Record<string, unknown>) {
  const sim = new AutomoxSimulator({ apiKey: KEY, data: generateAutomoxData({ seed: 3, orgs: 1, devicesPerOrg: [12], packagesPerDevice: 0 }) });
  sims.push(sim);
  const origin = await sim.start();
  const app = await env.open(testConfig([automoxSource(id, `${origin}/api`, 'TEST_AUTOMOX_KEY', { rateLimits: { servers: FAST } })], { worker: { ...TEST_WORKER, ...worker } }), vars);
  return { sim, app, org: String(sim.data.orgs[0]!.id) };
}

describe('the request deadline', () => {
  it('fails a page whose answer trickles in a byte at a time, one request per attempt, naming the deadline', async () => {
    const { sim, app, org } = await automox('ax-trickle', { requestTimeoutMs: 300, requestDeadlineMs: 1000, attempts: 2, backoffMs: 50 });
    app.engine.startWorkers();
    const page1 = (r: { path: string; query: URLSearchParams }) => r.path === '/api/servers' && r.query.get('o') === org && r.query.get('page') === '1';
    // A space every 100 ms: the connection is never silent for the 300 ms timeout.
    sim.inject({ kind: 'trickle', everyMs: 100, times: Number.POSITIVE_INFINITY, match: page1 });
    const { runId } = await syncOnce(app, 'ax-trickle', ['devices']);
    const walk = await env.db.selectFrom('sync_walks').selectAll().where('run_id', '=', runId).where('resource', '=', 'devices').executeTakeFirstOrThrow();
    expect(walk.status).toBe('failed');
    expect(walk.error_message).toMatch(/^ax-trickle\/devices org \d+ page 1: no complete answer from the vendor at 127\.0\.0\.1:\d+ within the request deadline of 1000 ms \(headers and body; worker\.requestDeadlineMs\) \(gave up after 2 attempts\)$/);
    // A passed deadline already cost a whole deadline: no in-process retry, one request per attempt.
    expect(sim.requests.filter(page1).length).toBe(2);
  });

  it('defaults to twice the timeout; a stuck page job is flagged far past it', () => {
    const w = { requestTimeoutMs: 60_000, requestDeadlineMs: undefined, requestRetries: 3, maxInProcessWaitMs: 30_000 };
    expect(overdueAfterMs(w)).toBe(20 * 60_000);
    expect(overdueAfterMs({ ...w, requestDeadlineMs: 10_000, requestRetries: 0, maxInProcessWaitMs: 0 })).toBe(20_000);
  });
});

describe('a page job active far past its deadline', () => {
  it('is flagged in status, on the dashboard and in the metric, and no longer once it moves', async () => {
    // Flagged after 2 x (100 ms + 0) = 200 ms.
    const { app } = await automox('ax-stuck', { requestTimeoutMs: 100, requestDeadlineMs: 100, requestRetries: 0, maxInProcessWaitMs: 0 });
    const { runId } = await app.engine.startRun('ax-stuck', { trigger: 'test', resources: ['devices'] });
    let release: () => void = () => undefined;
    const released = new Promise<void>((r) => (release = r));
    let locked: () => void = () => undefined;
    const holding = new Promise<void>((r) => (locked = r));
    // Another session holds the walk's row: the page's commit waits for it (a lock wait).
    const holder = env.db.transaction().execute(async (trx) => {
      await sql`SELECT id FROM sync_walks WHERE run_id = ${runId} FOR UPDATE`.execute(trx);
      locked();
      await released;
    });
    await holding;
    app.engine.startWorkers();
    const status = () => collectStatus(env.db, app.engine, ['ax-stuck'], () => 'automox', () => ['devices']);
    const [stuck] = await waitFor(async () => ((await status())[0]!.overdue.length > 0 ? (await status())[0]!.overdue : null), 'the stuck page job flagged');
    expect([stuck!.source, stuck!.resource, stuck!.scope, stuck!.page]).toEqual(['ax-stuck', 'organizations', '-', 0]);
    expect(formatStatus(await status())).toMatch(/! ax-stuck\/organizations scope - page 0 \(walk \d+\): page job active for \d+ s, far past its request deadline; look for a lock wait in Postgres or a hung worker/);
    const ctx = { db: env.db, logger: createLogger({ level: 'silent' }), sources: [], csrf: null, overdue: () => overduePageJobs(app.engine.queues(), overdueAfterMs(app.config.worker)) };
    expect(await renderOverview(ctx, 5)).toContain('ax-stuck/organizations scope - page 0');
    expect(await app.metrics.registry.metrics()).toMatch(/fleetsync_page_jobs_overdue\{source="ax-stuck",queue="pages\.automox"\} 1/);

    release();
    await holder;
    expect((await app.engine.waitForRun(runId)).status).toBe('succeeded');
    expect((await status())[0]!.overdue).toEqual([]);
    expect(await app.metrics.registry.metrics()).not.toContain('fleetsync_page_jobs_overdue{');
  });
});
