import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openApp, type App } from '../src/app.js';
import { parseConfig } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { Reconciler } from '../src/queue/reconciler.js';
import { Scheduler } from '../src/queue/schedules.js';
import { AutomoxSimulator, generateAutomoxData } from '../src/simulators/automox.js';
import { createTestEnv, TEST_WORKER, waitFor, type TestEnv } from './helpers.js';
import { automoxSource, FAST, testConfig } from './helpers/config.js';
import { freePort } from './helpers/ports.js';
import { TestRedis } from './helpers/redis-server.js';

// A schedule firing due while Redis was down, on a Redis that comes back without its job
// schedulers (no persistence), fires once when the scheduler is restored (src/queue/schedules.ts,
// catchUp). The test's own redis-server; the shared one is never touched.

const API_KEY = 'catch-up-key';
const silent = createLogger({ level: 'silent' });

describe('a schedule firing missed while Redis was down', () => {
  let env: TestEnv;
  let sim: AutomoxSimulator;
  let redis: TestRedis;
  let app: App;
  let scheduler: Scheduler;
  let reconciler: Reconciler;

  beforeAll(async () => {
    env = await createTestEnv();
    sim = new AutomoxSimulator({ apiKey: API_KEY, data: generateAutomoxData({ seed: 2, orgs: 1, devicesPerOrg: [3], packagesPerDevice: 0 }) });
    await sim.start();
    redis = new TestRedis(await freePort());
    await redis.start();
  });
  afterAll(async () => {
    await reconciler?.close();
    await scheduler?.close();
    await app?.close();
    redis.kill();
    await sim.stop();
    await env.cleanup();
  });

  it('fires once on recovery, then keeps its cron', async () => {
    const cfg = testConfig([automoxSource('ax-cu', `${sim.origin}/api`, 'CU_KEY', { rateLimits: { api: FAST, servers: FAST } })], { worker: { ...TEST_WORKER, reconcileIntervalMs: 200 } });
    app = await openApp({ config: parseConfig(cfg, { ...process.env, CU_KEY: API_KEY }), logger: silent, databaseUrl: env.databaseUrl, redisUrl: redis.url, prefix: env.prefix, whenDown: 'wait' });
    // Daily, at a second a few seconds from now (UTC): the next regular firing is a day away.
    const due = new Date(Math.ceil((Date.now() + 4_000) / 1000) * 1000);
    const cron = `${due.getUTCSeconds()} ${due.getUTCMinutes()} ${due.getUTCHours()} * * *`;
    const schedules = [{ name: 'daily-cu', cron, timeZone: 'UTC', sources: ['ax-cu'], resources: ['organizations'], mode: 'full' as const }];
    scheduler = new Scheduler({ redis: app.redis, prefix: app.prefix, engine: app.engine, sources: app.sources, schedules, logger: silent, onRedisError: () => undefined, db: app.db });
    await scheduler.sync();
    scheduler.start();
    const recorded = await env.db.selectFrom('sync_schedules').select('next_fire_at').where('name', '=', 'daily-cu').executeTakeFirstOrThrow();
    expect(recorded.next_fire_at).toEqual(due);

    // Redis goes away before the firing is due and comes back empty after it.
    await redis.stop();
    await waitFor(() => Date.now() > due.getTime() + 500, 'the firing due while Redis is down');
    await redis.start();
    reconciler = new Reconciler({ engine: app.engine, scheduler, logger: silent, intervalMs: 200 });
    await reconciler.start();

    const runs = () => env.db.selectFrom('sync_runs').select(['id', 'trigger']).where('source_id', '=', 'ax-cu').execute();
    await waitFor(async () => (await runs()).length > 0, 'the missed firing fired');
    // More reconciler passes (and a second scheduler restoring at the same time) fire nothing more.
    await scheduler.sync();
    const passes = (await reconciler.runOnce()).restoredSchedules.length;
    expect(passes).toBe(0);
    expect((await runs()).map((r) => r.trigger)).toEqual(['schedule:daily-cu']);
    const after = await env.db.selectFrom('sync_schedules').select(['next_fire_at', 'last_fired_at']).where('name', '=', 'daily-cu').executeTakeFirstOrThrow();
    expect(after.last_fired_at).not.toBeNull();
    expect(after.next_fire_at!.getTime()).toBe(due.getTime() + 24 * 3600 * 1000);
  });
});
