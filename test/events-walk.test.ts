import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../src/app.js';
import { AutomoxSimulator, generateAutomoxData, type AutomoxServer } from '../src/simulators/automox.js';
import { createTestEnv, REDIS_URL, waitFor, type TestEnv } from './helpers.js';
import { automoxSource, FAST, testConfig } from './helpers/config.js';

// A walk running while events apply stays exact (docs/freshness.md, Walks stay exact): an event
// never moves its cursor, and a row an event wrote after the walk started is not the walk's to
// sweep, even when the walk read its page before the change (here: a device added at the front of
// a listing whose first pages were read). With `deletes: immediate` the sweep would delete it at
// once; the device removed before the walk is still swept.

const KEY = 'test-automox-key-events-walk-0123456789';
const vars = { ...process.env, TEST_AUTOMOX_KEY: KEY };
const redis = new Redis(REDIS_URL);

let env: TestEnv;
let sim: AutomoxSimulator;
let app: App;

beforeAll(async () => {
  env = await createTestEnv();
  sim = new AutomoxSimulator({ apiKey: KEY, data: generateAutomoxData({ seed: 9, orgs: 1, devicesPerOrg: [12], packagesPerDevice: 0 }) });
  const origin = await sim.start();
  // /servers takes two requests per ten minutes: the walk's pages 0 and 1, then it waits at its gate.
  const source = automoxSource('ax', `${origin}/api`, 'TEST_AUTOMOX_KEY', { resources: ['organizations', 'devices'], deletes: 'immediate', rateLimits: { api: FAST, servers: { windows: [{ max: 2, durationMs: 600_000 }] } } });
  app = await env.open(testConfig([source], { worker: { lockDurationMs: 2000, backoffMs: 50, attempts: 6, maxInProcessWaitMs: 200, fetchAhead: false } }), vars);
  app.engine.startWorkers();
  app.events.startWorkers();
});
afterAll(async () => {
  redis.disconnect();
  await sim.stop();
  await env.cleanup();
});

const device = (id: number) => env.db.selectFrom('devices').selectAll().where('source_id', '=', 'ax').where('external_id', '=', String(id)).executeTakeFirst();

/** Lets the lane's requests go again: its windows in Redis emptied, the page job that waits for them promoted. */
async function releaseServersLane(): Promise<void> {
  const keys = await redis.keys(`${app.prefix}:fleetsync-lane:ax.servers:win:*`);
  if (keys.length > 0) await redis.del(...keys);
  // The walk says it waits a moment before its job is moved to delayed.
  const delayed = await waitFor(async () => {
    const jobs = (await Promise.all(app.engine.queues().map((q) => q.getDelayed()))).flat();
    return jobs.length > 0 && jobs;
  }, 'the page job waiting for its lane');
  for (const job of delayed) await job.promote();
}

describe('an event during a walk', () => {
  it('leaves the walk exact: no cursor moved, no false delete of the row it wrote, the rest swept as usual', async () => {
    // The warehouse before the walk, written by events that carry their records (no request).
    const at = new Date().toISOString();
    await app.events.enqueue(sim.data.servers.map((s) => ({ source: 'ax', resource: 'devices', id: String(s.id), scope: String(s.organization_id), action: 'created' as const, occurredAt: at, eventKey: `seed-${s.id}`, record: s })));
    await waitFor(async () => (await env.db.selectFrom('devices').select('external_id').where('source_id', '=', 'ax').execute()).length === 12, 'the seeded rows');
    // Removed while the walk waits, from a page it has not read: swept as usual.
    const seeded = sim.data.servers[11]!;
    const { runId } = await app.engine.startRun('ax', { trigger: 'test' });
    const walk = await waitFor(async () => {
      const w = await env.db.selectFrom('sync_walks').selectAll().where('run_id', '=', runId).where('resource', '=', 'devices').executeTakeFirst();
      return w && w.pages === 2 && w.waiting_until !== null && w;
    }, 'the devices walk to wait at its gate after two pages');
    sim.removeServer(seeded.id, { quiet: true });
    // A device added now sorts first: the pages still to come never show it.
    const added: AutomoxServer = { ...sim.data.servers[0]!, id: 999_999, name: 'ADDED-DURING-WALK', display_name: 'ADDED-DURING-WALK' };
    sim.addServer(added);
    await app.events.enqueue([{ source: 'ax', resource: 'devices', id: String(added.id), scope: String(added.organization_id), action: 'created', occurredAt: new Date().toISOString(), eventKey: 'during-walk-1', record: added }]);
    await waitFor(() => device(added.id), 'the event applied');
    const mid = await env.db.selectFrom('sync_walks').select(['pages', 'cursor', 'records']).where('id', '=', walk.id).executeTakeFirstOrThrow();
    expect(mid).toEqual({ pages: walk.pages, cursor: walk.cursor, records: walk.records });
    await releaseServersLane();
    const run = await app.engine.waitForRun(runId);
    expect(run.status).toBe('succeeded');
    const done = await env.db.selectFrom('sync_walks').selectAll().where('id', '=', walk.id).executeTakeFirstOrThrow();
    expect(done.sweep).toBe('swept');
    expect(await device(added.id)).toMatchObject({ deleted_at: null, missing_since: null, name: 'ADDED-DURING-WALK' });
    expect((await device(seeded.id))?.deleted_at).not.toBeNull();
    expect(done.deleted).toBe(1);
  });
});
