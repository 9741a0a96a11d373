import { expect } from 'vitest';
import type { App } from '../../src/app.js';
import { toTimestamp } from '../../src/normalize.js';
import { generateTogglData, TogglSimulator, type TogglData } from '../../src/simulators/toggl.js';
import { createTestEnv, type TestEnv } from '../helpers.js';
import { runCli, type CliResult } from './cli.js';
import { tempDir, testConfig, type TempDir } from './config.js';
import { liveRows, sortById } from './warehouse.js';

// What the Toggl test files share: the source, its config, the account they sync, and the check
// that the warehouse holds exactly the simulator's account.

/** The simulator's token, read by the source from TEST_TOGGL_TOKEN. */
export const TOKEN = 'toggl-test-token-5f1e';
export const DAY = 86_400_000;
export const utcDate = (ms: number) => new Date(ms).toISOString().slice(0, 10);
/** First date of the default history (a year) of a time-entry walk started today. */
export const historyFrom = () => utcDate(Date.now() - 365 * DAY);
export const SOURCE = 'toggl-test';

/** The config of SOURCE on the simulator at `baseUrl` (pages of 3, lanes far above what the simulator needs). */
export function config(baseUrl: string) {
  return testConfig([
    {
      id: SOURCE,
      vendor: 'toggl',
      baseUrl,
      credentials: { apiToken: '${TEST_TOGGL_TOKEN}' },
      pageSize: 3,
      // The real lane is 1 request/s; the simulator has no limit and the suite must stay fast.
      rateLimits: { api: { windows: [{ max: 200, durationMs: 1000 }], concurrency: 2 } },
      rateLimitBackoffMs: 700,
    },
  ]);
}

/**
 * The warehouse holds exactly the simulator's account, value by value; tables in `except` are
 * not compared (a resource the test keeps from landing).
 */
export async function expectExact(env: TestEnv, data: TogglData, except: readonly string[] = []) {
  const orgRows = await liveRows(env, 'organizations');
  const wsRows = orgRows.filter((r) => r.scope === '-');
  expect(wsRows.map((r) => [r.external_id, r.name, r.parent_external_id])).toEqual(
    sortById(data.workspaces).map((w) => [String(w.id), w.name, `org:${w.organization_id}`]),
  );
  for (const w of data.workspaces) expect(wsRows.find((r) => r.external_id === String(w.id))!.raw).toEqual(w);
  const orgs = orgRows.filter((r) => r.scope !== '-');
  expect(orgs.map((r) => [r.external_id, r.scope, r.name]).sort()).toEqual(data.organizations.map((o) => [`org:${o.id}`, String(o.id), o.name]).sort());

  // Live projects on both sides; one deleted at Toggl is either still there with vendor_deleted_at
  // (seen by an incremental walk) or gone (swept by a full walk, which no longer lists it).
  const projects = await env.db
    .selectFrom('projects')
    .selectAll()
    .where('deleted_at', 'is', null)
    .where('vendor_deleted_at', 'is', null)
    .orderBy('external_id')
    .execute();
  const simProjects = sortById(data.projects.filter((p) => p.server_deleted_at === null));
  for (const p of data.projects.filter((x) => x.server_deleted_at !== null)) {
    const row = await env.db.selectFrom('projects').selectAll().where('external_id', '=', String(p.id)).executeTakeFirstOrThrow();
    if (row.deleted_at === null) expect((row.vendor_deleted_at as Date).toISOString()).toBe(toTimestamp(p.server_deleted_at));
  }
  expect(projects.map((p) => p.external_id)).toEqual(simProjects.map((p) => String(p.id)));
  for (const [i, p] of simProjects.entries()) {
    const row = projects[i]!;
    expect(row.scope).toBe(String(p.workspace_id));
    expect(row.organization_external_id).toBe(String(p.workspace_id));
    expect(row.client_external_id).toBe(p.client_id === null ? null : String(p.client_id));
    expect([row.name, row.active, row.is_private, row.billable, row.color, row.status]).toEqual([p.name, p.active, p.is_private, p.billable, p.color, p.status]);
    expect((row.vendor_updated_at as Date).toISOString()).toBe(toTimestamp(p.at));
    expect(row.raw).toEqual(p);
  }
  const clients = await liveRows(env, 'clients');
  expect(clients.map((c) => [c.external_id, c.organization_external_id, c.name, c.archived])).toEqual(
    sortById(data.clients).map((c) => [String(c.id), String(c.wid), c.name, c.archived]),
  );
  const users = await liveRows(env, 'users');
  expect(users.map((u) => [u.external_id, u.user_external_id, u.organization_external_id, u.email, u.name, u.role, u.is_admin, u.active, u.inactive]).sort()).toEqual(
    data.members.map((m) => [`${m.workspaceId}:${m.user.id}`, String(m.user.id), String(m.workspaceId), m.user.email, m.user.fullname, m.user.role, m.user.is_admin, m.user.is_active, m.user.inactive]).sort(),
  );
  const tags = await liveRows(env, 'tags');
  expect(tags.map((t) => [t.external_id, t.organization_external_id, t.name, iso(t.vendor_updated_at)])).toEqual(
    sortById(data.tags).map((t) => [String(t.id), String(t.workspace_id), t.name, toTimestamp(t.at)]),
  );
  const tasks = except.includes('tasks') ? null : await liveRows(env, 'tasks');
  if (tasks) expect(tasks.map((t) => [t.external_id, t.organization_external_id, t.project_external_id, t.user_external_id, t.name, t.active, t.estimated_seconds, t.tracked_seconds])).toEqual(
    sortById(data.tasks).map((t) => [String(t.id), String(t.workspace_id), String(t.project_id), t.user_id === null ? null : String(t.user_id), t.name, t.active, t.estimated_seconds, t.tracked_seconds]),
  );
  if (!except.includes('time_entries')) await expectExactEntries(env, data);
}

/** Time entries of the history (a year by default): every one, value by value. */
async function expectExactEntries(env: TestEnv, data: TogglData) {
  const entries = await env.db.selectFrom('time_entries').selectAll().where('deleted_at', 'is', null).where('started_at', '>=', new Date(`${historyFrom()}T00:00:00Z`)).orderBy('external_id').execute();
  const simEntries = sortById(data.timeEntries.filter((e) => e.start.slice(0, 10) >= historyFrom()));
  expect(simEntries.length).toBeGreaterThan(10);
  expect(entries.map((e) => [e.external_id, e.scope, e.organization_external_id, e.project_external_id, e.task_external_id, e.user_external_id, e.description, iso(e.started_at), iso(e.stopped_at), e.duration_seconds, e.billable, e.tag_names, e.tag_ids, iso(e.vendor_updated_at)])).toEqual(
    simEntries.map((e) => [
      String(e.id),
      String(e.workspace_id),
      String(e.workspace_id),
      e.project_id === null ? null : String(e.project_id),
      e.task_id === null ? null : String(e.task_id),
      String(e.user_id),
      e.description,
      toTimestamp(e.start),
      toTimestamp(e.stop),
      e.duration,
      e.billable,
      e.tag_ids.map((id) => data.tags.find((t) => t.id === id)!.name),
      e.tag_ids,
      toTimestamp(e.at),
    ]),
  );
}

/** A timestamp column as ISO text (null stays null). */
export function iso(v: unknown): string | null {
  return v instanceof Date ? v.toISOString() : v === null ? null : String(v);
}

/** The Reports searches of one workspace since request `mark`, with their parsed bodies. */
export function searches(sim: TogglSimulator, ws: number | string, mark = 0) {
  return sim.requests
    .slice(mark)
    .filter((r) => r.method === 'POST' && r.path === `/reports/api/v3/workspace/${ws}/search/time_entries`)
    .map((r) => ({ status: r.status, body: JSON.parse(r.body) as Record<string, unknown> }));
}

/**
 * The account the Toggl tests sync: 3 workspaces, workspace 1 exactly two pages of 3 projects (the
 * walk must ask for a third, empty page), time entries in two of them, none within two days of
 * the history's first date (a test running across midnight UTC must not see one move in or out).
 */
export function suiteData(): TogglData {
  const data = generateTogglData({ seed: 4, workspaces: 3, projectsPerWorkspace: [6, 7, 2], timeEntriesPerWorkspace: [40, 9, 0] });
  const edge = Date.parse(`${historyFrom()}T00:00:00Z`);
  data.timeEntries = data.timeEntries.filter((e) => Math.abs(Date.parse(e.start) - edge) > 2 * DAY);
  return data;
}

/** A test database and queue prefix, the simulator, and an app working SOURCE (plus `extra` sources). */
export interface TogglSuite {
  env: TestEnv;
  sim: TogglSimulator;
  app: App;
  dir: TempDir;
  configFile: string;
  /** Runs the CLI in a child process on the suite's config (the tokens in its environment). */
  cli: (args: string[]) => Promise<CliResult>;
  close: () => Promise<void>;
}

/** Opens a TogglSuite on `data`; `extra` sources join the config, their credentials from `extraEnv`. */
export async function openTogglSuite(data: TogglData, extra: { sources?: Array<Record<string, unknown>>; env?: Record<string, string> } = {}): Promise<TogglSuite> {
  const env = await createTestEnv();
  const sim = new TogglSimulator({ apiToken: TOKEN, data });
  const origin = await sim.start();
  const cfg = config(`${origin}/api/v9`);
  cfg.sources.push(...(extra.sources ?? []));
  const dir = await tempDir('fleetsync-toggl-');
  const configFile = await dir.writeYaml('fleetsync.yaml', cfg);
  const vars = { TEST_TOGGL_TOKEN: TOKEN, ...extra.env };
  const app = await env.open(cfg, { ...process.env, ...vars });
  app.engine.startWorkers();
  return {
    env,
    sim,
    app,
    dir,
    configFile,
    cli: (args) => runCli(env, configFile, args, vars),
    close: async () => {
      await sim.stop();
      await env.cleanup();
      await dir.remove();
    },
  };
}
