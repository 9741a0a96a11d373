import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../src/app.js';
import { EventCore, eventQueueName, pollSchedulerId } from '../src/events/core.js';
import { AutomoxSimulator, generateAutomoxData, type AutomoxServer } from '../src/simulators/automox.js';
import { createTestEnv, waitFor, type TestEnv } from './helpers.js';
import { automoxSource, FAST, testConfig } from './helpers/config.js';
import { syncOnce } from './helpers/sync.js';

// Automox `/events` polled between walks (jobs/automox-events.ts, src/events/poll.ts): device
// removals and additions reach the warehouse without a walk; lost events are repaired by the next
// walk; the feed's cursor lives in Postgres, so a restarted worker resumes where the last poll stopped.

const KEY = 'test-automox-key-events-poll-0123456789';
const vars = { ...process.env, TEST_AUTOMOX_KEY: KEY };

let env: TestEnv;
let sim: AutomoxSimulator;
let app: App;

beforeAll(async () => {
  env = await createTestEnv();
  sim = new AutomoxSimulator({ apiKey: KEY, data: generateAutomoxData({ seed: 5, orgs: 2, devicesPerOrg: [7, 4], packagesPerDevice: 0 }) });
  const origin = await sim.start();
  const source = automoxSource('ax', `${origin}/api`, 'TEST_AUTOMOX_KEY', { resources: ['organizations', 'devices'], rateLimits: { servers: FAST, api: FAST }, events: { every: '5m' } });
  app = await env.open(testConfig([source]), vars);
  app.engine.startWorkers();
  expect((await syncOnce(app, 'ax')).run.status).toBe('succeeded');
  app.events.startWorkers();
});
afterAll(async () => {
  await sim.stop();
  await env.cleanup();
});

const device = (id: number) => env.db.selectFrom('devices').selectAll().where('source_id', '=', 'ax').where('external_id', '=', String(id)).executeTakeFirst();
const runs = async () => Number((await sql<{ n: string }>`SELECT count(*)::text AS n FROM sync_runs WHERE source_id = 'ax'`.execute(env.db)).rows[0]!.n);
const newServer = (id: number, orgIndex: number): AutomoxServer => {
  const org = sim.data.orgs[orgIndex]!;
  const like = sim.data.servers.find((s) => s.organization_id === org.id)!;
  return { ...like, id, name: `EV-${id}`, display_name: `EV-${id}` };
};

describe('Automox events between walks', () => {
  it('a removal and an addition reach the warehouse through /events, without a walk', async () => {
    const before = await runs();
    const victim = sim.data.servers.find((s) => s.organization_id === sim.data.orgs[1]!.id)!;
    sim.removeServer(victim.id);
    sim.addServer(newServer(1_900_001, 0));
    const polled = await app.events.poll('ax');
    expect(polled).toMatchObject({ queued: 2, duplicates: 0, stopped: null });
    await waitFor(async () => (await device(victim.id))?.deleted_at, 'the removal applied');
    await waitFor(async () => (await device(1_900_001))?.name === 'EV-1900001', 'the addition applied');
    expect(await runs()).toBe(before);
    // Each organization's two feeds were read through the api lane, with the published parameters.
    const asks = sim.requests.filter((r) => r.path === '/api/events');
    expect(new Set(asks.map((r) => `${r.query.get('o')} ${r.query.get('eventName')}`))).toEqual(new Set(sim.data.orgs.flatMap((o) => [`${o.id} system.add`, `${o.id} system.delete`])));
    expect(asks.every((r) => /^\d{4}-\d{2}-\d{2}$/.test(r.query.get('startDate') ?? '') && r.query.get('limit') === '5')).toBe(true);
  });

  it('an event read again (the overlap, a second poll) is a duplicate, applied once', async () => {
    const again = await app.events.poll('ax');
    expect(again).toMatchObject({ queued: 0, duplicates: 2 });
  });

  it('lost events change nothing until the next walk, which repairs the warehouse', async () => {
    const victim = sim.data.servers.find((s) => s.organization_id === sim.data.orgs[0]!.id && s.id !== 1_900_001)!;
    sim.removeServer(victim.id, { quiet: true });
    sim.addServer(newServer(1_900_002, 1), { quiet: true });
    expect(await app.events.poll('ax')).toMatchObject({ queued: 0 });
    expect((await device(victim.id))?.deleted_at).toBeNull();
    expect(await device(1_900_002)).toBeUndefined();
    expect((await syncOnce(app, 'ax')).run.status).toBe('succeeded');
    expect((await device(victim.id))?.deleted_at).not.toBeNull();
    expect((await device(1_900_002))?.deleted_at).toBeNull();
  });

  it('the feed cursor is in Postgres: a restarted worker reads the events that came while it was down', async () => {
    const t0 = Date.now();
    const core = (at: number) =>
      new EventCore({ db: env.db, redis: app.redis, prefix: app.prefix, sources: app.sources, worker: app.config.worker, logger: app.logger, openLane: (id, lane) => app.engine.openLane(id, lane), onRedisError: () => undefined, now: () => at });
    const first = core(t0);
    await first.poll('ax');
    await first.close();
    // While no worker polls: a device is removed ten minutes on; the next worker starts hours later.
    sim.now = () => t0 + 10 * 60_000;
    const victim = sim.data.servers.find((s) => s.organization_id === sim.data.orgs[0]!.id && s.id !== 1_900_001)!;
    sim.removeServer(victim.id);
    const second = core(t0 + 3 * 3_600_000);
    try {
      expect(await second.poll('ax')).toMatchObject({ queued: 1, stopped: null });
    } finally {
      await second.close();
      sim.now = () => Date.now();
    }
    await waitFor(async () => (await device(victim.id))?.deleted_at, 'the removal read after the restart applied');
  });

  it('polls on a schedule of its own: a job scheduler every `events.every` on the vendor events queue, restored when Redis lost it', async () => {
    const queue = app.events.queue(eventQueueName('automox'));
    await app.events.syncPolls(['ax']);
    expect((await queue.getJobSchedulers()).find((s) => s.key === pollSchedulerId('ax'))).toMatchObject({ every: 300_000 });
    // Its first poll is due at once and runs on the events worker.
    const polled = await waitFor(async () => (await queue.getCompleted()).find((j) => j.name === 'poll'), 'the scheduled poll done');
    expect(polled.returnvalue).toMatchObject({ stopped: null });
    await queue.removeJobScheduler(pollSchedulerId('ax'));
    await app.events.syncPolls(['ax']);
    expect((await queue.getJobSchedulers()).map((s) => s.key)).toEqual([pollSchedulerId('ax')]);
    // A source gone from the configuration loses its poll.
    await queue.upsertJobScheduler(pollSchedulerId('gone'), { every: 60_000 }, { name: 'poll', data: { kind: 'poll', source: 'gone' } });
    await app.events.syncPolls(['ax', 'gone']);
    expect((await queue.getJobSchedulers()).map((s) => s.key)).toEqual([pollSchedulerId('ax')]);
  });
});
