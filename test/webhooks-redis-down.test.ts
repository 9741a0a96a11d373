import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../src/app.js';
import type { Listening } from '../src/listening.js';
import { generateTogglData, TogglSimulator } from '../src/simulators/toggl.js';
import { startWebhookReceiver } from '../src/webhooks/start.js';
import { registerToggl } from '../src/webhooks/toggl-setup.js';
import { vendorCaller } from '../src/webhooks/vendor-call.js';
import { createTestEnv, waitFor, type TestEnv } from './helpers.js';
import { testConfig } from './helpers/config.js';
import { freePort } from './helpers/ports.js';
import { TestRedis } from './helpers/redis-server.js';
import { deliver, togglDelivery } from './helpers/webhooks.js';

// With Redis away, the receiver answers 503 at once (nothing can be queued, nothing is lost):
// Toggl sends the event again, and once Redis is back it is queued and applied. A Redis of the
// test's own, stopped and started again.

const SOURCE = 'toggl-redis';
const TOKEN = 'toggl-redis-api-token-81d0';
const SECRET = 'toggl-redis-webhook-secret-2f7c';
const vars = { ...process.env, TEST_TOGGL_TOKEN: TOKEN, TEST_TOGGL_HOOK_SECRET: SECRET };

let env: TestEnv;
let redis: TestRedis;
let sim: TogglSimulator;
let app: App;
let receiver: Listening;
let port: number;

beforeAll(async () => {
  env = await createTestEnv();
  redis = new TestRedis(await freePort());
  await redis.start();
  sim = new TogglSimulator({ apiToken: TOKEN, data: generateTogglData({ seed: 7, workspaces: 1, projectsPerWorkspace: 2, timeEntriesPerWorkspace: 6, timeEntryDays: 10 }) });
  sim.webhooks.sender.schedule = { firstDelayMs: 100, maxDelayMs: 400, giveUpAfterMs: 120_000 };
  const origin = await sim.start();
  port = await freePort();
  const config = testConfig(
    [{ id: SOURCE, vendor: 'toggl', baseUrl: `${origin}/api/v9`, credentials: { apiToken: '${TEST_TOGGL_TOKEN}', webhookSecret: '${TEST_TOGGL_HOOK_SECRET}' }, rateLimits: { api: { windows: [{ max: 200, durationMs: 1000 }] } } }],
    { webhooks: { publicUrl: `http://127.0.0.1:${port}` } },
  );
  app = await env.open(config, vars, undefined, redis.url);
  receiver = await startWebhookReceiver(app, { host: '127.0.0.1', port });
  app.events.startWorkers();
  const src = app.sources.get(SOURCE)!;
  const problems = await registerToggl({ src, call: vendorCaller(app, src, 'api'), out: () => undefined }, { url: `http://127.0.0.1:${port}/webhooks/${SOURCE}`, secret: SECRET, plan: 'premium', workspaces: [] });
  expect(problems).toEqual([]);
});

afterAll(async () => {
  await receiver?.close();
  await app?.close();
  await sim?.stop();
  redis?.kill();
  await env?.cleanup();
});

const entryRow = (id: number) => env.db.selectFrom('time_entries').selectAll().where('source_id', '=', SOURCE).where('external_id', '=', String(id)).executeTakeFirst();

describe('the receiver with Redis down', () => {
  it('answers 503 at once, so Toggl sends the event again; once Redis is back it is queued and applied', async () => {
    await redis.stop();
    await waitFor(() => app.redis.status !== 'ready', 'the app to see Redis gone');
    const entry = sim.data.timeEntries[0]!;
    const mark = sim.webhooks.sender.attempts.length;
    sim.updateTimeEntry(entry.id, { description: 'sent while Redis was down' });
    await waitFor(() => sim.webhooks.sender.attempts.slice(mark).filter((a) => a.status === 503).length >= 2, 'answers 503 while Redis is down');
    // A delivery of our own gets the same answer, and its Retry-After.
    const own = togglDelivery(SECRET, { eventId: 990_001, subscriptionId: sim.webhooks.subscriptions[0]!.subscription_id, workspace: entry.workspace_id, model: 'time_entry', action: 'updated', payload: sim.entryPayload(entry) });
    const r = await fetch(`http://127.0.0.1:${port}/webhooks/${SOURCE}`, { method: 'POST', headers: { 'content-type': 'application/json', ...own.headers }, body: own.body });
    expect([r.status, r.headers.get('retry-after')]).toEqual([503, '30']);
    await redis.start();
    const row = await waitFor(async () => (await entryRow(entry.id))?.description === 'sent while Redis was down' && (await entryRow(entry.id)), 'the redelivered event applied', 90_000);
    expect(row.deleted_at).toBeNull();
    expect(sim.webhooks.sender.attempts.slice(mark).at(-1)!.status).toBe(200);
    // Sent again now, the earlier delivery is new to the receiver (it was never accepted).
    expect((await deliver(`http://127.0.0.1:${port}/webhooks/${SOURCE}`, own.body, own.headers)).status).toBe(200);
  });
});
