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
 * `server_deleted_at` (and `at`) to now; `addTimeEntry()`, `updateTimeEntry()`, `deleteTimeEntry()`.
 * Each is an event to the subscriptions of the Webhooks API (`webhooks`, src/simulators/toggl-webhooks.ts).
 */
import { STATUS_CODES } from 'node:http';
import { HttpSimulator } from './http-sim.js';
import type { RateWindow, SimRequest, SimResponse } from './http-sim.js';
import { togglTime, type TogglData, type TogglProject, type TogglTimeEntry } from './toggl-data.js';
import { projectsPage, tasksPage } from './toggl-lists.js';
import { TogglWebhooks } from './toggl-webhooks.js';

export * from './toggl-data.js';

const DAY = 86_400_000;

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
  /** The Webhooks API (src/simulators/toggl-webhooks.ts): subscriptions, and the changes below delivered to them. */
  readonly webhooks: TogglWebhooks;

  constructor(opts: TogglSimulatorOptions) {
    super({ rateLimit: opts.rateLimit });
    this.apiToken = opts.apiToken;
    this.data = opts.data;
    this.get(/^\/api\/v9\/me\/workspaces\/?$/, () => ({ status: 200, body: this.data.workspaces }));
    this.get(/^\/api\/v9\/organizations\/([^/]+)\/?$/, (_req, [id]) => {
      const org = this.data.organizations.find((o) => String(o.id) === id);
      return org ? { status: 200, body: org } : { status: 404, body: 'organization not found' };
    });
    this.get(/^\/api\/v9\/workspaces\/([^/]+)\/projects\/?$/, (req, [id]) => this.inWorkspace(id, (ws) => projectsPage(this.data.projects, req, ws)));
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
    this.get(/^\/api\/v9\/workspaces\/([^/]+)\/tasks\/?$/, (req, [id]) => this.inWorkspace(id, (ws) => tasksPage(this.data.tasks, req, ws)));
    this.route('POST', /^\/reports\/api\/v3\/workspace\/([^/]+)\/search\/time_entries\/?$/, (req, [id]) => this.inWorkspace(id, (ws) => this.searchTimeEntries(req, ws)));
    this.route('POST', /^\/reports\/api\/v3\/workspace\/([^/]+)\/search\/time_entries\/totals\/?$/, (req, [id]) => this.inWorkspace(id, (ws) => this.searchTotals(req, ws)));
    this.webhooks = new TogglWebhooks(() => this.now(), (ws) => this.data.workspaces.some((w) => w.id === ws));
    this.webhooks.install((method, pattern, handler) => this.route(method, pattern, handler));
    this.get(/^\/api\/v9\/workspaces\/([^/]+)\/users\/?$/, (_req, [id]) =>
      this.inWorkspace(id, (ws) => ({ status: 200, body: this.data.members.filter((m) => m.workspaceId === ws).map((m) => m.user) })),
    );
  }

  /** Changes a project at Toggl: `at` becomes now (whole seconds, like Toggl's); subscribed webhooks hear of it. */
  updateProject(id: number, patch: Partial<Omit<TogglProject, 'id' | 'at'>>, action: 'updated' | 'deleted' = 'updated'): TogglProject | undefined {
    const p = this.data.projects.find((x) => x.id === id);
    if (!p) return undefined;
    Object.assign(p, patch);
    p.at = togglTime(this.now());
    if (action === 'deleted') p.server_deleted_at = p.at;
    this.webhooks.emit(p.workspace_id, 'project', action, p);
    return p;
  }

  touchProject(id: number): TogglProject | undefined {
    return this.updateProject(id, {});
  }

  /** Deletes a project at Toggl: it leaves the full list, `since` lists it with `server_deleted_at`. */
  deleteProject(id: number): TogglProject | undefined {
    return this.updateProject(id, {}, 'deleted');
  }

  /** Adds a time entry at Toggl (a new id, `at` now). */
  addTimeEntry(entry: Omit<TogglTimeEntry, 'id' | 'at'>): TogglTimeEntry {
    const e: TogglTimeEntry = { ...entry, id: Math.max(4_000_000_000, ...this.data.timeEntries.map((x) => x.id)) + 1, at: togglTime(this.now()) };
    this.data.timeEntries.push(e);
    this.webhooks.emit(e.workspace_id, 'time_entry', 'created', this.entryPayload(e));
    return e;
  }

  /** Edits a time entry at Toggl (`at` becomes now). */
  updateTimeEntry(id: number, patch: Partial<Omit<TogglTimeEntry, 'id' | 'at'>>): TogglTimeEntry | undefined {
    const e = this.data.timeEntries.find((x) => x.id === id);
    if (!e) return undefined;
    Object.assign(e, patch, { at: togglTime(this.now()) });
    this.webhooks.emit(e.workspace_id, 'time_entry', 'updated', this.entryPayload(e));
    return e;
  }

  /** Deletes a time entry at Toggl: it leaves every report. */
  deleteTimeEntry(id: number): TogglTimeEntry | undefined {
    const i = this.data.timeEntries.findIndex((e) => e.id === id);
    const e = i < 0 ? undefined : this.data.timeEntries.splice(i, 1)[0];
    if (e) this.webhooks.emit(e.workspace_id, 'time_entry', 'deleted', { ...this.entryPayload(e), server_deleted_at: togglTime(this.now()) });
    return e;
  }

  /** A time entry as the v9 API (and a webhook's payload) has it: legacy ids and tag names beside the ids. */
  entryPayload(e: TogglTimeEntry): TogglTimeEntry & Record<string, unknown> {
    const tags = e.tag_ids.map((t) => this.data.tags.find((x) => x.id === t)?.name ?? '');
    return { ...e, wid: e.workspace_id, pid: e.project_id, tid: e.task_id, uid: e.user_id, tags, duronly: true, server_deleted_at: null };
  }

  override async stop(): Promise<void> {
    this.webhooks.sender.stop();
    await super.stop();
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
