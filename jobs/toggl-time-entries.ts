import { z } from 'zod/v4';
import type { SourceConfig } from '../src/config.js';
import { defineResource, type ResourceDefinition } from '../src/connector.js';
import { toBool, toInt, toTimestamp } from '../src/normalize.js';
import { coveredInstants, headerCursorWindows } from '../src/pagination/header-cursor-windows.js';
import { secondsField, type WindowCheck } from '../src/pagination/window-check.js';

// Toggl time entries: the Reports API v3 detailed search of each workspace (docs/toggl.md,
// "Time entries"). Part of the `toggl` vendor (jobs/toggl.ts).

const id = z.union([z.number().int(), z.string().min(1)]);

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

/** The time_entries resource of a Toggl source. */
export const togglTimeEntries: ResourceDefinition = defineResource({
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
});
