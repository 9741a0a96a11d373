import { z } from 'zod/v4';
import type { SourceConfig } from '../src/config.js';
import { defineResource, type VendorDefinition } from '../src/connector.js';
import { toBool, toInt, toText, toTimestamp } from '../src/normalize.js';
import { pageNumber } from '../src/pagination/page-number.js';
import { pageTotal } from '../src/pagination/page-total.js';
import { singlePage } from '../src/pagination/single-page.js';
import { togglTimeEntries } from './toggl-time-entries.js';

export { TOGGL_TIME_ENTRY_HISTORY_DAYS, togglReportEntries } from './toggl-time-entries.js';

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
 * endpoint, 402 pauses the resource whose endpoint the plan lacks (or, a spent quota, the lane
 * until the quota resets).
 */
export const toggl: VendorDefinition = {
  vendor: 'toggl',
  docUrl: 'https://engineering.toggl.com/docs/',
  // webhookSecret: the receiver's proof that a delivery is the vendor's (src/webhooks/, docs/freshness.md).
  credentials: z.strictObject({ apiToken: z.string().min(1, 'is empty'), webhookSecret: z.string().min(16, 'must be at least 16 characters').optional() }),
  authHeaders: (c) => ({ Authorization: `Basic ${Buffer.from(`${c.apiToken ?? ''}:api_token`).toString('base64')}` }),
  lanes: {
    // "you can expect a rate of 1req/sec to be available"
    api: { windows: [{ max: 1, durationMs: 1000 }], concurrency: 1 },
  },
  // "in case of 429 (Too Many Requests) - back off for a few minutes"
  rateLimitBackoffMs: 3 * 60_000,
  // A spent hourly quota: 402 with these headers, or without them a message like "Quota exceeded:
  // You've used 31 / 30 requests ..." (docs/toggl.md, "Quota").
  quotaHeaders: { remaining: 'X-Toggl-Quota-Remaining', resetsInSeconds: 'X-Toggl-Quota-Resets-In', spentMessage: /quota exceeded|requests? quota|hourly (api )?(quota|limit)|you.ve used \d+ \/ \d+ requests/i },
  // Requests per hour, per user and organization, by plan (Toggl's API and webhook limits, 2025).
  quotaPlans: { free: 30, starter: 240, premium: 600 },
  // "402 (Payment required) - workspace should be upgraded to have access to said feature": a
  // feature of one endpoint (tasks, for one, are not in the Free plan), not the account as a whole.
  paymentRequired: 'resource',
  readError: readTogglError,
  validateSource: validateToggl,
  // `fleetsync check`: the token's workspaces, the first list a sync reads (one request of the
  // hourly quota, whatever it returns; quota headers when the plan sends them).
  probe: () => ({ lane: 'api', request: { path: '/me/workspaces' } }),
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
    togglTimeEntries,
  ],
};
