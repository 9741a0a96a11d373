import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../src/app.js';
import { resolveSchedules, Scheduler, type FiredRun } from '../src/queue/schedules.js';
import { AutomoxSimulator, generateAutomoxData } from '../src/simulators/automox.js';
import { createLogger } from '../src/logger.js';
import { createTestEnv, waitFor, type TestEnv } from './helpers.js';
import { automoxSource, FAST, testConfig } from './helpers/config.js';

const API_KEY = 'schedule-test-key';
const silent = createLogger({ level: 'silent' });

function config(baseUrl: string, schedules: unknown[]) {
  return testConfig([automoxSource('automox-sch', baseUrl, 'SCH_KEY', { rateLimits: { servers: FAST } })], { schedules });
}

function scheduler(app: App): Scheduler {
  return new Scheduler({ redis: app.redis, prefix: app.prefix, engine: app.engine, sources: app.sources, schedules: resolveSchedules(app.config.schedules, app.sources), logger: silent });
}

describe('schedules', () => {
  let env: TestEnv;
  let sim: AutomoxSimulator;
  let origin: string;
  const env2 = { ...process.env, SCH_KEY: API_KEY };

  beforeAll(async () => {
    env = await createTestEnv();
    sim = new AutomoxSimulator({ apiKey: API_KEY, data: generateAutomoxData({ seed: 21, orgs: 2, devicesPerOrg: [6, 4], packagesPerDevice: 1 }) });
    origin = await sim.start();
  });
  afterAll(async () => {
    await sim.stop();
    await env.cleanup();
  });

  it('upserts by name: restarts and several workers never duplicate a schedule; schedules that left the config are removed', async () => {
    const both = config(`${origin}/api`, [
      { name: 'nightly', cron: '0 2 * * *', timeZone: 'Europe/Berlin', resources: ['devices'] },
      { name: 'hourly', cron: '15 * * * *', resources: ['organizations', 'packages'], mode: 'incremental' },
    ]);
    const a = await env.open(both, env2);
    const b = await env.open(both, env2);
    const s1 = scheduler(a);
    const s2 = scheduler(b);
    try {
      await Promise.all([s1.sync(), s2.sync()]);
      await s1.sync(); // a restart
      const list = await s1.queue.getJobSchedulers(0, -1);
      expect(list.map((s) => s.key).sort()).toEqual(['hourly', 'nightly']);
      // One pending firing per schedule, not one per upsert.
      expect(await s1.queue.getDelayedCount()).toBe(2);
      const shown = await s1.list(2);
      const nightly = shown.find((s) => s.name === 'nightly')!;
      expect(nightly.registered).toBe(true);
      expect(nightly.next).toHaveLength(2);
      expect(new Date(nightly.next[0]!).getTime()).toBeGreaterThan(Date.now());

      // A worker started with a config that dropped "hourly" removes it.
      const c = await env.open(config(`${origin}/api`, [{ name: 'nightly', cron: '0 2 * * *', timeZone: 'Europe/Berlin', resources: ['devices'] }]), env2);
      const s3 = scheduler(c);
      const { removed } = await s3.sync();
      expect(removed).toEqual(['hourly']);
      expect((await s3.queue.getJobSchedulers(0, -1)).map((s) => s.key)).toEqual(['nightly']);
      expect(await s3.queue.getDelayedCount()).toBe(1);
      await s3.close();
    } finally {
      await s1.close();
      await s2.close();
      await s1.queue.obliterate({ force: true }).catch(() => undefined);
    }
  });

  it('a run still going when its schedule fires again is not started twice', async () => {
    // Fires every second; no lane worker runs yet, so the first run cannot finish.
    const app = await env.open(config(`${origin}/api`, [{ name: 'every-second', cron: '* * * * * *', resources: ['devices'] }]), env2);
    const s = scheduler(app);
    await s.sync();
    s.start();
    let fired: FiredRun[][] = [];
    try {
      fired = await waitFor(async () => {
        const done = await s.queue.getJobs(['completed']);
        return done.length >= 3 ? done.sort((x, y) => (x.finishedOn ?? 0) - (y.finishedOn ?? 0)).map((j) => j.returnvalue as FiredRun[]) : null;
      }, 'three firings', 20_000);
    } finally {
      for (const sch of await s.queue.getJobSchedulers(0, -1)) await s.queue.removeJobScheduler(sch.id ?? sch.key);
    }
    const runs = await env.db.selectFrom('sync_runs').select(['id', 'trigger', 'status', 'resources']).where('trigger', '=', 'schedule:every-second').execute();
    expect(runs).toHaveLength(1);
    expect(runs[0]!.resources).toEqual(['organizations', 'devices']);
    const runId = runs[0]!.id;
    expect(fired.flat().map((f) => [f.source, f.runId])).toEqual(fired.flat().map(() => ['automox-sch', runId]));
    expect(fired[0]![0]!.resumed).toBe(false);
    for (const f of fired.slice(1)) expect(f[0]!.resumed).toBe(true);

    // The run then completes once, with every device once.
    app.engine.startWorkers();
    const run = await app.engine.waitForRun(runId);
    expect(run.status).toBe('succeeded');
    const walks = await env.db.selectFrom('sync_walks').selectAll().where('run_id', '=', runId).where('resource', '=', 'devices').execute();
    expect(walks.reduce((n, w) => n + w.inserted, 0)).toBe(sim.data.servers.length);
    expect(await env.db.selectFrom('sync_runs').select('id').where('source_id', '=', 'automox-sch').where('status', '=', 'running').execute()).toEqual([]);
    await s.close();
  });
});
