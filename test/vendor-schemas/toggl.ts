import { z } from 'zod/v4';
import { date, dateTime, defined, int } from './common.js';

// Toggl Track API v9 and Reports API v3, from Toggl's published definition (the swagger behind
// engineering.toggl.com/docs; models WorkspaceWithActiveProjectCount, ModelsMeOrganization,
// ModelsProject, ModelsClient, ModelsSimpleWorkspaceUser, ModelsTag, TaskResponse/TaskWithTotal,
// DetailedGroupedTimeEntry/DetailedSingleTimeEntry, TotalsReportData). Every property is
// optional there; nullable only where the model says `| null`.

export const workspace = defined({
  active_project_count: int,
  admin: z.boolean(),
  api_token: z.string(),
  at: dateTime,
  business_ws: z.boolean(),
  default_currency: z.string(),
  default_hourly_rate: z.number(),
  hide_start_end_times: z.boolean(),
  ical_enabled: z.boolean(),
  ical_url: z.string(),
  id: int,
  last_modified: dateTime,
  logo_url: z.string(),
  max_data_retention_days: int,
  name: z.string(),
  only_admins_may_create_projects: z.boolean(),
  only_admins_may_create_tags: z.boolean(),
  only_admins_see_billable_rates: z.boolean(),
  only_admins_see_team_dashboard: z.boolean(),
  organization_id: int,
  permissions: z.string(),
  premium: z.boolean(),
  profile: int,
  projects_billable_by_default: z.boolean(),
  projects_enforce_billable: z.boolean(),
  projects_private_by_default: z.boolean(),
  rate_last_updated: z.string(),
  reports_collapse: z.boolean(),
  role: z.string(),
  rounding: int,
  rounding_minutes: int,
  suspended_at: dateTime,
  working_hours_in_minutes: int,
}).partial();

export const organization = defined({
  admin: z.boolean(),
  at: dateTime,
  created_at: dateTime,
  id: int,
  is_multi_workspace_enabled: z.boolean(),
  is_unified: z.boolean(),
  max_data_retention_days: int,
  max_workspaces: int,
  name: z.string(),
  owner: z.boolean(),
  permissions: z.string(),
  pricing_plan_enterprise: z.boolean(),
  pricing_plan_id: int,
  pricing_plan_name: z.string(),
  suspended_at: dateTime,
  user_count: int,
}).partial();

export const project = defined({
  active: z.boolean(),
  actual_hours: int.nullable(),
  actual_seconds: int.nullable(),
  at: dateTime,
  auto_estimates: z.boolean().nullable(),
  billable: z.boolean().nullable(),
  can_track_time: z.boolean(),
  cid: int,
  client_id: int.nullable(),
  color: z.string(),
  created_at: dateTime,
  currency: z.string().nullable(),
  end_date: date,
  estimated_hours: int.nullable(),
  estimated_seconds: int.nullable(),
  fixed_fee: z.number(),
  id: int,
  integration_provider: z.string(),
  is_private: z.boolean(),
  is_shared: z.boolean(),
  name: z.string(),
  permissions: z.string(),
  pinned: z.boolean(),
  rate: z.number(),
  rate_last_updated: z.string().nullable(),
  recurring: z.boolean(),
  // Listed by the projects page of the v9 docs (not in ModelsProject): set once deleted.
  server_deleted_at: dateTime.nullable(),
  shared_at: dateTime,
  shared_hash: z.string(),
  start_date: date,
  status: z.string(),
  template: z.boolean().nullable(),
  template_id: int.nullable(),
  wid: int,
  workspace_id: int,
}).partial();

export const client = defined({
  archived: z.boolean(),
  at: dateTime,
  creator_id: int,
  id: int,
  integration_provider: z.string(),
  name: z.string(),
  notes: z.string(),
  permissions: z.string(),
  wid: int,
}).partial();

export const workspaceUser = defined({
  email: z.string(),
  fullname: z.string(),
  id: int,
  inactive: z.boolean(),
  is_active: z.boolean(),
  is_admin: z.boolean(),
  role: z.string(),
}).partial();

export const tag = defined({
  at: dateTime,
  creator_id: int,
  deleted_at: dateTime,
  id: int,
  integration_provider: z.string(),
  name: z.string(),
  permissions: z.string(),
  workspace_id: int,
}).partial();

const task = defined({
  active: z.boolean(),
  at: dateTime,
  client_name: z.string().nullable(),
  estimated_seconds: int.nullable(),
  id: int,
  integration_provider: z.string(),
  name: z.string(),
  permissions: z.string(),
  project_color: z.string(),
  project_id: int,
  project_name: z.string(),
  rate: z.number(),
  rate_last_updated: z.string().nullable(),
  recurring: z.boolean(),
  toggl_accounts_id: z.string().nullable(),
  tracked_seconds: int,
  user_id: int.nullable(),
  workspace_id: int,
}).partial();

export const tasks = z.strictObject({ data: z.array(task), page: int, per_page: int, sort_field: z.string(), sort_order: z.string(), total_count: int }).partial();

const singleEntry = z.strictObject({ at: dateTime, at_tz: dateTime, id: int, seconds: int, start: dateTime, stop: dateTime }).partial();

/** A detailed-search row (DetailedGroupedTimeEntry); the search answers an array of them. */
export const reportRow = defined({
  billable: z.boolean(),
  billable_amount_in_cents: int,
  client_name: z.string(),
  currency: z.string(),
  description: z.string(),
  email: z.string(),
  hourly_rate_in_cents: int,
  project_color: z.string(),
  project_hex: z.string(),
  project_id: int,
  project_name: z.string(),
  row_number: int,
  tag_ids: z.array(int),
  tag_names: z.array(z.string()),
  task_id: int,
  task_name: z.string(),
  time_entries: z.array(singleEntry),
  user_id: int,
  username: z.string(),
}).partial();

const rate = z.strictObject({ billable_seconds: int, currency: z.string(), hourly_rate_in_cents: int }).partial();

/** TotalsReportData: the totals of a detailed search. No entry count. */
export const totals = z
  .strictObject({
    billable_amount_in_cents: int,
    graph: z.array(z.strictObject({ billable_amount_in_cents: int, by_rate: z.record(z.string(), int), labour_cost_in_cents: int, seconds: int }).partial()),
    labour_cost_in_cents: int,
    rates: z.array(rate),
    resolution: z.string(),
    seconds: int,
    tracked_days: int,
  })
  .partial();

/** Toggl's error bodies: text (the definition types them as string). */
export const error = z.string().min(1);
