import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../src/app.js';
import { renderOverview, renderRunSummary } from '../src/dashboard-pages.js';
import { createLogger } from '../src/logger.js';
import { AutomoxSimulator, generateAutomoxData } from '../src/simulators/automox.js';
import { PLAN_RESTRICTED_TEXT, type TogglSimulator } from '../src/simulators/toggl.js';
import { formatDryRun } from '../src/commands/sync-dry-run.js';
import { summarizeRun } from '../src/status.js';
import { planDryRun } from '../src/sync/dry-run.js';
import { pauseResource } from '../src/warehouse/resource-pauses.js';
import { waitFor, type TestEnv } from './helpers.js';
import { automoxSource, FAST } from './helpers/config.js';
import { syncOnce } from './helpers/sync.js';
import { expectExact, openTogglSuite, SOURCE, suiteData, type TogglSuite } from './helpers/toggl.js';

// What a vendor's refusal stops (docs/toggl.md, "Response policy"; docs/design.md, errors): a 429
// or a spent quota the lane, a 410 the resource for good, a 402 for a feature the plan lacks that
// resource until `resume`, and a 402 of a vendor that documents none the whole source.

const AX = 'ax-402';
const AX_KEY = 'test-automox-key-402';
const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/** How a plan-restriction 402 of `resource` reads, wherever it is shown. */
const planReason = (resource: string) =>
  `${SOURCE}/${resource} workspace \\d+ page \\d+: 402 ${escape(PLAN_RESTRICTED_TEXT)}: payment required, not a spent quota: the plan lacks what ${resource} needs; ${resource} is paused for ${SOURCE} \\(its other resources go on\\); resume with \`fleetsync resume --source ${SOURCE} --resource ${resource}\` once it is upgraded`;

describe('Toggl: what a 402, 410 or 429 stops', () => {
  let suite: TogglSuite;
  let env: TestEnv;
  let sim: TogglSimulator;
  let app: App;
  let ax: AutomoxSimulator;
  const cli = (args: string[]) => suite.cli(args);

  beforeAll(async () => {
    // Org 2 holds two full pages of 5 devices: its walk asks for pages 0, 1 and an empty 2.
    ax = new AutomoxSimulator({ apiKey: AX_KEY, data: generateAutomoxData({ seed: 3, orgs: 2, devicesPerOrg: [3, 10], packagesPerDevice: 1 }) });
    const axOrigin = await ax.start();
    suite = await openTogglSuite(suiteData(), { sources: [automoxSource(AX, `${axOrigin}/api`, 'TEST_AX_KEY', { rateLimits: { servers: { ...FAST, concurrency: 2 } } })], env: { TEST_AX_KEY: AX_KEY } });
    ({ env, sim, app } = suite);
  });
  afterAll(async () => {
    await ax.stop();
    await suite.close();
  });
  afterEach(() => {
    sim.clearFaults();
    sim.gone.length = 0;
    sim.planRestricted.length = 0;
    sim.quota = null;
    ax.clearFaults();
  });

  it('410 disables one endpoint for good while the others finish; status shows it; enable brings it back', async () => {
    sim.gone.push(/\/clients$/);
    const { run, summary } = await syncOnce(app, SOURCE);
    expect(run.status).toBe('partial');
    for (const r of ['workspaces', 'organizations', 'projects', 'users']) {
      const s = summary.resources.find((x) => x.resource === r)!;
      expect([r, s.failed, s.running]).toEqual([r, 0, 0]);
    }
    expect(summary.resources.find((x) => x.resource === 'clients')!.failed).toBeGreaterThan(0);
    const disabled = await env.db.selectFrom('sync_disabled_resources').selectAll().execute();
    expect(disabled.map((d) => [d.source_id, d.resource, d.status])).toEqual([[SOURCE, 'clients', 410]]);
    // No false deletes from the failed walks.
    expect(await env.db.selectFrom('clients').select('external_id').where('deleted_at', 'is not', null).execute()).toEqual([]);

    const status = await cli(['status']);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/disabled: clients since .*410 This endpoint has been removed: endpoint gone; clients is disabled for toggl-test until `fleetsync enable --source toggl-test --resource clients`/);

    // The next run never calls the endpoint again.
    const mark = sim.requests.length;
    const again = await syncOnce(app, SOURCE);
    expect(again.run.status).toBe('succeeded');
    expect(sim.requests.slice(mark).filter((r) => r.path.endsWith('/clients'))).toEqual([]);

    sim.gone.length = 0;
    const enabled = await cli(['enable', '--source', SOURCE, '--resource', 'clients']);
    expect(enabled.stdout).toContain(`enabled ${SOURCE}/clients`);
    const third = await syncOnce(app, SOURCE);
    expect(third.run.status).toBe('succeeded');
    await expectExact(env, sim.data);
  });

  it('pauses the lane while the hourly quota is spent (quota headers), then goes on by itself', async () => {
    expect((await syncOnce(app, SOURCE)).run.status).toBe('succeeded');
    sim.quota = { remaining: 2, resetAt: Date.now() + 1500 };
    const mark = sim.requests.length;
    const { run } = await syncOnce(app, SOURCE, ['clients']);
    expect(run.status).toBe('succeeded');
    const after = sim.requests.slice(mark);
    // The second answer said "0 left": the lane waited for the reset. With two pages in flight at
    // once, one may still meet the spent quota (a 402 with quota headers): that is a lane pause
    // until the reset, never a source pause.
    const early = after.filter((r) => r.at < sim.quota!.resetAt - 1000);
    expect(early.length, JSON.stringify(after.map((r) => [r.status, r.at - after[0]!.at]))).toBeLessThanOrEqual(3);
    expect(after.filter((r) => r.status === 402).length).toBeLessThanOrEqual(1);
    expect(after.filter((r) => r.status !== 200 && r.status !== 402)).toEqual([]);
    expect(await env.db.selectFrom('sync_sources').selectAll().where('source_id', '=', SOURCE).where('paused_at', 'is not', null).execute()).toEqual([]);
    expect(await env.db.selectFrom('sync_paused_resources').selectAll().execute()).toEqual([]);
    await expectExact(env, sim.data);
  });

  it('backs off after a 429 without Retry-After for the configured time, spending no attempt', async () => {
    const ws3 = String(sim.data.workspaces[2]!.id);
    sim.inject({ kind: 'status', status: 429, match: (r) => r.path === `/api/v9/workspaces/${ws3}/users` });
    const mark = sim.requests.length;
    const { run } = await syncOnce(app, SOURCE, ['users']);
    expect(run.status).toBe('succeeded');
    const tries = sim.requests.slice(mark).filter((r) => r.path === `/api/v9/workspaces/${ws3}/users`);
    expect(tries.map((r) => r.status)).toEqual([429, 200]);
    expect(tries[1]!.at - tries[0]!.at).toBeGreaterThanOrEqual(650);
  });

  /** A later run (another process) skips tasks and time entries, says so, and succeeds with what it walked; asked for tasks alone, sync refuses. */
  async function expectLaterRunsSkip() {
    const mark = sim.requests.length;
    const again = await cli(['sync', '--source', SOURCE, '--wait']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(new RegExp(`^started run \\d+ of ${SOURCE}; not walked, paused: tasks \\(${planReason('tasks')}\\); time_entries \\(${planReason('time_entries')}\\); resume with fleetsync resume --source ${SOURCE} --resource tasks --resource time_entries$`, 'm'));
    expect(again.stdout).toMatch(new RegExp(`^run \\d+ of ${SOURCE} \\(sync, full\\): succeeded \\(not walked, paused: tasks, time_entries\\)$`, 'm'));
    expect(again.stdout).toMatch(/^tasks(\s+0){8}\s+paused$/m);
    expect(again.stdout).toMatch(new RegExp(`^  resource tasks paused: ${planReason('tasks')}$`, 'm'));
    expect(sim.requests.slice(mark).filter((r) => /\/tasks$|\/search\/time_entries/.test(r.path))).toEqual([]);
    const latest = await env.db.selectFrom('sync_runs').selectAll().orderBy('id', 'desc').limit(1).executeTakeFirstOrThrow();
    expect(Object.keys(latest.paused_resources as object).sort()).toEqual(['tasks', 'time_entries']);
    // The dashboard says it too: in the source's state, and on the run's page.
    const overview = await renderOverview({ db: env.db, logger: createLogger({ level: 'silent' }), sources: [{ id: SOURCE, vendor: 'toggl' }], csrf: null }, 5);
    expect(overview).toMatch(/<div class="failed paused-resource">resource tasks paused: toggl-test\/tasks workspace \d+ page \d+: 402 /);
    expect(renderRunSummary(await summarizeRun(env.db, latest.id))).toMatch(/<h3>not walked: paused resources<\/h3>.*<tr class="paused-resource"><td>tasks<\/td><td>toggl-test\/tasks workspace \d+ page \d+: 402 /s);
    await expectExact(env, sim.data, ['tasks', 'time_entries']);
    // `sync --dry-run` leaves them out too.
    const plan = await planDryRun(env.db, app.sources.describe(SOURCE)!, { resources: [], mode: 'full' });
    expect([plan.pausedResources, plan.walks.filter((w) => w.resource === 'tasks' || w.resource === 'time_entries')]).toEqual([['tasks', 'time_entries'], []]);
    expect(formatDryRun(plan)).toContain(`paused by a 402, not walked (fleetsync resume --source ${SOURCE} --resource R): tasks, time_entries`);
    // Asked for a paused resource alone, sync refuses before starting a run.
    const runs = (await env.db.selectFrom('sync_runs').select('id').execute()).length;
    const refused = await cli(['sync', '--source', SOURCE, '--resource', 'tasks', '--wait']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(new RegExp(`${SOURCE}: paused, nothing asked for would be walked: tasks \\(${planReason('tasks')}\\); resume first: fleetsync resume --source ${SOURCE} --resource tasks`));
    expect((await env.db.selectFrom('sync_runs').select('id').execute()).length).toBe(runs);
  }

  it('a 402 for a feature the plan lacks pauses only that resource: its walks fail with the vendor message, the others land exactly in the same run; later runs skip it and say so; resume --resource brings it back', async () => {
    // Tasks (not in Toggl's Free plan) and the Reports search answer 402; everything else as usual.
    sim.planRestricted.push(/^\/api\/v9\/workspaces\/\d+\/tasks$/, /^\/reports\/api\/v3\/workspace\/\d+\/search\/time_entries$/);
    const mark0 = sim.requests.length;
    const first = await syncOnce(app, SOURCE);
    // The run does not say "succeeded": the walks that met the 402 failed with its reason.
    expect(first.run.status).toBe('partial');
    expect(first.run.error_status).toBe(402);
    // The first walk to fail names the 402 (a walk that found the resource already paused says so first).
    expect(first.run.error_message).toMatch(new RegExp(`(${planReason('tasks')}|${planReason('time_entries')})$`));
    const byName = (name: string) => first.summary.resources.find((r) => r.resource === name)!;
    for (const r of ['tasks', 'time_entries']) expect([r, byName(r).walks, byName(r).failed, byName(r).pages]).toEqual([r, sim.data.workspaces.length, sim.data.workspaces.length, 0]);
    for (const r of ['workspaces', 'organizations', 'projects', 'clients', 'users', 'tags']) expect([r, byName(r).failed, byName(r).running]).toEqual([r, 0, 0]);
    // Each restricted endpoint was asked at most once per workspace (pages already in flight), never again after its 402.
    const asked = sim.requests.slice(mark0).filter((r) => /\/tasks$|\/search\/time_entries$/.test(r.path));
    expect(asked.every((r) => r.status === 402)).toBe(true);
    expect(asked.length).toBeLessThanOrEqual(2 * sim.data.workspaces.length);
    // The source itself is not paused; the two resources are, in Postgres, with the vendor's message.
    expect(await env.db.selectFrom('sync_sources').selectAll().where('source_id', '=', SOURCE).where('paused_at', 'is not', null).execute()).toEqual([]);
    const pauses = await env.db.selectFrom('sync_paused_resources').selectAll().orderBy('resource').execute();
    expect(pauses.map((p) => [p.source_id, p.resource, p.status, p.run_id])).toEqual([
      [SOURCE, 'tasks', 402, first.runId],
      [SOURCE, 'time_entries', 402, first.runId],
    ]);
    for (const p of pauses) expect(p.reason).toMatch(new RegExp(`^${planReason(p.resource)}$`));
    await expectExact(env, sim.data, ['tasks', 'time_entries']);

    const status = await cli(['status', '--source', SOURCE]);
    expect(status.stdout).toMatch(/^source toggl-test \(toggl\)$/m);
    expect(status.stdout).toMatch(new RegExp(`^  resource tasks paused: ${planReason('tasks')} \\(since \\S+\\)$`, 'm'));
    expect(status.stdout).toMatch(new RegExp(`^  resource time_entries paused: ${planReason('time_entries')} \\(since \\S+\\)$`, 'm'));

    await expectLaterRunsSkip();

    // The workspace is upgraded: resume --resource brings tasks back; time entries stay paused.
    sim.planRestricted.length = 0;
    const resumed = await cli(['resume', '--source', SOURCE, '--resource', 'tasks']);
    expect([resumed.code, resumed.stdout.trim()]).toEqual([0, expect.stringMatching(new RegExp(`^resumed ${SOURCE}/tasks \\(paused since \\S+\\): the next run walks it$`))]);
    const third = await syncOnce(app, SOURCE);
    expect(third.run.status).toBe('succeeded');
    expect(third.summary.resources.find((r) => r.resource === 'tasks')).toMatchObject({ walks: sim.data.workspaces.length, failed: 0, paused: null });
    expect(third.summary.resources.find((r) => r.resource === 'time_entries')).toMatchObject({ walks: 0, paused: expect.stringMatching(new RegExp(`^${planReason('time_entries')}$`)) });
    await expectExact(env, sim.data, ['time_entries']);
    expect((await cli(['resume', '--source', SOURCE, '--resource', 'time_entries'])).code).toBe(0);
    expect((await syncOnce(app, SOURCE)).run.status).toBe('succeeded');
    await expectExact(env, sim.data);
  });

  it('resume without --resource lifts the source pause and every paused resource; --resource names only known resources and says which were not paused', async () => {
    await pauseResource(env.db, { sourceId: SOURCE, resource: 'tags', status: 402, reason: 'held by the test', requestId: null, runId: null });
    await app.engine.pauseSource(SOURCE, 'paused by the test');
    const notPaused = await cli(['resume', '--source', SOURCE, '--resource', 'clients']);
    expect([notPaused.code, notPaused.stdout.trim().split('\n')]).toEqual([0, [`${SOURCE}/clients was not paused`, `${SOURCE} itself is still paused: fleetsync resume --source ${SOURCE}`]]);
    const unknown = await cli(['resume', '--source', SOURCE, '--resource', 'nonesuch']);
    expect([unknown.code, unknown.stderr]).toEqual([2, expect.stringContaining(`${SOURCE}: vendor toggl has no resource "nonesuch" (known: workspaces,`)]);
    const all = await cli(['resume', '--source', SOURCE]);
    expect(all.code).toBe(0);
    expect(all.stdout.trim().split('\n')).toEqual([`resumed ${SOURCE}`, expect.stringMatching(new RegExp(`^resumed ${SOURCE}/tags \\(paused since \\S+\\): the next run walks it$`))]);
    expect(await env.db.selectFrom('sync_paused_resources').selectAll().execute()).toEqual([]);
    expect(await env.db.selectFrom('sync_sources').selectAll().where('paused_at', 'is not', null).execute()).toEqual([]);
  });

  it('a 402 of a vendor that documents none as a plan restriction (Automox) still pauses the whole source: its jobs wait across processes, and resume continues the same run', async () => {
    const org = ax.data.orgs[1]!;
    const servers = (r: { path: string; query: URLSearchParams }) => r.path === '/api/servers' && r.query.get('o') === String(org.id);
    ax.inject({ kind: 'status', status: 402, body: { errors: ['Payment Required'] }, match: (r) => servers(r) && r.query.get('page') === '1' });
    const failedBefore = (await Promise.all(app.engine.queues().map((q) => q.getJobCounts('failed')))).reduce((n, c) => n + (c.failed ?? 0), 0);
    const { runId } = await app.engine.startRun(AX, { trigger: 'test' });
    await waitFor(async () => (await env.db.selectFrom('sync_sources').select('paused_at').where('source_id', '=', AX).executeTakeFirst())?.paused_at, 'the source to pause');
    // Jobs in flight when the 402 came back finish their one request first; every job after it
    // ends without a request, so nothing of the source is left queued or active.
    await waitFor(async () => (await Promise.all(app.engine.queues().map((q) => q.getJobCounts('waiting', 'prioritized', 'active', 'delayed')))).every((c) => Object.values(c).every((n) => n === 0)), 'in-flight pages to settle');
    const quiet = ax.requests.length;
    const status = await cli(['status', '--source', AX]);
    expect(status.stdout).toMatch(new RegExp(`source ${AX} \\(automox\\)\\s+PAUSED since \\S+: ${AX}/devices org ${org.id} page 1: 402 .*: payment required, not a spent quota: the plan lacks what devices needs; resume with \`fleetsync resume --source ${AX}\` once it is upgraded`));
    expect(await env.db.selectFrom('sync_paused_resources').selectAll().execute()).toEqual([]);
    expect((await env.db.selectFrom('sync_runs').select('status').where('id', '=', runId).executeTakeFirstOrThrow()).status).toBe('running');
    // The held walks wait with their cursors for `resume` (every process: the pause is in Postgres), none failed.
    const held = await env.db.selectFrom('sync_walks').select(['status', 'waiting_reason']).where('run_id', '=', runId).where('status', '=', 'running').execute();
    expect(held.length).toBeGreaterThan(0);
    for (const w of held) expect(w.waiting_reason).toMatch(/^source paused: .*payment required/);
    expect((await Promise.all(app.engine.queues().map((q) => q.getJobCounts('failed')))).reduce((n, c) => n + (c.failed ?? 0), 0)).toBe(failedBefore);
    expect(ax.requests.length).toBe(quiet); // nothing was sent while paused
    const resumed = await cli(['resume', '--source', AX]);
    expect(resumed.stdout.trim()).toBe(`resumed ${AX}`);
    const done = await app.engine.waitForRun(runId);
    expect(done.status).toBe('succeeded');
    expect(ax.requests.filter(servers).slice(-3).map((r) => [r.query.get('page'), r.status])).toEqual([
      ['1', 402],
      ['1', 200],
      ['2', 200],
    ]);
    expect((await env.db.selectFrom('devices').select('external_id').where('source_id', '=', AX).where('deleted_at', 'is', null).execute()).length).toBe(ax.data.servers.length);
  });
});
