import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../src/app.js';
import { toTimestamp } from '../src/normalize.js';
import type { TogglSimulator } from '../src/simulators/toggl.js';
import type { TestEnv } from './helpers.js';
import { syncOnce } from './helpers/sync.js';
import { DAY, expectExact, historyFrom, openTogglSuite, searches, SOURCE, suiteData, TOKEN, utcDate, type TogglSuite } from './helpers/toggl.js';
import { expectColumnsFilled } from './helpers/warehouse.js';

// The Toggl connector against the simulator: what lands, paging, time entries, incremental runs.
// What 402, 410 and 429 answers do: test/toggl-402.test.ts; the hourly quota: test/toggl-quota.test.ts.

describe('Toggl Track sync', () => {
  let suite: TogglSuite;
  let env: TestEnv;
  let sim: TogglSimulator;
  let app: App;

  beforeAll(async () => {
    suite = await openTogglSuite(suiteData());
    ({ env, sim, app } = suite);
  });
  afterAll(async () => {
    await suite.close();
  });
  afterEach(() => {
    sim.clearFaults();
  });

  it('lands exactly the account: workspaces and their organizations, projects across pages, clients incl. archived, memberships', async () => {
    const { run, summary } = await syncOnce(app, SOURCE);
    expect(run.status, run.error_message ?? '').toBe('succeeded');
    await expectExact(env, sim.data);
    const ws1 = String(sim.data.workspaces[0]!.id);
    expect(sim.requests.filter((r) => r.path === `/api/v9/workspaces/${ws1}/projects`).map((r) => [r.query.get('page'), r.query.get('per_page')])).toEqual([
      ['1', '3'],
      ['2', '3'],
      ['3', '3'],
    ]);
    // Two workspaces share one organization: it is fetched once.
    expect(sim.requests.filter((r) => r.path.startsWith('/api/v9/organizations/')).length).toBe(sim.data.organizations.length);
    expect(summary.resources.find((r) => r.resource === 'projects')!.inserted).toBe(sim.data.projects.length);
    // The shared user is one row per workspace membership.
    expect(sim.data.members.filter((m) => m.user.id === 9_000_001).length).toBe(3);
  });

  it('lists projects with active=both: archived ones land and a later full walk does not mark them deleted', async () => {
    const archived = sim.data.projects.filter((p) => !p.active);
    expect(archived.length).toBeGreaterThan(0);
    const mark = sim.requests.length;
    const { run, summary } = await syncOnce(app, SOURCE, ['projects']);
    expect(run.status).toBe('succeeded');
    const reqs = sim.requests.slice(mark).filter((r) => r.path.endsWith('/projects'));
    expect(reqs.every((r) => r.query.get('active') === 'both' && !r.query.has('sort_pinned'))).toBe(true);
    expect(summary.resources.find((r) => r.resource === 'projects')!.deleted).toBe(0);
    const rows = await env.db.selectFrom('projects').select(['external_id', 'active', 'deleted_at']).where('external_id', 'in', archived.map((p) => String(p.id))).execute();
    expect(rows.map((r) => [r.active, r.deleted_at])).toEqual(archived.map(() => [false, null]));
  });

  it('fills every column docs/connectors.md maps for Toggl', async () => {
    const { run } = await syncOnce(app, SOURCE);
    expect(run.status).toBe('succeeded');
    await expectColumnsFilled(env, 'organizations', SOURCE, ['name', 'parent_external_id', 'vendor_created_at', 'vendor_updated_at']);
    await expectColumnsFilled(env, 'projects', SOURCE, ['organization_external_id', 'client_external_id', 'name', 'active', 'is_private', 'billable', 'color', 'status', 'vendor_created_at', 'vendor_updated_at']);
    await expectColumnsFilled(env, 'clients', SOURCE, ['organization_external_id', 'name', 'archived', 'notes', 'vendor_updated_at']);
    await expectColumnsFilled(env, 'users', SOURCE, ['organization_external_id', 'user_external_id', 'name', 'email', 'role', 'is_admin', 'active', 'inactive']);
    await expectColumnsFilled(env, 'tags', SOURCE, ['organization_external_id', 'name', 'vendor_updated_at']);
    await expectColumnsFilled(env, 'tasks', SOURCE, ['organization_external_id', 'project_external_id', 'user_external_id', 'name', 'active', 'estimated_seconds', 'tracked_seconds', 'vendor_updated_at']);
    await expectColumnsFilled(env, 'time_entries', SOURCE, [
      'organization_external_id', 'project_external_id', 'task_external_id', 'user_external_id', 'description', 'started_at', 'stopped_at', 'duration_seconds', 'billable', 'tag_names', 'tag_ids', 'vendor_updated_at',
    ]);
    // Some archived (inactive) and some left (inactive membership) users exist, with both values.
    const flags = await env.db.selectFrom('users').select(['active', 'inactive']).distinct().execute();
    expect(flags.length).toBeGreaterThan(1);
  });

  it('time entries: one Reports search per page, windows of at most 366 days, pages by X-Next-* headers, and a full walk sweeps only inside its history', async () => {
    expect((await syncOnce(app, SOURCE)).run.status).toBe('succeeded');
    const ws1 = sim.data.workspaces[0]!.id;
    // A row of an entry that started before the history (synced when the history was longer).
    await env.db
      .insertInto('time_entries')
      .values({ source_id: SOURCE, external_id: '3999999999', scope: String(ws1), organization_external_id: String(ws1), started_at: new Date(Date.now() - 700 * DAY), raw: JSON.stringify({ id: 3999999999 }) })
      .execute();
    const inHistory = sim.data.timeEntries.filter((e) => e.workspace_id === ws1 && e.start.slice(0, 10) >= historyFrom());
    const victim = sim.deleteTimeEntry(inHistory[0]!.id)!;
    // deletes: confirm (the default): the first full walk that misses the entry marks it missing,
    // the second one deletes it.
    const first = await syncOnce(app, SOURCE, ['time_entries']);
    expect(first.run.status).toBe('succeeded');
    expect(first.summary.resources.find((r) => r.resource === 'time_entries')!.deleted).toBe(0);
    const mark = sim.requests.length;
    const { run, summary } = await syncOnce(app, SOURCE, ['time_entries']);
    expect(run.status).toBe('succeeded');
    expect(summary.resources.find((r) => r.resource === 'time_entries')!.deleted).toBe(1);
    const gone = await env.db.selectFrom('time_entries').select('deleted_at').where('external_id', '=', String(victim.id)).executeTakeFirstOrThrow();
    expect(gone.deleted_at).not.toBeNull();
    const old = await env.db.selectFrom('time_entries').select('deleted_at').where('external_id', '=', '3999999999').executeTakeFirstOrThrow();
    expect(old.deleted_at).toBeNull();

    const reqs = searches(sim, ws1, mark);
    expect(reqs.every((r) => r.status === 200)).toBe(true);
    for (const { body } of reqs) {
      const days = (Date.parse(body.end_date as string) - Date.parse(body.start_date as string)) / DAY + 1;
      expect(days).toBeGreaterThan(0);
      expect(days).toBeLessThanOrEqual(366);
      expect([body.page_size, body.grouped, body.enrich_response]).toEqual([3, false, true]);
    }
    // Two windows cover the year and two days ahead; inside a window each page starts at the row
    // the previous response named, asked for by its row number alone.
    const windows = [...new Set(reqs.map((r) => `${r.body.start_date as string}..${r.body.end_date as string}`))];
    expect(windows[0]!.startsWith(historyFrom())).toBe(true);
    expect(windows.length).toBe(2);
    const remaining = sim.data.timeEntries.filter((e) => e.workspace_id === ws1).sort((a, b) => Date.parse(a.start) - Date.parse(b.start) || a.id - b.id);
    for (const w of windows) {
      const pages = reqs.filter((r) => `${r.body.start_date as string}..${r.body.end_date as string}` === w).map((r) => r.body);
      const [start, end] = w.split('..') as [string, string];
      const inWindow = remaining.filter((e) => e.start.slice(0, 10) >= start && e.start.slice(0, 10) <= end);
      expect(pages.length).toBe(Math.max(1, Math.ceil(inWindow.length / 3)));
      expect(pages[0]!.first_row_number).toBeUndefined();
      for (const [i, p] of pages.slice(1).entries()) {
        const next = inWindow[(i + 1) * 3]!;
        expect(next).toBeDefined();
        expect([p.first_row_number, p.first_id, p.first_timestamp]).toEqual([(i + 1) * 3 + 1, undefined, undefined]);
      }
      // Each window's totals are asked for once, with the same dates, after its last page.
      const totals = sim.requests.slice(mark).filter((r) => r.path === `/reports/api/v3/workspace/${ws1}/search/time_entries/totals`).map((r) => JSON.parse(r.body) as Record<string, unknown>);
      expect(totals.filter((b) => b.start_date === start && b.end_date === end)).toHaveLength(1);
    }
    const walks = await env.db.selectFrom('sync_walks').select(['scope', 'sweep']).where('run_id', '=', run.id).execute();
    expect(walks.every((w) => w.sweep === 'swept')).toBe(true);
    await expectExact(env, sim.data);
  });

  it('time entries: a later page asked with first_id beside first_row_number would come back empty at Toggl; the walk sends the row number alone', async () => {
    sim.searchFaults.firstIdEmpties = true;
    try {
      const { run } = await syncOnce(app, SOURCE, ['time_entries']);
      expect(run.status).toBe('succeeded');
      await expectExact(env, sim.data);
    } finally {
      sim.searchFaults.firstIdEmpties = false;
    }
  });

  it('time entries: a page the vendor\'s paging skipped shows against its row numbers and totals; the walk never sweeps, and a second opinion says why', async () => {
    expect((await syncOnce(app, SOURCE, ['time_entries'])).run.status).toBe('succeeded');
    const ws1 = String(sim.data.workspaces[0]!.id);
    // One answer of the first workspace names a row one page too far: three entries are never served, and never missed.
    // (Workspaces are walked side by side: a skip in any workspace could land on the other one.)
    sim.searchFaults.skipWorkspace = sim.data.workspaces[0]!.id;
    sim.searchFaults.skipPages = 1;
    const { run } = await syncOnce(app, SOURCE, ['time_entries']);
    expect(run.status).toBe('succeeded');
    const walk = await env.db.selectFrom('sync_walks').select(['scope', 'sweep', 'sweep_reason', 'missing', 'deleted']).where('run_id', '=', run.id).where('scope', '=', ws1).executeTakeFirstOrThrow();
    expect(walk.sweep).toBe('inconsistent');
    expect(walk.sweep_reason).toMatch(/^inconsistent: the vendor's totals disagree with what the walk read: window \d{4}-\d\d-\d\d\.\.\d{4}-\d\d-\d\d: read \d+ rows, the vendor numbered \d+; its entries hold \d+ s, the vendor's totals say \d+ s; nothing of time_entries of workspace/);
    expect([walk.missing, walk.deleted]).toEqual([0, 0]);
    expect(await env.db.selectFrom('time_entries').select('external_id').where('source_id', '=', SOURCE).where('deleted_at', 'is', null).where('missing_since', 'is not', null).execute()).toEqual([]);
    // The next walk reads everything again and sweeps.
    const again = await syncOnce(app, SOURCE, ['time_entries']);
    const next = await env.db.selectFrom('sync_walks').select('sweep').where('run_id', '=', again.run.id).where('scope', '=', ws1).executeTakeFirstOrThrow();
    expect(next.sweep).toBe('swept');
    await expectExact(env, sim.data);
  });

  it('a 429 on the Reports search pauses the lane and the same page is asked again; the walk ends exact', async () => {
    expect((await syncOnce(app, SOURCE)).run.status).toBe('succeeded');
    const ws2 = sim.data.workspaces[1]!.id;
    sim.inject({ kind: 'status', status: 429, match: (r) => r.method === 'POST' && r.path === `/reports/api/v3/workspace/${ws2}/search/time_entries` });
    const mark = sim.requests.length;
    const { run } = await syncOnce(app, SOURCE, ['time_entries']);
    expect(run.status).toBe('succeeded');
    const reqs = searches(sim, ws2, mark);
    expect(reqs[0]!.status).toBe(429);
    expect(reqs[1]!.body).toEqual(reqs[0]!.body);
    expect(reqs.slice(1).every((r) => r.status === 200)).toBe(true);
    await expectExact(env, sim.data);
  });

  it('the Reports search refuses more than 366 days with a 400', async () => {
    const ws1 = sim.data.workspaces[0]!.id;
    const auth = `Basic ${Buffer.from(`${TOKEN}:api_token`).toString('base64')}`;
    const post = (start_date: string, end_date: string) =>
      fetch(`${sim.origin}/reports/api/v3/workspace/${ws1}/search/time_entries`, { method: 'POST', headers: { authorization: auth, 'content-type': 'application/json' }, body: JSON.stringify({ start_date, end_date }) });
    expect((await post('2025-01-01', '2026-01-01')).status).toBe(200); // 366 days, both counted
    const refused = await post('2025-01-01', '2026-01-02');
    expect([refused.status, await refused.text()]).toEqual([400, 'Maximum allowed date range is 366 days']);
  });

  it('an incremental time-entry walk searches from its newest start minus a week, lands new entries and marks nothing deleted', async () => {
    const full = await syncOnce(app, SOURCE, ['time_entries']);
    expect(full.run.status).toBe('succeeded');
    const ws2 = sim.data.workspaces[1]!;
    const newest = Math.max(...sim.data.timeEntries.filter((e) => e.workspace_id === ws2.id).map((e) => Date.parse(e.start)));
    const template = sim.data.timeEntries.find((e) => e.workspace_id === ws2.id)!;
    const start = Math.floor((Date.now() - 2 * 3_600_000) / 1000) * 1000;
    const added = { ...template, id: 4_100_000_001, description: 'nachgetragen ✓', start: new Date(start).toISOString(), stop: new Date(start + 600_000).toISOString(), duration: 600, at: new Date(start + 600_000).toISOString() };
    sim.data.timeEntries.push(added);
    const mark = sim.requests.length;
    const { run, summary } = await syncOnce(app, SOURCE, ['time_entries'], 'incremental');
    expect(run.status).toBe('succeeded');
    const walk = await env.db.selectFrom('sync_walks').select(['mode']).where('run_id', '=', run.id).where('scope', '=', String(ws2.id)).executeTakeFirstOrThrow();
    expect(walk.mode).toBe('incremental');
    const reqs = searches(sim, ws2.id, mark);
    expect(reqs[0]!.body.start_date).toBe(utcDate(newest - 7 * DAY));
    expect(summary.resources.find((r) => r.resource === 'time_entries')!.deleted).toBe(0);
    const row = await env.db.selectFrom('time_entries').selectAll().where('external_id', '=', String(added.id)).executeTakeFirstOrThrow();
    expect([row.description, row.duration_seconds, row.deleted_at]).toEqual(['nachgetragen ✓', 600, null]);
    await expectExact(env, sim.data);
  });

  it('a 400 with a text body fails that walk with the message and is never repeated', async () => {
    const ws2 = String(sim.data.workspaces[1]!.id);
    sim.inject({ kind: 'status', status: 400, body: 'per_page is invalid for this workspace', match: (r) => r.path === `/api/v9/workspaces/${ws2}/projects` });
    const mark = sim.requests.length;
    const { run, summary } = await syncOnce(app, SOURCE, ['projects']);
    expect(run.status).toBe('partial');
    const tries = sim.requests.slice(mark).filter((r) => r.path === `/api/v9/workspaces/${ws2}/projects`);
    expect(tries.map((r) => r.status)).toEqual([400]);
    expect(run.error_status).toBe(400);
    expect(run.error_message).toBe(`${SOURCE}/projects workspace ${ws2} page 0: 400 per_page is invalid for this workspace`);
    expect(summary.resources.find((r) => r.resource === 'projects')!.failed).toBe(1);
  });

  it('an incremental run asks for projects `since` the mark minus the overlap in unix seconds, lands only the changes, and marks no deletes', async () => {
    const full = await syncOnce(app, SOURCE);
    expect(full.run.status).toBe('succeeded');
    // Each workspace's projects walk left its newest `at` as the high-water mark.
    const sinceOf = new Map(
      sim.data.workspaces.map((w) => {
        const mark = Math.max(...sim.data.projects.filter((p) => p.workspace_id === w.id).map((p) => Date.parse(p.at)));
        return [String(w.id), Math.floor((mark - 5 * 60_000) / 1000)];
      }),
    );
    const [ws1, ws2] = sim.data.workspaces;
    const renamed = sim.updateProject(sim.data.projects.find((p) => p.workspace_id === ws1!.id)!.id, { name: 'Umbenannt ✓ 😀', active: false })!;
    const touched = sim.touchProject(sim.data.projects.filter((p) => p.workspace_id === ws2!.id).at(-1)!.id)!;
    const changed = new Set([renamed.id, touched.id]);
    // What Toggl answers: the changes, plus unchanged projects updated within the overlap.
    const returned = sim.data.projects.filter((p) => Date.parse(p.at) >= sinceOf.get(String(p.workspace_id))! * 1000);
    const inOverlap = returned.filter((p) => !changed.has(p.id));
    expect(inOverlap.length).toBeGreaterThanOrEqual(1); // at least the projects that set the marks
    expect(returned.length).toBeLessThan(sim.data.projects.length / 2);

    const reqMark = sim.requests.length;
    const { run, summary } = await syncOnce(app, SOURCE, undefined, 'incremental');
    expect(run.status).toBe('succeeded');
    expect(run.mode).toBe('incremental');
    const walks = await env.db.selectFrom('sync_walks').selectAll().where('run_id', '=', run.id).where('resource', '=', 'projects').orderBy('scope').execute();
    expect(walks.map((w) => [w.scope, w.mode, new Date(w.since!).getTime()])).toEqual(
      [...sinceOf.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([ws, since]) => [ws, 'incremental', since * 1000]),
    );
    const projectReqs = sim.requests.slice(reqMark).filter((r) => /^\/api\/v9\/workspaces\/\d+\/projects$/.test(r.path));
    for (const [ws, since] of sinceOf) {
      const reqs = projectReqs.filter((r) => r.path === `/api/v9/workspaces/${ws}/projects`);
      const n = returned.filter((p) => String(p.workspace_id) === ws).length;
      // Pages of 3 as before, the last one short: every page carries `since`.
      expect(reqs.map((r) => [r.query.get('since'), r.query.get('page'), r.status])).toEqual(
        Array.from({ length: Math.floor(n / 3) + 1 }, (_, i) => [String(since), String(i + 1), 200]),
      );
    }
    expect(projectReqs.length).toBe([...sinceOf.keys()].reduce((k, ws) => k + Math.floor(returned.filter((p) => String(p.workspace_id) === ws).length / 3) + 1, 0));
    // Clients and users have no `since` at Toggl: their walks stay full and send none.
    for (const r of sim.requests.slice(reqMark)) if (!projectReqs.includes(r)) expect(r.query.has('since')).toBe(false);
    const other = await env.db.selectFrom('sync_walks').select(['resource', 'mode']).where('run_id', '=', run.id).where('resource', 'not in', ['projects', 'time_entries']).execute();
    expect(other.every((w) => w.mode === 'full')).toBe(true);

    const proj = summary.resources.find((r) => r.resource === 'projects')!;
    expect([proj.records, proj.inserted, proj.updated, proj.unchanged, proj.deleted]).toEqual([returned.length, 0, 2, inOverlap.length, 0]);
    expect(summary.resources.map((r) => [r.resource, r.deleted])).toEqual(summary.resources.map((r) => [r.resource, 0]));
    expect(await env.db.selectFrom('projects').select('external_id').where('deleted_at', 'is not', null).execute()).toEqual([]);
    const row = await env.db.selectFrom('projects').selectAll().where('external_id', '=', String(renamed.id)).executeTakeFirstOrThrow();
    expect([row.name, row.active, (row.vendor_updated_at as Date).toISOString()]).toEqual(['Umbenannt ✓ 😀', false, toTimestamp(renamed.at)]);
    // The new marks are the changed projects' `at`.
    expect(walks.find((w) => w.scope === String(ws1!.id))!.high_water_mark).toEqual(new Date(renamed.at));
    await expectExact(env, sim.data);
  });

  it('a project deleted at Toggl comes back from `since` and lands with vendor_deleted_at; the next full walk sweeps it', async () => {
    const ws3 = sim.data.workspaces[2]!;
    const victim = sim.deleteProject(sim.data.projects.find((p) => p.workspace_id === ws3.id)!.id)!;
    expect(victim.server_deleted_at).toBe(victim.at);

    const { run, summary } = await syncOnce(app, SOURCE, ['projects'], 'incremental');
    expect(run.status).toBe('succeeded');
    const proj = summary.resources.find((r) => r.resource === 'projects')!;
    expect([proj.inserted, proj.updated, proj.deleted]).toEqual([0, 1, 0]);
    const seen = await env.db.selectFrom('projects').selectAll().where('external_id', '=', String(victim.id)).executeTakeFirstOrThrow();
    expect(seen.deleted_at).toBeNull(); // an incremental walk marks nothing deleted itself ...
    expect((seen.vendor_deleted_at as Date).toISOString()).toBe(toTimestamp(victim.server_deleted_at));
    expect(seen.raw).toEqual(victim);
    await expectExact(env, sim.data);

    // ... the next full walk no longer gets it from Toggl and marks it missing (deletes: confirm),
    // the one after that sweeps it.
    const full = await syncOnce(app, SOURCE, ['projects']);
    expect(full.run.status).toBe('succeeded');
    expect(full.summary.resources.find((r) => r.resource === 'projects')!.missing).toBe(1);
    const confirming = await syncOnce(app, SOURCE, ['projects']);
    expect(confirming.summary.resources.find((r) => r.resource === 'projects')!.deleted).toBe(1);
    const gone = await env.db.selectFrom('projects').selectAll().where('external_id', '=', String(victim.id)).executeTakeFirstOrThrow();
    expect(gone.deleted_at).not.toBeNull();
    expect((gone.vendor_deleted_at as Date).toISOString()).toBe(toTimestamp(victim.server_deleted_at));
    await expectExact(env, sim.data);
  });
});
