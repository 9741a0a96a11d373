import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../src/app.js';
import { createLogger } from '../src/logger.js';
import { Scheduler } from '../src/queue/schedules.js';
import { AutomoxSimulator, generateAutomoxData } from '../src/simulators/automox.js';
import { createTestEnv, type TestEnv } from './helpers.js';
import { automoxSource, FAST, testConfig } from './helpers/config.js';
import { KEYS } from './helpers/reporting.js';
import { syncOnce } from './helpers/sync.js';

// reporting.sync_health's lag behind the schedules that cover a resource; the other views are in
// test/reporting.test.ts. One Automox source, configured as there.

const silent = createLogger({ level: 'silent' });

describe('reporting: lag behind schedules', () => {
  let env: TestEnv;
  let app: App;
  let ax: AutomoxSimulator;

  beforeAll(async () => {
    env = await createTestEnv();
    ax = new AutomoxSimulator({ apiKey: KEYS.AX, data: generateAutomoxData({ seed: 33, orgs: 3, devicesPerOrg: [12, 7, 0], packagesPerDevice: 4 }) });
    const origin = await ax.start();
    const cfg = testConfig([automoxSource('ax', `${origin}/api`, 'AX', { deletes: 'immediate', rateLimits: { api: FAST, servers: FAST } })]);
    app = await env.open(cfg, { ...process.env, AX: KEYS.AX });
    app.engine.startWorkers();
  });

  afterAll(async () => {
    await ax.stop();
    await env.cleanup();
  });

  it('measures a resource\'s lag behind the schedule that covers it', async () => {
    const scheduler = new Scheduler({ redis: app.redis, prefix: app.prefix, engine: app.engine, sources: app.sources, schedules: [{ name: 'ax-often', cron: '*/5 * * * *', timeZone: 'UTC', sources: ['ax'], resources: [], mode: 'full' }], logger: silent, db: env.db });
    try {
      expect((await syncOnce(app, 'ax')).run.status).toBe('succeeded');
      const lag = async () =>
        (
          await sql<{ due: Date | null; lag: number | null; schedules: string | null }>`
            select schedule_due_at as due, extract(epoch from schedule_lag)::float8 as lag, schedules from reporting.sync_health where source_id = 'ax' and resource = 'devices'`.execute(env.db)
        ).rows[0]!;
      await scheduler.sync();
      const rec = await env.db.selectFrom('sync_schedules').selectAll().executeTakeFirstOrThrow();
      expect([rec.name, rec.cron, rec.sources, rec.last_fired_at]).toEqual(['ax-often', '*/5 * * * *', ['ax'], null]);
      expect(new Date(rec.next_fire_at!).getTime()).toBeGreaterThan(Date.now() - 1000);
      // Registered, not fired yet, next firing ahead: nothing is due.
      expect(await lag()).toEqual({ due: null, lag: null, schedules: 'ax-often' });
      // A firing ten minutes ago, after which devices succeeded: on time.
      await sql`update sync_schedules set next_fire_at = now() - interval '10 minutes'`.execute(env.db);
      expect((await lag()).lag).toBe(0);
      // A firing the worker missed (it was down at the fire time): due since then, no walk since.
      const dueAt = (await sql<{ at: Date }>`update sync_schedules set next_fire_at = now() returning next_fire_at as at`.execute(env.db)).rows[0]!.at;
      const missed = await lag();
      expect(missed.due?.toISOString()).toBe(dueAt.toISOString());
      expect(missed.lag).toBeGreaterThan(0);
      // It fires: due from the firing until a run of devices succeeds after it.
      const [fired] = await scheduler.fire({ schedule: 'ax-often', sources: ['ax'], resources: [], mode: 'full' });
      const firedAt = (await env.db.selectFrom('sync_schedules').select('last_fired_at').executeTakeFirstOrThrow()).last_fired_at!;
      const run = await app.engine.waitForRun(fired!.runId);
      expect(run.status).toBe('succeeded');
      const after = await lag();
      expect([after.due?.toISOString(), after.lag]).toEqual([new Date(firedAt).toISOString(), 0]);
    } finally {
      await scheduler.close();
    }
  });
});
