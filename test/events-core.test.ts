import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../src/app.js';
import { eventQueueName } from '../src/events/core.js';
import { EventRefused } from '../src/events/enqueue.js';
import type { VendorEvent } from '../src/events/types.js';
import { AutomoxSimulator, generateAutomoxData, type AutomoxServer } from '../src/simulators/automox.js';
import { lastEvents } from '../src/warehouse/event-writes.js';
import { createTestEnv, waitFor, type TestEnv } from './helpers.js';
import { automoxSource, FAST, testConfig } from './helpers/config.js';
import { syncOnce } from './helpers/sync.js';

// The event core (src/events/): events queued on the source's lanes and applied to the warehouse
// without a walk: a deletion confirmed, a creation and an update fetched by id, a 404 as a
// deletion, a replayed key applied once, a malformed event refused.

const KEY = 'test-automox-key-events-0123456789';
const vars = { ...process.env, TEST_AUTOMOX_KEY: KEY };

let env: TestEnv;
let sim: AutomoxSimulator;
let app: App;

beforeAll(async () => {
  env = await createTestEnv();
  sim = new AutomoxSimulator({ apiKey: KEY, data: generateAutomoxData({ seed: 11, orgs: 1, devicesPerOrg: [8], packagesPerDevice: 0 }) });
  const origin = await sim.start();
  app = await env.open(testConfig([automoxSource('ax', `${origin}/api`, 'TEST_AUTOMOX_KEY', { resources: ['organizations', 'devices'], rateLimits: { servers: FAST } })]), vars);
  app.engine.startWorkers();
  const { run } = await syncOnce(app, 'ax');
  expect(run.status).toBe('succeeded');
  app.events.startWorkers();
});
afterAll(async () => {
  await sim.stop();
  await env.cleanup();
});

const device = (id: number) => env.db.selectFrom('devices').selectAll().where('source_id', '=', 'ax').where('external_id', '=', String(id)).executeTakeFirst();
const openVersions = async (id: number) => Number((await sql<{ n: string }>`SELECT count(*)::text AS n FROM devices_history WHERE source_id = 'ax' AND external_id = ${String(id)} AND valid_to IS NULL`.execute(env.db)).rows[0]!.n);
const asked = (id: number) => sim.requests.filter((r) => r.path === `/api/servers/${id}`).length;

function eventOf(s: Pick<AutomoxServer, 'id' | 'organization_id'>, action: VendorEvent['action'], eventKey: string): VendorEvent {
  return { source: 'ax', resource: 'devices', id: String(s.id), scope: String(s.organization_id), action, occurredAt: new Date().toISOString(), eventKey };
}

describe('vendor events applied between walks', () => {
  it('a deletion marks the row deleted at once, as confirmed by the vendor, and ends its history version', async () => {
    const victim = sim.data.servers.shift()!;
    expect(await app.events.enqueue([eventOf(victim, 'deleted', 'del-1')])).toEqual({ queued: 1, duplicates: 0 });
    const row = await waitFor(async () => {
      const r = await device(victim.id);
      return r?.deleted_at ? r : null;
    }, 'the deletion applied');
    expect(row.missing_since).not.toBeNull();
    expect(await openVersions(victim.id)).toBe(0);
    // A deletion asks the vendor nothing.
    expect(asked(victim.id)).toBe(0);
  });

  it('a creation fetches the record by id through the lane and inserts it with its history', async () => {
    const added: AutomoxServer = { ...sim.data.servers[0]!, id: 1_999_001, name: 'EVENT-NEW-1', display_name: 'EVENT-NEW-1' };
    sim.data.servers.push(added);
    await app.events.enqueue([eventOf(added, 'created', 'add-1')]);
    const row = await waitFor(() => device(added.id), 'the creation applied');
    expect(row).toMatchObject({ name: 'EVENT-NEW-1', scope: String(added.organization_id), deleted_at: null });
    expect(await openVersions(added.id)).toBe(1);
    expect(asked(added.id)).toBe(1);
  });

  it('an update rewrites the row; a 404 to the per-id GET of an update marks it deleted', async () => {
    const s = sim.data.servers[1]!;
    s.name = 'RENAMED-BY-EVENT';
    await app.events.enqueue([eventOf(s, 'updated', 'upd-1')]);
    await waitFor(async () => (await device(s.id))?.name === 'RENAMED-BY-EVENT', 'the update applied');
    const gone = sim.data.servers.splice(2, 1)[0]!;
    await app.events.enqueue([eventOf(gone, 'updated', 'upd-2')]);
    await waitFor(async () => (await device(gone.id))?.deleted_at, 'the 404 applied as a deletion');
  });

  it('a key queued before is a duplicate: applied once', async () => {
    const s = sim.data.servers[3]!;
    s.name = 'ONCE';
    const before = asked(s.id);
    expect(await app.events.enqueue([eventOf(s, 'updated', 'dup-1')])).toEqual({ queued: 1, duplicates: 0 });
    await waitFor(async () => (await device(s.id))?.name === 'ONCE', 'the first delivery applied');
    expect(await app.events.enqueue([eventOf(s, 'updated', 'dup-1'), eventOf(s, 'updated', 'dup-1')])).toEqual({ queued: 0, duplicates: 2 });
    // The next event of the same device is applied; the replay before it never was.
    await app.events.enqueue([eventOf(s, 'updated', 'dup-2')]);
    await waitFor(() => asked(s.id) === before + 2, 'the next event applied');
    expect(asked(s.id)).toBe(before + 2);
  });

  it('while the source is paused, a deletion applies (it sends nothing) and an update waits for the resume', async () => {
    await app.engine.pauseSource('ax', 'paused by the test');
    const gone = sim.data.servers.splice(5, 1)[0]!;
    await app.events.enqueue([eventOf(gone, 'deleted', 'paused-del')]);
    await waitFor(async () => (await device(gone.id))?.deleted_at, 'the deletion applied while paused');
    const s = sim.data.servers[5]!;
    s.name = 'AFTER-RESUME';
    const before = asked(s.id);
    await app.events.enqueue([eventOf(s, 'updated', 'paused-upd')]);
    const queue = app.events.queue(eventQueueName('automox'));
    const waiting = await waitFor(async () => (await queue.getDelayed()).find((j) => j.data.kind === 'event' && j.data.event.eventKey === 'paused-upd'), 'the update waiting');
    expect(asked(s.id)).toBe(before);
    await app.engine.resumeSource('ax');
    // It looks again within a minute; promoted here so the test need not wait that long.
    await waiting.promote();
    await waitFor(async () => (await device(s.id))?.name === 'AFTER-RESUME', 'the update applied after the resume');
  });

  it('refuses a malformed batch whole, naming the bad event, and queues none of it', async () => {
    const s = sim.data.servers[4]!;
    const good = eventOf(s, 'updated', 'good-1');
    await expect(app.events.enqueue([good, { ...good, eventKey: 'bad-1', scope: null }])).rejects.toThrow(EventRefused);
    await expect(app.events.enqueue([{ ...good, resource: 'packages' }])).rejects.toThrow('ax/packages: the source syncs no resource "packages"');
    expect(await app.events.enqueue([good])).toEqual({ queued: 1, duplicates: 0 });
  });

  it('records per source and resource the newest event applied', async () => {
    const last = await waitFor(async () => (await lastEvents(env.db, ['ax'])).find((l) => l.eventsApplied >= 9), 'the events counted');
    expect(last).toMatchObject({ source: 'ax', resource: 'devices' });
    expect(last.lastAppliedAt.getTime()).toBeGreaterThan(0);
  });

  it('exports fleetsync_freshness_seconds from the newer of the last walk and the last event applied', async () => {
    const text = await app.metrics.registry.metrics();
    const age = Number(/^fleetsync_freshness_seconds\{source="ax",resource="devices"\} (\S+)$/m.exec(text)?.[1]);
    const lastApplied = (await lastEvents(env.db, ['ax']))[0]!.lastAppliedAt.getTime();
    // The events came after the walk: the figure is the time since the last of them (read before and after the scrape).
    expect(age).toBeGreaterThanOrEqual(0);
    expect(age).toBeLessThanOrEqual((Date.now() - lastApplied) / 1000 + 1);
    expect(text).toMatch(/^fleetsync_freshness_threshold_seconds\{source="ax",resource="devices"\} 86400$/m);
  });
});
