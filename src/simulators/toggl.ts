/**
 * Toggl Track API v9 simulator (vendor doc 002).
 *
 * Base URL for a connector: `${origin}/api/v9` (the real one is https://api.track.toggl.com/api/v9).
 *   GET /api/v9/me/workspaces                       whole list, bare array
 *   GET /api/v9/organizations/{id}                  one object
 *   GET /api/v9/workspaces/{id}/projects?page&per_page&since   page from 1, per_page <= 200 (default 151),
 *       bare array; without `since` live projects only, with `since` (unix seconds) every project
 *       whose `at` is at or after it, deleted ones (`server_deleted_at` set) included
 *   GET /api/v9/workspaces/{id}/clients?status=active|archived|both (default active)
 *   GET /api/v9/workspaces/{id}/users
 * Auth: Basic base64("<api_token>:api_token"), else 403 with a plain-text body (Toggl's error
 * bodies are text or a JSON string, never an object).
 * Injectable behaviours: `inject()` faults (text bodies by default), `gone` (paths answering
 * 410 for good), `paymentRequired` (every request answers 402 until cleared), and an hourly
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
  suspended_at: string | null;
  server_deleted_at: string | null;
  x_future_field?: Record<string, unknown>;
}

export interface TogglOrganization {
  id: number;
  name: string;
  pricing_plan_id: number;
  pricing_plan_name: string;
  created_at: string;
  at: string;
  server_deleted_at: string | null;
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
  cid: number | null;
  name: string;
  is_private: boolean;
  active: boolean;
  at: string;
  created_at: string;
  server_deleted_at: string | null;
  color: string;
  billable: boolean | null;
  template: boolean | null;
  auto_estimates: boolean | null;
  estimated_hours: number | null;
  rate: number | null;
  currency: string | null;
  recurring: boolean;
  actual_hours: number | null;
  status: string;
  start_date: string;
  end_date: string | null;
  pinned: boolean;
}

export interface TogglClient {
  id: number;
  wid: number;
  archived: boolean;
  name: string;
  at: string;
  notes: string | null;
  creator_id: number;
}

export interface TogglUser {
  id: number;
  email: string;
  fullname: string;
  timezone: string;
  inactive: boolean;
  is_active: boolean;
  is_admin: boolean;
  role: string;
  at: string;
}

export interface TogglData {
  workspaces: TogglWorkspace[];
  organizations: TogglOrganization[];
  projects: TogglProject[];
  clients: TogglClient[];
  /** Memberships: a user may appear in several workspaces. */
  members: Array<{ workspaceId: number; user: TogglUser }>;
}

export interface GenerateTogglOptions {
  seed?: number;
  workspaces: number;
  projectsPerWorkspace: number | number[];
  clientsPerWorkspace?: number;
  usersPerWorkspace?: number;
}

const BASE = Date.UTC(2024, 2, 1, 8, 0, 0);
const DAY = 86_400_000;
const togglTime = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, '+00:00');
const COLORS = ['#0b83d9', '#9e5bd9', '#d94182', '#e36a00', '#bf7000', '#2da608'];
const NAMES = ['Website relaunch', 'Mobile app', 'Intern training', 'Büro-Umzug', 'データ移行', 'Support 😀', 'Q3 audit', 'Onboarding'];

/** Deterministic fake account: workspaces 1 and 2 share an organization, the rest have their own. */
export function generateTogglData(opts: GenerateTogglOptions): TogglData {
  const rng = createRng(opts.seed ?? 1);
  const data: TogglData = { workspaces: [], organizations: [], projects: [], clients: [], members: [] };
  let projectId = 190_000_000;
  let clientId = 60_000_000;
  const sharedUser: TogglUser = {
    id: 9_000_001,
    email: 'owner@example.com',
    fullname: 'Olga Owner',
    timezone: 'Europe/Berlin',
    inactive: false,
    is_active: true,
    is_admin: true,
    role: 'admin',
    at: togglTime(BASE),
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
        server_deleted_at: null,
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
      suspended_at: null,
      server_deleted_at: null,
      ...(w === 0 ? { x_future_field: { beta: true } } : {}),
    });
    const nClients = opts.clientsPerWorkspace ?? 3;
    const wsClients: number[] = [];
    for (let c = 0; c < nClients; c++) {
      const id = ++clientId;
      wsClients.push(id);
      data.clients.push({ id, wid: wsId, archived: c === nClients - 1, name: `Client ${c + 1} of ${wsId}`, at: togglTime(BASE + rng.int(0, 30) * DAY), notes: c === 0 ? null : 'Net 30', creator_id: sharedUser.id });
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
        cid,
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
        rate: null,
        currency: null,
        recurring: false,
        actual_hours: rng.int(0, 500),
        status: rng.pick(['active', 'upcoming', 'ended', 'archived']),
        start_date: new Date(created).toISOString().slice(0, 10),
        end_date: null,
        pinned: rng.bool(0.1),
      });
    }
    data.members.push({ workspaceId: wsId, user: sharedUser });
    for (let u = 1; u < (opts.usersPerWorkspace ?? 3); u++) {
      const id = ++userId;
      data.members.push({
        workspaceId: wsId,
        user: { id, email: `user${id}@example.com`, fullname: `User ${id}`, timezone: rng.pick(['UTC', 'Asia/Tokyo', 'America/New_York']), inactive: u === 2, is_active: u !== 2, is_admin: false, role: 'user', at: togglTime(BASE + u * DAY) },
      });
    }
  }
  return data;
}

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
  /** Hourly quota: requests left and epoch ms of the reset; null = no quota headers. */
  quota: { remaining: number; resetAt: number } | null = null;

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
        const all = this.data.projects
          .filter((p) => p.workspace_id === ws)
          // The full list has live projects only; `since` also brings the ones deleted since then.
          .filter((p) => (since === null ? p.server_deleted_at === null : Date.parse(p.at) >= since * 1000))
          .sort((a, b) => a.id - b.id);
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
    if (this.quota) {
      if (this.now() >= this.quota.resetAt) return null;
      if (this.quota.remaining <= 0) return { status: 402, body: 'You have hit your hourly API quota. Please upgrade or wait.' };
      this.quota.remaining--;
    }
    return null;
  }

  protected override commonHeaders(): Record<string, string> {
    if (!this.quota) return {};
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
