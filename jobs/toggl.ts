import { z } from 'zod/v4';
import type { SourceConfig } from '../src/config.js';
import { defineResource, type VendorDefinition } from '../src/connector.js';
import { toBool, toInt, toText, toTimestamp } from '../src/normalize.js';
import { coveredInstants, headerCursorWindows } from '../src/pagination/header-cursor-windows.js';
import { pageNumber } from '../src/pagination/page-number.js';
import { pageTotal } from '../src/pagination/page-total.js';
import { singlePage } from '../src/pagination/single-page.js';
import { secondsField, type WindowCheck } from '../src/pagination/window-check.js';

// Toggl Track API v9: https://engineering.toggl.com/docs/
// Base URL https://api.track.toggl.com/api/v9. `/me/*` is the token's user, `/workspaces/{id}/*`
// one workspace. Most lists come whole; projects page with `page` (from 1) and `per_page`
// (at most 200) and no metadata, so a short page ends the walk.
// Incremental: only projects. `GET /workspaces/{id}/projects?since=<unix seconds>` returns the
// projects created, modified or deleted since then (deleted ones with `server_deleted_at`); the
// clients list takes only `status`/`name` and the users list only `exclude_deleted`.

const id = z.union([z.number().int(), z.string().min(1)]);

const workspaceSchema = z.object({ id, organization_id: id.nullish(), name: z.string().nullish(), at: z.unknown(), server_deleted_at: z.unknown() });
const organizationSchema = z.object({ id, name: z.string().nullish(), created_at: z.unknown(), at: z.unknown() });
const projectSchema = z.object({
  id,
  workspace_id: id.nullish(),
  client_id: id.nullish(),
  name: z.string().nullish(),
  active: z.unknown(),
  is_private: z.unknown(),
  billable: z.unknown(),
  color: z.unknown(),
  status: z.unknown(),
  created_at: z.unknown(),
  at: z.unknown(),
  server_deleted_at: z.unknown(),
});
// The published client model has no creation time (id, wid, archived, name, at, notes, creator_id).
const clientSchema = z.object({ id, wid: id.nullish(), name: z.string().nullish(), archived: z.unknown(), notes: z.unknown(), at: z.unknown() });
// A workspace's users carry id, email, fullname, role, is_admin, is_active and inactive: no
// timezone and no times, so those columns of `users` stay empty for Toggl.
const userSchema = z.object({
  id,
  email: z.unknown(),
  fullname: z.unknown(),
  role: z.unknown(),
  is_admin: z.unknown(),
  inactive: z.unknown(),
  is_active: z.unknown(),
});

const tagSchema = z.object({ id, workspace_id: id.nullish(), name: z.string().nullish(), at: z.unknown() });
const taskSchema = z.object({
  id,
  workspace_id: id.nullish(),
  project_id: id.nullish(),
  user_id: id.nullish(),
  name: z.string().nullish(),
  active: z.unknown(),
  estimated_seconds: z.unknown(),
  tracked_seconds: z.unknown(),
  at: z.unknown(),
});
// One time entry of a Reports API v3 detailed search: the row's fields (user, project, task,
// description, billable, tags) with one of its `time_entries` (id, seconds, start, stop, at).
const timeEntrySchema = z.object({
  id,
  user_id: id.nullish(),
  project_id: id.nullish(),
  task_id: id.nullish(),
  description: z.string().nullish(),
  billable: z.unknown(),
  // `tag_ids` is the row's documented field; `tag_names` comes only with enrich_response.
  tag_ids: z.array(id).nullish(),
  tag_names: z.array(z.string()).nullish(),
  seconds: z.unknown(),
  start: z.unknown(),
  stop: z.unknown(),
  at: z.unknown(),
});

/**
 * The records of one detailed-search row: each of its `time_entries` with the row's own fields
 * (a row groups entries that share them; ungrouped, it holds one). A row without the array is
 * passed on as it is, and the record schema names what is missing.
 */
export function togglReportEntries(row: unknown): unknown[] {
  if (row === null || typeof row !== 'object' || !Array.isArray((row as { time_entries?: unknown }).time_entries)) return [row];
  const { time_entries: entries, ...shared } = row as { time_entries: unknown[] } & Record<string, unknown>;
  return entries.map((e) => (e !== null && typeof e === 'object' ? { ...shared, ...(e as Record<string, unknown>) } : e));
}

/**
 * The second opinion on each window of the detailed search (docs/toggl.md, "Time entries"): the
 * rows read against the row numbers Toggl gave them, the seconds of the entries against
 * `POST .../search/time_entries/totals` of the same dates. A running entry (no `stop`, or
 * negative seconds) counts apart: its time grows while the walk runs.
 */
const togglWindowCheck: WindowCheck = {
  totalsPath: '/totals',
  entrySeconds: (entry) => {
    const e = (entry ?? {}) as { seconds?: unknown; stop?: unknown };
    return typeof e.seconds === 'number' && e.seconds >= 0 && e.stop != null ? e.seconds : null;
  },
  rowNumber: (row) => {
    const n = (row as { row_number?: unknown } | null)?.row_number;
    return typeof n === 'number' && Number.isInteger(n) ? n : null;
  },
  totalSeconds: secondsField,
};

/** Default history of a full time-entry walk, in days: a year. */
export const TOGGL_TIME_ENTRY_HISTORY_DAYS = 365;

function historyDays(source: SourceConfig): number {
  const v = source.options?.timeEntriesHistoryDays;
  return typeof v === 'number' && Number.isInteger(v) && v > 0 ? v : TOGGL_TIME_ENTRY_HISTORY_DAYS;
}

function validateToggl(source: SourceConfig): string[] {
  const v = source.options?.timeEntriesHistoryDays;
  if (v === undefined || (typeof v === 'number' && Number.isInteger(v) && v > 0 && v <= 36_600)) return [];
  return [`options.timeEntriesHistoryDays: must be a whole number of days from 1 to 36600, got ${JSON.stringify(v)}`];
}

/** External id of a Toggl organization in the organizations table, apart from workspace ids. */
export function togglOrgId(orgId: string | number): string {
  return `org:${orgId}`;
}

/** Toggl error bodies are a JSON string, plain text, or sometimes `{message}` / `{error}`. */
function readTogglError(body: unknown): { message?: string } {
  if (typeof body === 'string' && body.trim() !== '') return { message: body.trim() };
  if (body !== null && typeof body === 'object') {
    const b = body as Record<string, unknown>;
    for (const k of ['message', 'error', 'error_message']) if (typeof b[k] === 'string') return { message: b[k] as string };
  }
  return {};
}


/**
 * Toggl Track v9: Basic auth `<api_token>:api_token`; about one request per second; 4xx never
 * repeated, 5xx retried after a random delay, 429 backs off for minutes, 410 disables the
 * endpoint, 402 pauses the source (or, with quota headers, the lane until the quota resets).
 */
export const toggl: VendorDefinition = {
  vendor: 'toggl',
  docUrl: 'https://engineering.toggl.com/docs/',
  credentials: z.strictObject({ apiToken: z.string().min(1, 'is empty') }),
  authHeaders: (c) => ({ Authorization: `Basic ${Buffer.from(`${c.apiToken ?? ''}:api_token`).toString('base64')}` }),
  lanes: {
    // "you can expect a rate of 1req/sec to be available"
    api: { windows: [{ max: 1, durationMs: 1000 }], concurrency: 1 },
  },
  // "in case of 429 (Too Many Requests) - back off for a few minutes"
  rateLimitBackoffMs: 3 * 60_000,
  quotaHeaders: { remaining: 'X-Toggl-Quota-Remaining', resetsInSeconds: 'X-Toggl-Quota-Resets-In' },
  readError: readTogglError,
  validateSource: validateToggl,
  resources: [
    defineResource({
      name: 'workspaces',
      table: 'organizations',
      lane: 'api',
      docUrl: 'https://engineering.toggl.com/docs/api/me#get-workspaces',
      path: () => '/me/workspaces',
      pagination: singlePage(),
      record: workspaceSchema,
      id: (w) => String(w.id),
      map: (w) => ({
        name: w.name ?? null,
        parent_external_id: w.organization_id == null ? null : togglOrgId(w.organization_id),
        vendor_updated_at: toTimestamp(w.at),
      }),
    }),
    defineResource({
      // A workspace's organization; scoped by organization id so its rows never meet the
      // workspaces' scope "-" in the deletion sweep of the shared organizations table.
      name: 'organizations',
      table: 'organizations',
      lane: 'api',
      parent: 'workspaces',
      scopeFrom: (p) => {
        const org = (p.raw as { organization_id?: unknown } | null)?.organization_id;
        return typeof org === 'number' || (typeof org === 'string' && org !== '') ? String(org) : null;
      },
      docUrl: 'https://engineering.toggl.com/docs/api/organizations#get-organization-data',
      path: (org) => `/organizations/${encodeURIComponent(org)}`,
      pagination: singlePage({ single: true }),
      record: organizationSchema,
      id: (o) => togglOrgId(o.id),
      map: (o) => ({ name: o.name ?? null, vendor_created_at: toTimestamp(o.created_at), vendor_updated_at: toTimestamp(o.at) }),
    }),
    defineResource({
      name: 'projects',
      table: 'projects',
      lane: 'api',
      parent: 'workspaces',
      docUrl: 'https://engineering.toggl.com/docs/api/projects#get-workspaceprojects',
      path: (ws) => `/workspaces/${encodeURIComponent(ws)}/projects`,
      // Without `active` the list holds active projects only: archived ones would never land, and
      // a full walk would mark the ones synced earlier deleted. `sort_pinned` (default false) is
      // not sent: pinned-first order would shift pages when someone pins a project mid-walk.
      params: () => ({ active: 'both' }),
      pagination: pageNumber({ firstPage: 1, pageParam: 'page', sizeParam: 'per_page', defaultPageSize: 200, maxPageSize: 200 }),
      record: projectSchema,
      id: (p) => String(p.id),
      map: (p, ctx) => ({
        organization_external_id: p.workspace_id == null ? ctx.scope : String(p.workspace_id),
        client_external_id: p.client_id == null ? null : String(p.client_id),
        name: p.name ?? null,
        active: toBool(p.active),
        is_private: toBool(p.is_private),
        billable: toBool(p.billable),
        color: toText(p.color),
        status: toText(p.status),
        vendor_created_at: toTimestamp(p.created_at),
        vendor_updated_at: toTimestamp(p.at),
        vendor_deleted_at: toTimestamp(p.server_deleted_at),
      }),
      // `since` is whole unix seconds; rounding down only widens the window. `at` is the project's
      // last update (a delete updates it too).
      incremental: {
        params: (since) => ({ since: String(Math.floor(since.getTime() / 1000)) }),
        updatedAt: (p) => toTimestamp(p.at),
      },
    }),
    defineResource({
      name: 'clients',
      table: 'clients',
      lane: 'api',
      parent: 'workspaces',
      docUrl: 'https://engineering.toggl.com/docs/api/clients#list-clients',
      path: (ws) => `/workspaces/${encodeURIComponent(ws)}/clients`,
      // Archived clients too: the default is active only, and an archived client is not deleted.
      params: () => ({ status: 'both' }),
      pagination: singlePage(),
      record: clientSchema,
      id: (c) => String(c.id),
      map: (c, ctx) => ({
        organization_external_id: c.wid == null ? ctx.scope : String(c.wid),
        name: c.name ?? null,
        archived: toBool(c.archived),
        notes: toText(c.notes),
        vendor_updated_at: toTimestamp(c.at),
      }),
    }),
    defineResource({
      name: 'users',
      table: 'users',
      lane: 'api',
      parent: 'workspaces',
      docUrl: 'https://engineering.toggl.com/docs/api/workspaces#get-list-of-users-who-belong-to-the-given-workspace',
      path: (ws) => `/workspaces/${encodeURIComponent(ws)}/users`,
      pagination: singlePage(),
      record: userSchema,
      // One person in two workspaces is two memberships: key by workspace and user.
      id: (u, ctx) => `${ctx.scope}:${u.id}`,
      map: (u, ctx) => ({
        organization_external_id: ctx.scope,
        user_external_id: String(u.id),
        name: toText(u.fullname),
        email: toText(u.email),
        role: toText(u.role),
        is_admin: toBool(u.is_admin),
        active: toBool(u.is_active),
        inactive: toBool(u.inactive),
      }),
    }),
    defineResource({
      name: 'tags',
      table: 'tags',
      lane: 'api',
      parent: 'workspaces',
      docUrl: 'https://engineering.toggl.com/docs/api/tags#get-tags',
      path: (ws) => `/workspaces/${encodeURIComponent(ws)}/tags`,
      pagination: singlePage(),
      record: tagSchema,
      id: (t) => String(t.id),
      map: (t, ctx) => ({
        organization_external_id: t.workspace_id == null ? ctx.scope : String(t.workspace_id),
        name: t.name ?? null,
        vendor_updated_at: toTimestamp(t.at),
      }),
    }),
    defineResource({
      name: 'tasks',
      table: 'tasks',
      lane: 'api',
      parent: 'workspaces',
      docUrl: 'https://engineering.toggl.com/docs/api/tasks#get-workspacetasks',
      path: (ws) => `/workspaces/${encodeURIComponent(ws)}/tasks`,
      // Like projects: without `active` only active tasks come, and a done task is not deleted.
      params: () => ({ active: 'both' }),
      pagination: pageTotal({ pageParam: 'page', sizeParam: 'per_page', records: 'data', total: 'total_count', defaultPageSize: 200, maxPageSize: 200 }),
      record: taskSchema,
      id: (t) => String(t.id),
      map: (t, ctx) => ({
        organization_external_id: t.workspace_id == null ? ctx.scope : String(t.workspace_id),
        project_external_id: t.project_id == null ? null : String(t.project_id),
        user_external_id: t.user_id == null ? null : String(t.user_id),
        name: t.name ?? null,
        active: toBool(t.active),
        estimated_seconds: toInt(t.estimated_seconds),
        tracked_seconds: toInt(t.tracked_seconds),
        vendor_updated_at: toTimestamp(t.at),
      }),
    }),
    defineResource({
      // Reports API v3 detailed search (docs/toggl.md, "Time entries"): date windows of at most
      // 366 days, paged by the X-Next-Row-Number header sent back as first_row_number, each
      // window checked against its totals. Same host, path below the origin.
      name: 'time_entries',
      table: 'time_entries',
      lane: 'api',
      parent: 'workspaces',
      docUrl: 'https://engineering.toggl.com/docs/reports/detailed_reports#post-search-time-entries',
      path: (ws) => `/reports/api/v3/workspace/${encodeURIComponent(ws)}/search/time_entries`,
      params: (_ws, source) => ({ history_days: String(historyDays(source)) }),
      pagination: headerCursorWindows({
        defaultPageSize: 50,
        maxPageSize: 50,
        maxWindowDays: 366,
        cursorHeaders: { 'x-next-row-number': 'first_row_number', 'x-next-id': 'first_id', 'x-next-timestamp': 'first_timestamp' },
        // The next page is asked for by its row number alone; X-Next-ID and X-Next-Timestamp stay
        // in the cursor (docs/toggl.md: a client found first_id with first_row_number answered
        // empty later pages, and the docs say nothing of combining them).
        send: ['first_row_number'],
        check: togglWindowCheck,
        // One entry per row, tag names in the row, oldest first so a page boundary is stable.
        body: { grouped: false, enrich_response: true, order_by: 'date', order_dir: 'ASC' },
        defaultHistoryDays: TOGGL_TIME_ENTRY_HISTORY_DAYS,
        flatten: (row) => togglReportEntries(row),
        originRelative: true,
      }),
      // A full walk sees a year (or the configured history), not the workspace: it may only mark
      // deleted the entries that started inside the range it covered.
      sweepRange: (cursor) => {
        const r = coveredInstants(cursor);
        return r && { column: 'started_at', ...r };
      },
      record: timeEntrySchema,
      id: (e) => String(e.id),
      map: (e, ctx) => ({
        organization_external_id: ctx.scope,
        project_external_id: e.project_id == null ? null : String(e.project_id),
        task_external_id: e.task_id == null ? null : String(e.task_id),
        user_external_id: e.user_id == null ? null : String(e.user_id),
        description: e.description ?? null,
        started_at: toTimestamp(e.start),
        stopped_at: toTimestamp(e.stop),
        duration_seconds: toInt(e.seconds),
        billable: toBool(e.billable),
        tag_names: e.tag_names ?? null,
        tag_ids: e.tag_ids ?? null,
        vendor_updated_at: toTimestamp(e.at),
      }),
      // The search filters on the start date, not on changes: an incremental walk re-reads from
      // the latest start it saw minus a week (entries are mostly added and edited within days),
      // and the periodic full walk catches older edits and deletes.
      incremental: {
        params: (since) => ({ start_date: since.toISOString().slice(0, 10) }),
        updatedAt: (e) => {
          const start = toTimestamp(e.start);
          // A future-dated entry must not move the window past today.
          return start === null ? null : new Date(Math.min(Date.parse(start), Date.now())).toISOString();
        },
        overlapMs: 7 * 86_400_000,
      },
    }),
  ],
};
