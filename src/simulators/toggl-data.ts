/**
 * The Toggl Track simulator's account (src/simulators/toggl.ts), generated from a seed; its
 * records (toggl-records.ts) are exported from here as before.
 */
import { createRng } from './http-sim.js';
import type { Rng } from './http-sim.js';
import type { TogglData, TogglUser } from './toggl-records.js';

export type { TogglWorkspace, TogglOrganization, TogglProject, TogglClient, TogglUser, TogglTag, TogglTask, TogglTimeEntry, TogglData } from './toggl-records.js';

export interface GenerateTogglOptions {
  seed?: number;
  workspaces: number;
  projectsPerWorkspace: number | number[];
  clientsPerWorkspace?: number;
  usersPerWorkspace?: number;
  /** Default 3. */
  tagsPerWorkspace?: number;
  /** Tasks of each of a workspace's first two projects; default 2. */
  tasksPerProject?: number;
  /** Default 0 (time entries relate to the clock: see `now`). */
  timeEntriesPerWorkspace?: number | number[];
  /** Entries start between `timeEntryDays` days before `now` and now; default 500 and Date.now(). */
  timeEntryDays?: number;
  now?: number;
}

const BASE = Date.UTC(2024, 2, 1, 8, 0, 0);
const DAY = 86_400_000;
/** A Toggl time: whole seconds, `+00:00`. */
export const togglTime = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, '+00:00');
const COLORS = ['#0b83d9', '#9e5bd9', '#d94182', '#e36a00', '#bf7000', '#2da608'];
const NAMES = ['Website relaunch', 'Mobile app', 'Intern training', 'Büro-Umzug', 'データ移行', 'Support 😀', 'Q3 audit', 'Onboarding'];

/** The last id handed out of each kind (ids ascend in array order). */
interface LastIds {
  client: number;
  project: number;
  tag: number;
  task: number;
  entry: number;
  user: number;
}

/** What the helpers making one workspace share: the draws, the account so far, the ids handed out. */
interface WorkspaceGen {
  rng: Rng;
  data: TogglData;
  opts: GenerateTogglOptions;
  ids: LastIds;
  /** The account's owner: a member of every workspace. */
  owner: TogglUser;
  /** Workspace number (from 0) and its id. */
  w: number;
  wsId: number;
}

/**
 * Deterministic fake account: workspaces 1 and 2 share an organization, the rest have their own.
 * Each workspace draws from the seed in the order of the helpers below, so a seed gives the same account.
 */
export function generateTogglData(opts: GenerateTogglOptions): TogglData {
  const rng = createRng(opts.seed ?? 1);
  const data: TogglData = { workspaces: [], organizations: [], projects: [], clients: [], members: [], tags: [], tasks: [], timeEntries: [] };
  const ids: LastIds = { client: 60_000_000, project: 190_000_000, tag: 20_000_000, task: 30_000_000, entry: 4_000_000_000, user: 9_000_100 };
  const now = opts.now ?? Date.now();
  const owner: TogglUser = {
    id: 9_000_001,
    email: 'owner@example.com',
    fullname: 'Olga Owner',
    inactive: false,
    is_active: true,
    is_admin: true,
    role: 'admin',
  };
  for (let w = 0; w < opts.workspaces; w++) {
    const gen: WorkspaceGen = { rng, data, opts, ids, owner, w, wsId: 7_000_001 + w };
    addWorkspace(gen);
    addProjects(gen, addClients(gen));
    addTagsAndTasks(gen);
    addTimeEntries(gen, now);
    addMembers(gen);
  }
  return data;
}

/** The workspace, and its organization when it is the first of it. */
function addWorkspace({ rng, data, w, wsId }: WorkspaceGen): void {
  const orgId = w < 2 ? 8_000_001 : 8_000_001 + w;
  if (!data.organizations.some((o) => o.id === orgId)) {
    data.organizations.push({
      id: orgId,
      name: w < 2 ? 'Acme Holding' : `Org ${w}`,
      pricing_plan_id: rng.int(1, 4),
      pricing_plan_name: rng.pick(['Free', 'Starter', 'Premium']),
      created_at: togglTime(BASE - rng.int(100, 900) * DAY),
      at: togglTime(BASE - rng.int(0, 99) * DAY),
      is_multi_workspace_enabled: w < 2,
      user_count: 3,
      max_workspaces: 20,
      admin: true,
      owner: true,
    });
  }
  data.workspaces.push({
    id: wsId,
    organization_id: orgId,
    name: w === 1 ? 'Zürich Büro ✓' : `Workspace ${w + 1}`,
    premium: rng.bool(),
    admin: true,
    role: 'admin',
    default_currency: 'EUR',
    only_admins_may_create_projects: rng.bool(),
    projects_billable_by_default: rng.bool(),
    rounding: 1,
    rounding_minutes: 0,
    at: togglTime(BASE - rng.int(0, 50) * DAY),
    logo_url: 'https://assets.track.toggl.com/images/workspace.jpg',
    ...(w === 0 ? { x_future_field: { beta: true } } : {}),
  });
}

/** The workspace's clients (the last one archived); returns their ids. */
function addClients({ rng, data, opts, ids, owner, wsId }: WorkspaceGen): number[] {
  const nClients = opts.clientsPerWorkspace ?? 3;
  const wsClients: number[] = [];
  for (let c = 0; c < nClients; c++) {
    const id = ++ids.client;
    wsClients.push(id);
    data.clients.push({ id, wid: wsId, archived: c === nClients - 1, name: `Client ${c + 1} of ${wsId}`, at: togglTime(BASE + rng.int(0, 30) * DAY), ...(c === 0 ? {} : { notes: 'Net 30' }), creator_id: owner.id });
  }
  return wsClients;
}

function addProjects({ rng, data, opts, ids, w, wsId }: WorkspaceGen, wsClients: number[]): void {
  const nProjects = Array.isArray(opts.projectsPerWorkspace) ? (opts.projectsPerWorkspace[w] ?? 0) : opts.projectsPerWorkspace;
  for (let p = 0; p < nProjects; p++) {
    const id = ++ids.project;
    const cid = p % 3 === 2 ? null : rng.pick(wsClients.length ? wsClients : [0]) || null;
    const created = BASE - rng.int(1, 300) * DAY;
    data.projects.push({
      id,
      workspace_id: wsId,
      wid: wsId,
      client_id: cid,
      ...(cid === null ? {} : { cid }),
      name: `${rng.pick(NAMES)} #${p + 1}`,
      is_private: rng.bool(0.3),
      active: rng.bool(0.8),
      at: togglTime(created + rng.int(0, 20) * DAY),
      created_at: togglTime(created),
      server_deleted_at: null,
      color: rng.pick(COLORS),
      billable: rng.bool(0.2) ? null : rng.bool(),
      template: false,
      auto_estimates: null,
      estimated_hours: rng.bool(0.5) ? rng.int(1, 200) : null,
      currency: null,
      recurring: false,
      actual_hours: rng.int(0, 500),
      status: rng.pick(['active', 'upcoming', 'ended', 'archived']),
      start_date: new Date(created).toISOString().slice(0, 10),
      pinned: rng.bool(0.1),
    });
  }
}

/** The workspace's tags, and the tasks of its first two projects. */
function addTagsAndTasks({ rng, data, opts, ids, owner, wsId }: WorkspaceGen): void {
  for (let t = 0; t < (opts.tagsPerWorkspace ?? 3); t++) {
    data.tags.push({ id: ++ids.tag, workspace_id: wsId, name: ['billable-review', 'meeting', 'Überstunden', 'bug 🐛'][t % 4]! + (t >= 4 ? ` ${t}` : ''), at: togglTime(BASE + t * DAY), creator_id: owner.id });
  }
  const wsProjects = data.projects.filter((p) => p.workspace_id === wsId);
  for (const p of wsProjects.slice(0, 2)) {
    for (let k = 0; k < (opts.tasksPerProject ?? 2); k++) {
      data.tasks.push({ id: ++ids.task, name: `Task ${k + 1} of ${p.id}`, workspace_id: wsId, project_id: p.id, user_id: k === 0 ? owner.id : null, recurring: false, active: k === 0, at: togglTime(BASE + k * DAY), estimated_seconds: k === 0 ? 36_000 : null, tracked_seconds: rng.int(0, 90_000) });
    }
  }
}

/** The workspace's time entries, which start between `timeEntryDays` days before `now` and yesterday. */
function addTimeEntries({ rng, data, opts, ids, owner, w, wsId }: WorkspaceGen, now: number): void {
  const wsProjects = data.projects.filter((p) => p.workspace_id === wsId);
  const wsTags = data.tags.filter((t) => t.workspace_id === wsId).map((t) => t.id);
  const wsTasks = data.tasks.filter((t) => t.workspace_id === wsId);
  const nEntries = Array.isArray(opts.timeEntriesPerWorkspace) ? (opts.timeEntriesPerWorkspace[w] ?? 0) : (opts.timeEntriesPerWorkspace ?? 0);
  const days = opts.timeEntryDays ?? 500;
  for (let e = 0; e < nEntries; e++) {
    // Whole seconds, like Toggl's; the newest entry starts yesterday.
    const start = Math.floor((now - DAY - rng.int(0, (days - 1) * 24) * 3_600_000 - rng.int(0, 3599) * 1000) / 1000) * 1000;
    const duration = rng.int(300, 4 * 3600);
    const task = e % 5 === 1 ? wsTasks[0] : undefined;
    data.timeEntries.push({
      id: ++ids.entry,
      workspace_id: wsId,
      project_id: task ? task.project_id : e % 4 === 3 || wsProjects.length === 0 ? null : rng.pick(wsProjects).id,
      task_id: task ? task.id : null,
      user_id: owner.id,
      description: e % 7 === 6 ? '' : `${rng.pick(['Standup', 'Code review', 'Kundentermin', '設計', 'Support 😀'])} #${e + 1}`,
      billable: rng.bool(0.4),
      tag_ids: wsTags.length > 0 && e % 3 !== 0 ? [rng.pick(wsTags)] : [],
      start: togglTime(start),
      stop: togglTime(start + duration * 1000),
      duration,
      at: togglTime(start + duration * 1000 + rng.int(0, 48) * 3_600_000),
    });
  }
}

function addMembers({ data, opts, ids, owner, wsId }: WorkspaceGen): void {
  data.members.push({ workspaceId: wsId, user: owner });
  for (let u = 1; u < (opts.usersPerWorkspace ?? 3); u++) {
    const id = ++ids.user;
    data.members.push({
      workspaceId: wsId,
      // User 2 of each workspace has left it (inactive membership); user 3 is a deactivated account.
      user: { id, email: `user${id}@example.com`, fullname: `User ${id}`, inactive: u === 2, is_active: u !== 3, is_admin: false, role: 'user' },
    });
  }
}
