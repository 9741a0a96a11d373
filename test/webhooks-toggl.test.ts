import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../src/app.js';
import { eventDigest } from '../src/events/decide.js';
import type { Listening } from '../src/listening.js';
import { generateTogglData, TogglSimulator, type TogglTimeEntry } from '../src/simulators/toggl.js';
import { startWebhookReceiver } from '../src/webhooks/start.js';
import { createTestEnv, waitFor, type TestEnv } from './helpers.js';
import { runCli } from './helpers/cli.js';
import { tempDir, testConfig, type TempDir } from './helpers/config.js';
import { freePort } from './helpers/ports.js';
import { syncOnce } from './helpers/sync.js';
import { capturingLogger, deliver, openAppWith, togglDelivery } from './helpers/webhooks.js';

// Toggl webhooks end to end: `webhooks register` subscribes through the source's lane and the
// receiver answers the validation ping; the simulator's signed deliveries reach the warehouse
// (an edit, a delete, a creation); forged, unsigned, replayed and stale deliveries are refused and
// nothing of theirs is applied; events during a walk; the receiver down and the simulator's
// redeliveries; no secret in any log line or output.

const SOURCE = 'toggl-hooks';
const TOKEN = 'toggl-hooks-api-token-4c1e7b';
const SECRET = 'toggl-hooks-secret-9f2a6d0b3e';
const vars = { ...process.env, TEST_TOGGL_TOKEN: TOKEN, TEST_TOGGL_HOOK_SECRET: SECRET };
const DAY = 86_400_000;
const togglTime = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, '+00:00');

let env: TestEnv;
let dir: TempDir;
let configFile: string;
let sim: TogglSimulator;
let app: App;
let receiver: Listening;
let port: number;
const logs = capturingLogger();
let cliOutput = '';

beforeAll(async () => {
  env = await createTestEnv();
  dir = await tempDir('fleetsync-toggl-hooks-');
  sim = new TogglSimulator({ apiToken: TOKEN, data: generateTogglData({ seed: 29, workspaces: 2, projectsPerWorkspace: 3, timeEntriesPerWorkspace: 24, timeEntryDays: 20 }) });
  // Toggl's redeliveries, shortened: the test waits seconds, not minutes.
  sim.webhooks.sender.schedule = { firstDelayMs: 100, maxDelayMs: 500, giveUpAfterMs: 120_000 };
  const origin = await sim.start();
  port = await freePort();
  const config = testConfig(
    [
      {
        id: SOURCE,
        vendor: 'toggl',
        baseUrl: `${origin}/api/v9`,
        credentials: { apiToken: '${TEST_TOGGL_TOKEN}', webhookSecret: '${TEST_TOGGL_HOOK_SECRET}' },
        pageSize: 5,
        // Slow enough that a walk of the time entries takes a few seconds (events arrive during it).
        rateLimits: { api: { windows: [{ max: 6, durationMs: 1000 }], concurrency: 1 } },
      },
    ],
    { webhooks: { publicUrl: `http://127.0.0.1:${port}`, listen: { port }, maxBodyBytes: 16_384 } },
  );
  configFile = await dir.writeYaml('fleetsync.yaml', config);
  app = await openAppWith(env, config, vars, logs.logger);
  receiver = await startWebhookReceiver(app, { host: '127.0.0.1', port });
  app.engine.startWorkers();
  app.events.startWorkers();
  const { run } = await syncOnce(app, SOURCE);
  expect(run.status).toBe('succeeded');
});

afterAll(async () => {
  await receiver?.close();
  await app?.close();
  await sim?.stop();
  await dir?.remove();
  await env?.cleanup();
});

const entryRow = (id: number) => env.db.selectFrom('time_entries').selectAll().where('source_id', '=', SOURCE).where('external_id', '=', String(id)).executeTakeFirst();
const hookUrl = () => `http://127.0.0.1:${port}/webhooks/${SOURCE}`;
const eventKeyQueued = async (eventKey: string) => (await app.redis.exists(`${env.prefix}:fleetsync-event:${eventDigest(SOURCE, eventKey)}`)) === 1;
const ws = () => sim.data.workspaces[0]!.id;
const subscriptionOf = (w: number) => sim.webhooks.subscriptions.find((s) => s.workspace_id === w && s.event_filters.some((f) => f.entity === 'time_entry'))!;

async function cli(args: string[]) {
  const r = await runCli(env, configFile, args, { TEST_TOGGL_TOKEN: TOKEN, TEST_TOGGL_HOOK_SECRET: SECRET });
  cliOutput += r.stdout + r.stderr;
  return r;
}

describe('Toggl webhooks', () => {
  it('register subscribes every workspace within the plan, validated by the ping the receiver answers; again, it changes nothing', async () => {
    const r = await cli(['webhooks', 'register', '--source', SOURCE]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`workspace ${ws()}: subscription 1 created: time_entry deleted/updated/created, project deleted/updated/created, client deleted/updated/created, task deleted/updated/created`);
    expect(r.stdout).toContain(`workspace ${ws()}: validated, events go to ${hookUrl()}`);
    // Premium: 15 events in 2 webhooks (12 + 3) per workspace, each signed with the source's secret.
    expect(sim.webhooks.subscriptions.map((s) => [s.workspace_id, s.event_filters.length, s.url_callback, s.secret === SECRET, s.validated_at !== null])).toEqual(
      sim.data.workspaces.flatMap((w) => [[w.id, 12, hookUrl(), true, true], [w.id, 3, hookUrl(), true, true]]),
    );
    const again = await cli(['webhooks', 'register', '--source', SOURCE]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout.match(/unchanged/g)?.length).toBe(4);
    expect(sim.webhooks.subscriptions.length).toBe(4);
    const list = await cli(['webhooks', 'list', '--source', SOURCE, '--json']);
    expect(list.code, list.stderr).toBe(0);
    const rows = JSON.parse(list.stdout) as Array<{ validated: boolean; ours: boolean; url: string }>;
    expect(rows.length).toBe(4);
    expect(rows.every((x) => x.validated && x.ours && x.url === hookUrl())).toBe(true);
  });

  it('an edit, a delete and a creation at Toggl reach the warehouse from the signed payloads, without a request to Toggl', async () => {
    const before = sim.requests.length;
    const [edited, deleted] = sim.data.timeEntries.filter((e) => e.workspace_id === ws());
    sim.updateTimeEntry(edited!.id, { description: 'edited at Toggl ✓', billable: true });
    sim.deleteTimeEntry(deleted!.id);
    const added = sim.addTimeEntry({ ...edited!, description: 'created at Toggl', start: togglTime(Date.now() - DAY), stop: togglTime(Date.now() - DAY + 600_000), duration: 600 } as TogglTimeEntry);
    const project = sim.updateProject(sim.data.projects[0]!.id, { name: 'Renamed by webhook' })!;

    const e = await waitFor(async () => {
      const row = await entryRow(edited!.id);
      return row?.description === 'edited at Toggl ✓' ? row : null;
    }, 'the edit');
    expect([e.billable, e.deleted_at]).toEqual([true, null]);
    const d = await waitFor(async () => {
      const row = await entryRow(deleted!.id);
      return row?.deleted_at ? row : null;
    }, 'the delete');
    expect(d.deleted_at).not.toBeNull();
    const a = await waitFor(() => entryRow(added.id), 'the creation');
    expect([a.description, a.scope, a.organization_external_id, a.duration_seconds, a.deleted_at]).toEqual(['created at Toggl', String(ws()), String(ws()), 600, null]);
    const p = await waitFor(async () => {
      const row = await env.db.selectFrom('projects').select(['name']).where('external_id', '=', String(project.id)).executeTakeFirst();
      return row?.name === 'Renamed by webhook' && row;
    }, 'the project edit');
    expect(p.name).toBe('Renamed by webhook');
    // The payloads are whole signed records: nothing was asked of Toggl, no walk ran.
    expect(sim.requests.slice(before).filter((r) => !r.path.startsWith('/webhooks/'))).toEqual([]);
  });

  it('a forged or unsigned delivery is refused (401) and nothing of it is queued or applied', async () => {
    const target = sim.data.timeEntries.find((x) => x.workspace_id === ws())!;
    const sub = subscriptionOf(ws());
    const forged = togglDelivery('not-the-secret-000000', { eventId: 900_001, subscriptionId: sub.subscription_id, workspace: ws(), model: 'time_entry', action: 'updated', payload: { ...sim.entryPayload(target), description: 'forged' } });
    const r = await deliver(hookUrl(), forged.body, forged.headers);
    expect([r.status, r.text]).toEqual([401, '{"error":"signature"}']);
    const unsigned = await deliver(hookUrl(), forged.body, {});
    expect(unsigned.status).toBe(401);
    const tampered = togglDelivery(SECRET, { eventId: 900_002, subscriptionId: sub.subscription_id, workspace: ws(), model: 'time_entry', action: 'deleted', payload: sim.entryPayload(target) });
    expect((await deliver(hookUrl(), tampered.body.replace('"deleted"', '"updated"'), tampered.headers)).status).toBe(401);
    expect(await eventKeyQueued(`toggl:${sub.subscription_id}:900001`)).toBe(false);
    expect(await eventKeyQueued(`toggl:${sub.subscription_id}:900002`)).toBe(false);
    const row = await entryRow(target.id);
    expect([row?.description, row?.deleted_at]).toEqual([target.description, null]);
  });

  it('a replayed delivery (the same bytes again) is refused (409), a stale one (400); neither is applied', async () => {
    const [target, other] = sim.data.timeEntries.filter((x) => x.workspace_id === ws()).slice(2);
    const sub = subscriptionOf(ws());
    const first = togglDelivery(SECRET, { eventId: 910_001, subscriptionId: sub.subscription_id, workspace: ws(), model: 'time_entry', action: 'updated', payload: { ...sim.entryPayload(target!), description: 'once', at: togglTime(Date.now()) } });
    const ok = await deliver(hookUrl(), first.body, first.headers);
    expect([ok.status, JSON.parse(ok.text)]).toEqual([200, { queued: 1, duplicates: 0, ignored: 0 }]);
    await waitFor(async () => (await entryRow(target!.id))?.description === 'once', 'the first delivery applied');
    // Changed here after it: a replay that got through would write 'once' again.
    await env.db.updateTable('time_entries').set({ description: 'changed since' }).where('source_id', '=', SOURCE).where('external_id', '=', String(target!.id)).execute();
    const replay = await deliver(hookUrl(), first.body, first.headers);
    expect([replay.status, replay.text]).toEqual([409, '{"error":"replayed"}']);
    const stale = togglDelivery(SECRET, { eventId: 910_002, subscriptionId: sub.subscription_id, workspace: ws(), model: 'time_entry', action: 'deleted', payload: sim.entryPayload(other!), sentAt: new Date(Date.now() - 20 * 60_000).toISOString() });
    expect((await deliver(hookUrl(), stale.body, stale.headers)).status).toBe(400);
    expect(await eventKeyQueued(`toggl:${sub.subscription_id}:910002`)).toBe(false);
    // A later event goes through; by then the replay would have landed too.
    sim.updateTimeEntry(other!.id, { description: 'after the replay' });
    await waitFor(async () => (await entryRow(other!.id))?.description === 'after the replay', 'a later event');
    expect((await entryRow(target!.id))?.description).toBe('changed since');
    expect((await entryRow(other!.id))?.deleted_at).toBeNull();
  });

  it('events during a walk land, and the walk marks none of their rows missing', async () => {
    const { runId } = await app.engine.startRun(SOURCE, { trigger: 'test', resources: ['time_entries'] });
    // The workspace's walk has committed its first page (the oldest entries) and goes on.
    await waitFor(async () => {
      const w = await env.db.selectFrom('sync_walks').select(['pages', 'status']).where('run_id', '=', runId).where('resource', '=', 'time_entries').where('scope', '=', String(ws())).executeTakeFirst();
      return w !== undefined && w.status === 'running' && w.pages >= 1;
    }, 'the walk under way', 60_000, 20);
    const oldest = sim.data.timeEntries.filter((e) => e.workspace_id === ws()).sort((a, b) => Date.parse(a.start) - Date.parse(b.start))[0]!;
    // Before every entry the walk read: it lists on the page already committed, which the walk does not read again.
    const early = Date.parse(oldest.start) - 3_600_000;
    const added = sim.addTimeEntry({ ...oldest, description: 'added during the walk', start: togglTime(early), stop: togglTime(early + 60_000), duration: 60 } as TogglTimeEntry);
    sim.updateTimeEntry(oldest.id, { description: 'edited during the walk' });
    const run = await app.engine.waitForRun(runId);
    expect(run.status).toBe('succeeded');
    const a = await waitFor(() => entryRow(added.id), 'the creation during the walk');
    expect([a.description, a.missing_since, a.deleted_at]).toEqual(['added during the walk', null, null]);
    await waitFor(async () => (await entryRow(oldest.id))?.description === 'edited during the walk', 'the edit during the walk');
    const missing = await env.db.selectFrom('time_entries').select('external_id').where('source_id', '=', SOURCE).where('missing_since', 'is not', null).where('deleted_at', 'is', null).execute();
    expect(missing).toEqual([]);
  });

  it('with the receiver down, Toggl sends again until it answers: nothing is lost', async () => {
    await receiver.close();
    const target = sim.data.timeEntries.filter((x) => x.workspace_id === ws())[5]!;
    const mark = sim.webhooks.sender.attempts.length;
    sim.updateTimeEntry(target.id, { description: 'sent while down' });
    await waitFor(() => sim.webhooks.sender.attempts.slice(mark).filter((x) => x.status === 'network').length >= 2, 'failed attempts while the receiver is down');
    receiver = await startWebhookReceiver(app, { host: '127.0.0.1', port });
    await waitFor(async () => (await entryRow(target.id))?.description === 'sent while down', 'the redelivered event applied');
    const attempts = sim.webhooks.sender.attempts.slice(mark);
    expect(attempts.at(-1)!.status).toBe(200);
    expect(attempts.filter((x) => x.status === 'network').length).toBeGreaterThanOrEqual(2);
  });

  it('answers only /webhooks/<source>: other paths and sources 404, other methods 405, a body over maxBodyBytes 413', async () => {
    const base = `http://127.0.0.1:${port}`;
    expect((await fetch(`${base}/metrics`, { method: 'POST', body: '{}' })).status).toBe(404);
    expect((await fetch(`${base}/webhooks/no-such-source`, { method: 'POST', body: '{}' })).status).toBe(404);
    expect((await fetch(hookUrl(), { method: 'GET' })).status).toBe(405);
    expect((await fetch(hookUrl(), { method: 'PUT', body: '{}' })).status).toBe(405);
    const big = await fetch(hookUrl(), { method: 'POST', headers: { 'content-type': 'application/json' }, body: `{"pad":"${'x'.repeat(20_000)}"}` });
    expect([big.status, await big.text()]).toEqual([413, '{"error":"body too large"}']);
  });

  it('no secret is in any log line or command output', () => {
    const text = logs.text() + cliOutput;
    expect(text).toContain('webhook refused');
    expect(text).toContain('toggl webhook: 1 queued');
    for (const secret of [TOKEN, SECRET, Buffer.from(`${TOKEN}:api_token`).toString('base64')]) expect(text).not.toContain(secret);
  });
});
