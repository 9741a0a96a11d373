/**
 * Toggl Track API v9 simulator (vendor doc 002).
 *
 * Base URL for a connector: `${origin}/api/v9` (the real one is https://api.track.toggl.com/api/v9).
 *   GET /api/v9/me/workspaces                       whole list, bare array
 *   GET /api/v9/organizations/{id}                  one object
 *   GET /api/v9/workspaces/{id}/projects?page&per_page&since&active&sort_pinned   page from 1,
 *       per_page <= 200 (default 151), bare array; `active` true (default: active projects only),
 *       false or both; `sort_pinned=true` puts pinned ones first; without `since` live projects
 *       only, with `since` (unix seconds) every project whose `at` is at or after it, deleted ones
 *       (`server_deleted_at` set) included
 *   GET /api/v9/workspaces/{id}/clients?status=active|archived|both (default active)
 *   GET /api/v9/workspaces/{id}/users
 *   GET /api/v9/workspaces/{id}/tags                 whole list, bare array
 *   GET /api/v9/workspaces/{id}/tasks?active&page&per_page   {data, page, per_page, sort_field,
 *       sort_order, total_count}; `active` true (default), false or both
 *   POST /reports/api/v3/workspace/{id}/search/time_entries   detailed report search, paged by
 *       response headers, at most 366 days per request (see searchTimeEntries)
 *   POST /reports/api/v3/workspace/{id}/search/time_entries/totals   the same search's totals
 *       ({seconds, tracked_days, rates, resolution, graph, amounts})
 * Auth: Basic base64("<api_token>:api_token"), else 403 with a plain-text body (Toggl's error
 * bodies are text or a JSON string, never an object).
 * Injectable behaviours: `inject()` faults (text bodies by default), `gone` (paths answering
 * 410 for good), `paymentRequired` (every request answers 402 until cleared), `planRestricted`
 * (paths of a feature the plan lacks answer 402, the others as usual), and an hourly
 * `quota` sending X-Toggl-Quota-Remaining / X-Toggl-Quota-Resets-In (402 once spent).
 * Changes at Toggl: `updateProject()` / `touchProject()` set `at` to now, `deleteProject()` sets
 * `server_deleted_at` (and `at`) to now.
 */
import { STATUS_CODES } from 'node:http';
import { HttpSimulator, createRng, parseIntParam } from './http-sim.js';
import type { RateWindow, SimRequest, SimResponse } from './http-sim.js';

export interface TogglWorkspace {
  id: number;
  organization_id: number;
  name: string;
  premium: boolean;
  admin: boolean;
  role: string;
  default_currency: string;
  only_admins_may_create_projects: boolean;
  projects_billable_by_default: boolean;
  rounding: number;
  rounding_minutes: number;
  at: string;
  logo_url: string;
  /** Only on a suspended workspace: the definition's string has no null. */
  suspended_at?: string;
  x_future_field?: Record<string, unknown>;
}

export interface TogglOrganization {
  id: number;
  name: string;
  pricing_plan_id: number;
  pricing_plan_name: string;
  created_at: string;
  at: string;
  is_multi_workspace_enabled: boolean;
  user_count: number;
  max_workspaces: number;
  admin: boolean;
  owner: boolean;
}

export interface TogglProject {
  id: number;
  workspace_id: number;
  wid: number;
  client_id: number | null;
  /** The legacy client id: only with a client (the definition's cid has no null). */
  cid?: number;
  name: string;
  is_private: boolean;
  active: boolean;
  at: string;
  created_at: string;
  /** Listed by the projects page of the v9 docs (not in the ModelsProject schema): set once deleted. */
  server_deleted_at: string | null;
  color: string;
  billable: boolean | null;
  template: boolean | null;
  auto_estimates: boolean | null;
  estimated_hours: number | null;
  /** Only when the project has a rate (premium). */
  rate?: number;
  currency: string | null;
  recurring: boolean;
  actual_hours: number | null;
  status: string;
  start_date: string;
  /** Only when the project has one. */
  end_date?: string;
  pinned: boolean;
}

export interface TogglClient {
  id: number;
  wid: number;
  archived: boolean;
  name: string;
  at: string;
  /** Only when the client has notes. */
  notes?: string;
  creator_id: number;
}

/** A workspace's user as the published v9 definition lists it: no timezone, no times. */
export interface TogglUser {
  id: number;
  email: string;
  fullname: string;
  inactive: boolean;
  is_active: boolean;
  is_admin: boolean;
  role: string;
}

export interface TogglTag {
  id: number;
  workspace_id: number;
  name: string;
  at: string;
  creator_id: number;
}

export interface TogglTask {
  id: number;
  name: string;
  workspace_id: number;
  project_id: number;
  user_id: number | null;
  recurring: boolean;
  active: boolean;
  at: string;
  estimated_seconds: number | null;
  tracked_seconds: number;
}

/** A time entry as Toggl stores it; the report search answers it in its own row shape. */
export interface TogglTimeEntry {
  id: number;
  workspace_id: number;
  project_id: number | null;
  task_id: number | null;
  user_id: number;
  description: string;
  billable: boolean;
  tag_ids: number[];
  start: string;
  stop: string;
  /** Seconds. */
  duration: number;
  at: string;
}

export interface TogglData {
  workspaces: TogglWorkspace[];
  organizations: TogglOrganization[];
  projects: TogglProject[];
  clients: TogglClient[];
  /** Memberships: a user may appear in several workspaces. */
  members: Array<{ workspaceId: number; user: TogglUser }>;
  tags: TogglTag[];
  tasks: TogglTask[];
  timeEntries: TogglTimeEntry[];
}

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
const togglTime = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, '+00:00');
const COLORS = ['#0b83d9', '#9e5bd9', '#d94182', '#e36a00', '#bf7000', '#2da608'];
const NAMES = ['Website relaunch', 'Mobile app', 'Intern training', 'Büro-Umzug', 'データ移行', 'Support 😀', 'Q3 audit', 'Onboarding'];

/** Deterministic fake account: workspaces 1 and 2 share an organization, the rest have their own. */
export function generateTogglData(opts: GenerateTogglOptions): TogglData {
  const rng = createRng(opts.seed ?? 1);
  const data: TogglData = { workspaces: [], organizations: [], projects: [], clients: [], members: [], tags: [], tasks: [], timeEntries: [] };
  let tagId = 20_000_000;
  let taskId = 30_000_000;
  let entryId = 4_000_000_000;
  const now = opts.now ?? Date.now();
  let projectId = 190_000_000;
  let clientId = 60_000_000;
  const sharedUser: TogglUser = {
    id: 9_000_001,
    email: 'owner@example.com',
    fullname: 'Olga Owner',
    inactive: false,
    is_active: true,
    is_admin: true,
    role: 'admin',
  };
  let userId = 9_000_100;
  for (let w = 0; w < opts.workspaces; w++) {
    const wsId = 7_000_001 + w;
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
    const nClients = opts.clientsPerWorkspace ?? 3;
    const wsClients: number[] = [];
    for (let c = 0; c < nClients; c++) {
      const id = ++clientId;
      wsClients.push(id);
      data.clients.push({ id, wid: wsId, archived: c === nClients - 1, name: `Client ${c + 1} of ${wsId}`, at: togglTime(BASE + rng.int(0, 30) * DAY), ...(c === 0 ? {} : { notes: 'Net 30' }), creator_id: sharedUser.id });
    }
    const nProjects = Array.isArray(opts.projectsPerWorkspace) ? (opts.projectsPerWorkspace[w] ?? 0) : opts.projectsPerWorkspace;
    for (let p = 0; p < nProjects; p++) {
      const id = ++projectId;
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
    for (let t = 0; t < (opts.tagsPerWorkspace ?? 3); t++) {
      data.tags.push({ id: ++tagId, workspace_id: wsId, name: ['billable-review', 'meeting', 'Überstunden', 'bug 🐛'][t % 4]! + (t >= 4 ? ` ${t}` : ''), at: togglTime(BASE + t * DAY), creator_id: sharedUser.id });
    }
    const wsProjects = data.projects.filter((p) => p.workspace_id === wsId);
    for (const p of wsProjects.slice(0, 2)) {
      for (let k = 0; k < (opts.tasksPerProject ?? 2); k++) {
        data.tasks.push({ id: ++taskId, name: `Task ${k + 1} of ${p.id}`, workspace_id: wsId, project_id: p.id, user_id: k === 0 ? sharedUser.id : null, recurring: false, active: k === 0, at: togglTime(BASE + k * DAY), estimated_seconds: k === 0 ? 36_000 : null, tracked_seconds: rng.int(0, 90_000) });
      }
    }
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
        id: ++entryId,
        workspace_id: wsId,
        project_id: task ? task.project_id : e % 4 === 3 || wsProjects.length === 0 ? null : rng.pick(wsProjects).id,
        task_id: task ? task.id : null,
        user_id: sharedUser.id,
        description: e % 7 === 6 ? '' : `${rng.pick(['Standup', 'Code review', 'Kundentermin', '設計', 'Support 😀'])} #${e + 1}`,
        billable: rng.bool(0.4),
        tag_ids: wsTags.length > 0 && e % 3 !== 0 ? [rng.pick(wsTags)] : [],
        start: togglTime(start),
        stop: togglTime(start + duration * 1000),
        duration,
        at: togglTime(start + duration * 1000 + rng.int(0, 48) * 3_600_000),
      });
    }
    data.members.push({ workspaceId: wsId, user: sharedUser });
    for (let u = 1; u < (opts.usersPerWorkspace ?? 3); u++) {
      const id = ++userId;
      data.members.push({
        workspaceId: wsId,
        // User 2 of each workspace has left it (inactive membership); user 3 is a deactivated account.
        user: { id, email: `user${id}@example.com`, fullname: `User ${id}`, inactive: u === 2, is_active: u !== 3, is_admin: false, role: 'user' },
      });
    }
  }
  return data;
}

/**
 * The text body of a 402 for a feature the plan lacks. Toggl documents what the status means
 * (upgrade the workspace for that feature), not its body; Toggl's error bodies are plain text.
 */
export const PLAN_RESTRICTED_TEXT = 'Workspace needs to be upgraded to access this feature';

/** Options of TogglSimulator. */
export interface TogglSimulatorOptions {
  apiToken: string;
  data: TogglData;
  rateLimit?: RateWindow | RateWindow[];
}

/** Loopback Toggl Track v9 API with the doc's error behaviours, for tests and the demo. */
export class TogglSimulator extends HttpSimulator {
  readonly apiToken: string;
  data: TogglData;
  /** Paths (regex on the full path) that answer 410 Gone for good. */
  readonly gone: RegExp[] = [];
  /** When set, every request answers 402 with this text (a workspace that needs an upgrade). */
  paymentRequired: string | null = null;
  /**
   * Paths (regex on the full path) of features the workspace's plan lacks: they answer 402 with
   * PLAN_RESTRICTED_TEXT (Toggl: "upgrade to have access to said feature"; tasks on Free), others as usual.
   */
  readonly planRestricted: RegExp[] = [];
  /**
   * Hourly quota: requests left and epoch ms of the reset (null: none). Answers carry
   * X-Toggl-Quota-Remaining / -Resets-In unless `headers` is false; once spent, a 402 whose text
   * says so ("Quota exceeded: You've used 31 / 30 requests ...").
   */
  quota: { remaining: number; resetAt: number; headers?: boolean; max?: number } | null = null;
  /**
   * Paging faults of the detailed search, as clients have met them live: `firstIdEmpties` answers
   * a later page asked for with `first_id` and `first_row_number` together with an empty array and
   * no next headers; `skipPages` makes that many next answers name a row one page too far (the
   * page between is never served), only in workspace `skipWorkspace` when one is named.
   */
  readonly searchFaults: { firstIdEmpties: boolean; skipPages: number; skipWorkspace: number | null } = { firstIdEmpties: false, skipPages: 0, skipWorkspace: null };

  constructor(opts: TogglSimulatorOptions) {
    super({ rateLimit: opts.rateLimit });
    this.apiToken = opts.apiToken;
    this.data = opts.data;
    this.get(/^\/api\/v9\/me\/workspaces\/?$/, () => ({ status: 200, body: this.data.workspaces }));
    this.get(/^\/api\/v9\/organizations\/([^/]+)\/?$/, (_req, [id]) => {
      const org = this.data.organizations.find((o) => String(o.id) === id);
      return org ? { status: 200, body: org } : { status: 404, body: 'organization not found' };
    });
    this.get(/^\/api\/v9\/workspaces\/([^/]+)\/projects\/?$/, (req, [id]) =>
      this.inWorkspace(id, (ws) => {
        const perPage = parseIntParam(req.query.get('per_page')) ?? 151;
        const page = parseIntParam(req.query.get('page')) ?? 1;
        if (!Number.isInteger(perPage) || perPage < 1 || perPage > 200) return { status: 400, body: 'per_page must be between 1 and 200' };
        if (!Number.isInteger(page) || page < 1) return { status: 400, body: 'page must be a positive integer' };
        const since = parseIntParam(req.query.get('since'));
        if (since !== null && !Number.isInteger(since)) return { status: 400, body: 'since must be a UNIX timestamp' };
        const active = req.query.get('active') ?? 'true';
        if (!['true', 'false', 'both'].includes(active)) return { status: 400, body: 'active must be true, false or both' };
        const sortPinned = req.query.get('sort_pinned') ?? 'false';
        if (!['true', 'false'].includes(sortPinned)) return { status: 400, body: 'sort_pinned must be true or false' };
        const all = this.data.projects
          .filter((p) => p.workspace_id === ws)
          // Default `active=true`: archived (inactive) projects only with active=false or both.
          .filter((p) => active === 'both' || p.active === (active === 'true'))
          // The full list has live projects only; `since` also brings the ones deleted since then.
          .filter((p) => (since === null ? p.server_deleted_at === null : Date.parse(p.at) >= since * 1000))
          .sort((a, b) => (sortPinned === 'true' ? Number(b.pinned) - Number(a.pinned) : 0) || a.id - b.id);
        return { status: 200, body: all.slice((page - 1) * perPage, page * perPage) };
      }),
    );
    this.get(/^\/api\/v9\/workspaces\/([^/]+)\/clients\/?$/, (req, [id]) =>
      this.inWorkspace(id, (ws) => {
        const status = req.query.get('status') ?? 'active';
        if (!['active', 'archived', 'both'].includes(status)) return { status: 400, body: 'status must be one of active, archived, both' };
        const all = this.data.clients.filter((c) => c.wid === ws && (status === 'both' || (status === 'archived') === c.archived));
        return { status: 200, body: all };
      }),
    );
    this.get(/^\/api\/v9\/workspaces\/([^/]+)\/tags\/?$/, (_req, [id]) =>
      this.inWorkspace(id, (ws) => ({ status: 200, body: this.data.tags.filter((t) => t.workspace_id === ws) })),
    );
    this.get(/^\/api\/v9\/workspaces\/([^/]+)\/tasks\/?$/, (req, [id]) =>
      this.inWorkspace(id, (ws) => {
        const active = req.query.get('active') ?? 'true';
        if (!['true', 'false', 'both'].includes(active)) return { status: 400, body: 'active must be true, false or both' };
        const perPage = parseIntParam(req.query.get('per_page')) ?? 50;
        const page = parseIntParam(req.query.get('page')) ?? 1;
        if (!Number.isInteger(perPage) || perPage < 1 || perPage > 200) return { status: 400, body: 'per_page must be between 1 and 200' };
        if (!Number.isInteger(page) || page < 1) return { status: 400, body: 'page must be a positive integer' };
        const all = this.data.tasks.filter((t) => t.workspace_id === ws && (active === 'both' || t.active === (active === 'true'))).sort((a, b) => a.id - b.id);
        return { status: 200, body: { data: all.slice((page - 1) * perPage, page * perPage), page, per_page: perPage, sort_field: 'name', sort_order: 'ASC', total_count: all.length } };
      }),
    );
    this.route('POST', /^\/reports\/api\/v3\/workspace\/([^/]+)\/search\/time_entries\/?$/, (req, [id]) => this.inWorkspace(id, (ws) => this.searchTimeEntries(req, ws)));
    this.route('POST', /^\/reports\/api\/v3\/workspace\/([^/]+)\/search\/time_entries\/totals\/?$/, (req, [id]) => this.inWorkspace(id, (ws) => this.searchTotals(req, ws)));
    this.get(/^\/api\/v9\/workspaces\/([^/]+)\/users\/?$/, (_req, [id]) =>
      this.inWorkspace(id, (ws) => ({ status: 200, body: this.data.members.filter((m) => m.workspaceId === ws).map((m) => m.user) })),
    );
  }

  /** Changes a project at Toggl: `at` becomes now (whole seconds, like Toggl's). */
  updateProject(id: number, patch: Partial<Omit<TogglProject, 'id' | 'at'>>): TogglProject | undefined {
    const p = this.data.projects.find((x) => x.id === id);
    if (!p) return undefined;
    Object.assign(p, patch);
    p.at = togglTime(this.now());
    return p;
  }

  touchProject(id: number): TogglProject | undefined {
    return this.updateProject(id, {});
  }

  /** Deletes a project at Toggl: it leaves the full list, `since` lists it with `server_deleted_at`. */
  deleteProject(id: number): TogglProject | undefined {
    const p = this.updateProject(id, {});
    if (p) p.server_deleted_at = p.at;
    return p;
  }

  /** Deletes a time entry at Toggl: it leaves every report. */
  deleteTimeEntry(id: number): TogglTimeEntry | undefined {
    const i = this.data.timeEntries.findIndex((e) => e.id === id);
    return i < 0 ? undefined : this.data.timeEntries.splice(i, 1)[0];
  }

  /**
   * The body of a Reports search and the workspace's entries in its dates: `start_date` /
   * `end_date` (YYYY-MM-DD, both counted, at most 366 days: 400 beyond), filtered by the UTC date
   * of an entry's start (Toggl uses each user's time zone), ordered by start, then id. Or the 400.
   */
  private searchWindow(req: SimRequest, ws: number): { q: Record<string, unknown>; entries: TogglTimeEntry[] } | SimResponse {
    let q: Record<string, unknown>;
    try {
      const parsed: unknown = JSON.parse(req.body === '' ? '{}' : req.body);
      if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return { status: 400, body: 'JSON object expected' };
      q = parsed as Record<string, unknown>;
    } catch {
      return { status: 400, body: 'Invalid JSON' };
    }
    const date = (k: string): number | null => (typeof q[k] === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(q[k] as string) ? Date.parse(`${q[k] as string}T00:00:00Z`) : null);
    const from = date('start_date');
    const to = date('end_date');
    if (from === null || Number.isNaN(from) || to === null || Number.isNaN(to)) return { status: 400, body: 'start_date and end_date must be dates (YYYY-MM-DD)' };
    if (to < from) return { status: 400, body: 'end_date must not be earlier than start_date' };
    if ((to - from) / DAY + 1 > 366) return { status: 400, body: 'Maximum allowed date range is 366 days' };
    const entries = this.data.timeEntries
      .filter((e) => e.workspace_id === ws)
      .filter((e) => {
        const day = Date.parse(`${e.start.slice(0, 10)}T00:00:00Z`);
        return day >= from && day <= to;
      })
      .sort((a, b) => Date.parse(a.start) - Date.parse(b.start) || a.id - b.id);
    return { q, entries };
  }

  /**
   * Reports API v3 detailed search (searchWindow's body and dates). `page_size` (1..50, default
   * 50), `first_row_number` from the previous response's X-Next-Row-Number (sent, with X-Next-ID
   * and X-Next-Timestamp, only while more rows follow), `grouped`, `enrich_response` (adds
   * names). Answers a bare array of rows, one entry each, numbered from 1 (`row_number`).
   */
  private searchTimeEntries(req: SimRequest, ws: number): SimResponse {
    const w = this.searchWindow(req, ws);
    if ('status' in w) return w;
    const { q, entries: all } = w;
    const pageSize = q.page_size === undefined ? 50 : q.page_size;
    if (typeof pageSize !== 'number' || !Number.isInteger(pageSize) || pageSize < 1 || pageSize > 50) return { status: 400, body: 'page_size must be between 1 and 50' };
    const firstRow = q.first_row_number === undefined ? 1 : q.first_row_number;
    if (typeof firstRow !== 'number' || !Number.isInteger(firstRow) || firstRow < 1) return { status: 400, body: 'first_row_number must be a positive integer' };
    if (this.searchFaults.firstIdEmpties && q.first_id !== undefined && firstRow > 1) return { status: 200, body: [] };
    const rows = all.slice(firstRow - 1, firstRow - 1 + pageSize).map((e, i) => this.reportRow(e, firstRow + i, q.enrich_response === true));
    let nextRow = firstRow + pageSize;
    const skipHere = this.searchFaults.skipWorkspace === null || this.searchFaults.skipWorkspace === ws;
    if (this.searchFaults.skipPages > 0 && skipHere && all[nextRow - 1 + pageSize]) {
      this.searchFaults.skipPages--;
      nextRow += pageSize;
    }
    const next = all[nextRow - 1];
    const headers: Record<string, string> = next
      ? { 'x-next-row-number': String(nextRow), 'x-next-id': String(next.id), 'x-next-timestamp': String(Math.floor(Date.parse(next.start) / 1000)) }
      : {};
    return { status: 200, body: rows, headers };
  }

  /** One detailed-report row of an entry (ungrouped: one entry a row). */
  private reportRow(e: TogglTimeEntry, rowNumber: number, enrich: boolean): Record<string, unknown> {
    const user = this.data.members.find((m) => m.user.id === e.user_id)?.user;
    // The row's fields as the definition types them (numbers and strings without null): an entry
    // without a project or task has no project_id or task_id, an unset rate no amounts.
    const project = this.data.projects.find((p) => p.id === e.project_id);
    const task = this.data.tasks.find((t) => t.id === e.task_id);
    return {
      user_id: e.user_id,
      username: user?.fullname ?? '',
      ...(e.project_id === null ? {} : { project_id: e.project_id }),
      ...(e.task_id === null ? {} : { task_id: e.task_id }),
      billable: e.billable,
      description: e.description,
      tag_ids: e.tag_ids,
      currency: 'USD',
      time_entries: [{ id: e.id, seconds: e.duration, start: e.start, stop: e.stop, at: e.at, at_tz: e.at }],
      row_number: rowNumber,
      ...(enrich
        ? {
            ...(project ? { project_name: project.name, project_color: project.color } : {}),
            ...(task ? { task_name: task.name } : {}),
            tag_names: e.tag_ids.map((t) => this.data.tags.find((x) => x.id === t)?.name ?? ''),
            ...(user ? { email: user.email } : {}),
          }
        : {}),
    };
  }

  /** Reports API v3 totals of a detailed search: the seconds of its entries, the days they fall on, per-rate billable seconds. */
  private searchTotals(req: SimRequest, ws: number): SimResponse {
    const w = this.searchWindow(req, ws);
    if ('status' in w) return w;
    const seconds = w.entries.reduce((n, e) => n + e.duration, 0);
    const billable = w.entries.filter((e) => e.billable).reduce((n, e) => n + e.duration, 0);
    return {
      status: 200,
      body: {
        seconds,
        tracked_days: new Set(w.entries.map((e) => e.start.slice(0, 10))).size,
        resolution: 'day',
        graph: [],
        rates: billable > 0 ? [{ billable_seconds: billable, hourly_rate_in_cents: 0, currency: 'USD' }] : [],
        billable_amount_in_cents: 0,
        labour_cost_in_cents: 0,
      },
    };
  }

  private inWorkspace(id: string | undefined, fn: (ws: number) => SimResponse): SimResponse {
    const ws = this.data.workspaces.find((w) => String(w.id) === id);
    // Toggl answers a workspace you are not in with 403 and a text body.
    return ws ? fn(ws.id) : { status: 403, body: 'Incorrect workspace id or insufficient rights' };
  }

  protected override authenticate(req: SimRequest): SimResponse | null {
    const expected = `Basic ${Buffer.from(`${this.apiToken}:api_token`).toString('base64')}`;
    if (req.headers.authorization !== expected) return { status: 403, body: 'Incorrect username and/or password' };
    if (this.gone.some((g) => g.test(req.path))) return { status: 410, body: 'This endpoint has been removed' };
    if (this.paymentRequired !== null) return { status: 402, body: this.paymentRequired };
    if (this.planRestricted.some((p) => p.test(req.path))) return { status: 402, body: PLAN_RESTRICTED_TEXT };
    if (this.quota) {
      if (this.now() >= this.quota.resetAt) return null;
      if (this.quota.remaining <= 0) {
        const max = this.quota.max ?? 30;
        return { status: 402, body: `Quota exceeded: You've used ${max + 1} / ${max} requests from user specific requests quota` };
      }
      this.quota.remaining--;
    }
    return null;
  }

  protected override commonHeaders(): Record<string, string> {
    if (!this.quota || this.quota.headers === false) return {};
    return {
      'x-toggl-quota-remaining': String(Math.max(0, this.quota.remaining)),
      'x-toggl-quota-resets-in': String(Math.max(0, Math.ceil((this.quota.resetAt - this.now()) / 1000))),
    };
  }

  protected override rateLimitResponse(): SimResponse {
    // Toggl sends no Retry-After: the client must back off on its own.
    return { status: 429, body: 'Too Many Requests' };
  }

  protected override errorBody(status: number): unknown {
    return STATUS_CODES[status] ?? 'Error';
  }
}
