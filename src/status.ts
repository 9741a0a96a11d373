import { sql, type Kysely } from 'kysely';
import { overdueAfterMs, overdueLine, overduePageJobs, type OverdueJob } from './overdue-jobs.js';
import type { Engine } from './queue/engine.js';
import { laneStatus, type LaneStatus } from './lane-status.js';
import type { LaneInfo } from './queue/lane-info.js';
import type { Database } from './warehouse/db.js';
import type { WalkRow } from './warehouse/walks.js';
import { listHeldSweeps } from './warehouse/held-sweeps.js';
import { pausedResources as resourcePausesOf } from './warehouse/resource-pauses.js';
import { pausedResourceText, runPausedResources } from './sync/paused-resources.js';

/** Per-resource totals of one run. */
export interface ResourceSummary {
  resource: string;
  walks: number;
  running: number;
  failed: number;
  pages: number;
  records: number;
  inserted: number;
  updated: number;
  unchanged: number;
  deleted: number;
  /** Rows marked missing_since (first miss of a `deletes: confirm` source). */
  missing: number;
  quarantined: number;
  /** Quarantined records without a usable id. */
  unidentified: number;
  /** Records repaired (NUL stripped, lone surrogates replaced). */
  repaired: number;
  /** Records whose id an earlier record of the same page already had. */
  duplicates: number;
  total: number | null;
  /** Sweeps that did not simply sweep: held, applied, inconsistent or skipped, with the walk's reason. */
  sweeps: Array<{ scope: string; outcome: string; message: string }>;
  waitingUntil: string | null;
  waitingReason: string | null;
  errors: Array<{ scope: string; status: number | null; message: string; requestId: string | null }>;
  /** Cursor of the (first) running walk, for resuming. */
  cursor: unknown;
  /** Why the run did not walk this resource: it was paused (a plan-restriction 402) when the run would have; null otherwise. */
  paused: string | null;
}

/** A run with its per-resource summary. */
export interface RunSummary {
  runId: string;
  sourceId: string;
  trigger: string;
  mode: string;
  status: string;
  startedAt: string;
  finishedAt: string | null;
  error: { status: number | null; message: string | null; requestId: string | null };
  resources: ResourceSummary[];
}

/** Summarises one run from sync_runs and sync_walks. Throws when the run does not exist. */
export async function summarizeRun(db: Kysely<Database>, runId: string): Promise<RunSummary> {
  const run = await db.selectFrom('sync_runs').selectAll().where('id', '=', runId).executeTakeFirstOrThrow();
  const walks = await db.selectFrom('sync_walks').selectAll().where('run_id', '=', runId).orderBy('id').execute();
  const paused = runPausedResources(run.paused_resources);
  const byResource = new Map<string, ResourceSummary>(run.resources.map((r) => [r, { ...emptySummary(r), paused: paused[r] ?? null }]));
  for (const w of walks) {
    const s = byResource.get(w.resource);
    if (s) addWalk(s, w);
  }
  return {
    runId: run.id,
    sourceId: run.source_id,
    trigger: run.trigger,
    mode: run.mode,
    status: run.status,
    startedAt: run.started_at.toISOString(),
    finishedAt: run.finished_at ? run.finished_at.toISOString() : null,
    error: { status: run.error_status, message: run.error_message, requestId: run.error_request_id },
    resources: [...byResource.values()],
  };
}

function emptySummary(resource: string): ResourceSummary {
  const counts = { walks: 0, running: 0, failed: 0, pages: 0, records: 0, inserted: 0, updated: 0, unchanged: 0, deleted: 0, missing: 0, quarantined: 0, unidentified: 0, repaired: 0, duplicates: 0 };
  return { resource, ...counts, total: null, sweeps: [], waitingUntil: null, waitingReason: null, errors: [], cursor: null, paused: null };
}

/** Adds one walk's counts, sweep, wait, cursor and failure to its resource's summary. */
function addWalk(s: ResourceSummary, w: WalkRow): void {
  s.walks++;
  for (const k of ['pages', 'records', 'inserted', 'updated', 'unchanged', 'deleted', 'missing', 'quarantined', 'unidentified', 'repaired', 'duplicates'] as const) s[k] += w[k];
  if (w.sweep !== null && w.sweep_reason !== null) s.sweeps.push({ scope: w.scope, outcome: w.sweep, message: w.sweep_reason });
  if (w.total !== null) s.total = (s.total ?? 0) + w.total;
  if (w.status === 'running') {
    s.running++;
    if (s.cursor === null) s.cursor = { scope: w.scope, page: w.pages, cursor: w.cursor };
    if (w.waiting_until && new Date(w.waiting_until).getTime() > Date.now()) {
      s.waitingUntil = new Date(w.waiting_until).toISOString();
      s.waitingReason = w.waiting_reason;
    }
  }
  if (w.status === 'failed' || w.status === 'cancelled') {
    s.failed++;
    if (w.error_message) s.errors.push({ scope: w.scope, status: w.error_status, message: w.error_message, requestId: w.error_request_id });
  }
}

/** Formats a run summary as the table `sync --wait` prints. */
export function formatRunSummary(s: RunSummary): string {
  const head = ['resource', 'walks', 'pages', 'records', 'inserted', 'updated', 'unchanged', 'deleted', 'quarantined', 'status'];
  const rows = s.resources.map((r) => [
    r.resource,
    String(r.walks),
    String(r.pages),
    String(r.records),
    String(r.inserted),
    String(r.updated),
    String(r.unchanged),
    String(r.deleted),
    String(r.quarantined),
    r.running > 0 ? (r.waitingUntil ? `waiting until ${r.waitingUntil}` : 'running') : r.failed > 0 ? `${r.failed} failed` : r.walks === 0 ? (r.paused !== null ? 'paused' : 'not walked') : 'ok',
  ]);
  // A run that skipped paused resources never just says "succeeded": the head line names them.
  const skipped = s.resources.filter((r) => r.paused !== null && r.walks === 0).map((r) => r.resource);
  const note = skipped.length > 0 ? ` (not walked, paused: ${skipped.join(', ')})` : '';
  const lines = [`run ${s.runId} of ${s.sourceId} (${s.trigger}, ${s.mode}): ${s.status}${note}`, ...table([head, ...rows])];
  for (const r of s.resources) for (const e of r.errors.slice(0, 5)) lines.push(`  ${e.message}${e.requestId ? ` [request ${e.requestId}]` : ''}`);
  for (const r of s.resources) if (r.paused !== null) lines.push(`  ${pausedResourceText(r.resource, r.paused)}`);
  for (const r of s.resources) {
    // Kept out of the table so its columns stay what scripts parse.
    if (r.missing > 0) lines.push(`  ${s.sourceId}/${r.resource}: ${r.missing} missing (marked deleted when the next complete walk misses them too)`);
    for (const w of r.sweeps.slice(0, 20)) lines.push(`  ${s.sourceId}/${r.resource}: ${w.message}`);
  }
  return lines.join('\n');
}

/** The sweeps of a run that the mass-delete guard held (whether or not applied since). */
export function heldInRun(s: RunSummary): Array<{ resource: string; scope: string; message: string }> {
  return s.resources.flatMap((r) => r.sweeps.filter((w) => w.outcome === 'held').map((w) => ({ resource: r.resource, scope: w.scope, message: w.message })));
}

/** Left-aligned text table. */
export function table(rows: string[][]): string[] {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd());
}

/** Status of every configured source: lanes, paused state, disabled and paused resources, last run per resource. */
export interface SourceStatus {
  sourceId: string;
  vendor: string;
  paused: { at: string; reason: string | null } | null;
  disabled: Array<{ resource: string; at: string; reason: string | null }>;
  /** Resources paused by a plan-restriction 402 (`fleetsync resume --source ID --resource R`). */
  pausedResources: Array<{ resource: string; at: string; status: number | null; reason: string }>;
  /** Sweeps the mass-delete guard holds now (apply with `fleetsync sweep --confirm`). */
  heldSweeps: Array<{ resource: string; scope: string; heldAt: string; walkId: string; rows: number; message: string }>;
  lanes: LaneStatus[];
  /**
   * Running runs of the source while none of its lanes has a page job waiting, delayed or active:
   * Redis lost them (restarted without persistence). A worker's reconciler re-queues them.
   */
  nothingQueued: string[];
  /** Page jobs of the source active far past their request deadline (src/overdue-jobs.ts). */
  overdue: OverdueJob[];
  resources: Array<{
    resource: string;
    lastRunId: string | null;
    lastRunStatus: string | null;
    startedAt: string | null;
    finishedAt: string | null;
    summary: ResourceSummary | null;
  }>;
}

/** Collects status for `fleetsync status`. Reads only; never changes queues or runs. */
export async function collectStatus(db: Kysely<Database>, engine: Engine, sourceIds: string[], vendorOf: (id: string) => string, resourcesOf: (id: string) => string[]): Promise<SourceStatus[]> {
  const out: SourceStatus[] = [];
  for (const id of sourceIds) {
    const paused = await db.selectFrom('sync_sources').selectAll().where('source_id', '=', id).executeTakeFirst();
    const disabled = await db.selectFrom('sync_disabled_resources').selectAll().where('source_id', '=', id).execute();
    const pausedResources = [...(await resourcePausesOf(db, id)).values()].map((p) => ({ resource: p.resource, at: p.pausedAt.toISOString(), status: p.status, reason: p.reason }));
    const held = await listHeldSweeps(db, { sourceId: id });
    const lanes = await laneStatus(db, engine, id, { paused: Boolean(paused?.paused_at), limitText: laneLimitText });
    const queued = lanes.reduce((n, l) => n + l.waiting + l.active + l.delayed, 0);
    const running = await db.selectFrom('sync_runs').select('id').where('source_id', '=', id).where('status', '=', 'running').orderBy('id').execute();
    const nothingQueued = queued === 0 ? running.map((r) => r.id) : [];
    const resources: SourceStatus['resources'] = [];
    for (const resource of resourcesOf(id)) {
      const last = await db
        .selectFrom('sync_runs')
        .selectAll()
        .where('source_id', '=', id)
        .where(sql<boolean>`${resource} = any(resources)`)
        .orderBy('id', 'desc')
        .limit(1)
        .executeTakeFirst();
      const summary = last ? (await summarizeRun(db, last.id)).resources.find((r) => r.resource === resource) ?? null : null;
      resources.push({
        resource,
        lastRunId: last?.id ?? null,
        lastRunStatus: last?.status ?? null,
        startedAt: last ? last.started_at.toISOString() : null,
        finishedAt: last?.finished_at ? last.finished_at.toISOString() : null,
        summary,
      });
    }
    out.push({
      sourceId: id,
      vendor: vendorOf(id),
      paused: paused?.paused_at ? { at: new Date(paused.paused_at).toISOString(), reason: paused.paused_reason } : null,
      disabled: disabled.map((d) => ({ resource: d.resource, at: d.disabled_at.toISOString(), reason: d.reason })),
      pausedResources,
      heldSweeps: held.map((h) => ({ resource: h.resource, scope: h.scope, heldAt: h.held_at.toISOString(), walkId: h.walk_id, rows: h.ids.length, message: h.message })),
      lanes,
      nothingQueued,
      overdue: await overduePageJobs(engine.queues(), overdueAfterMs(engine.settings), id),
      resources,
    });
  }
  return out;
}

/** A lane's limits as text: "100/min + 1000/h", "bucket 200 +100/min". */
export function laneLimitText(lane: Pick<LaneInfo, 'windows' | 'tokenBucket'>): string {
  return [...lane.windows.map((w) => `${w.max}/${windowText(w.durationMs)}`), ...(lane.tokenBucket ? [`bucket ${lane.tokenBucket.capacity} +${lane.tokenBucket.refillPerMinute}/min`] : [])].join(' + ');
}

function windowText(ms: number): string {
  if (ms % 3_600_000 === 0) return ms === 3_600_000 ? 'h' : `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return ms === 60_000 ? 'min' : `${ms / 60_000}min`;
  if (ms % 1000 === 0) return ms === 1000 ? 's' : `${ms / 1000}s`;
  return `${ms}ms`;
}

/** A resource's outcome in its last run: the run's status, with its failed walks, or that the run skipped it as paused. */
function resourceOutcome(r: SourceStatus['resources'][number]): string {
  if (r.summary?.paused != null && r.summary.walks === 0) return 'paused, not walked';
  if (r.summary && r.summary.failed > 0 && r.lastRunStatus !== 'running') return `${r.lastRunStatus ?? '-'} (${r.summary.failed} failed)`;
  return r.lastRunStatus ?? 'never';
}

/** Formats `fleetsync status` for a terminal. */
export function formatStatus(all: SourceStatus[]): string {
  const lines: string[] = [];
  for (const s of all) {
    lines.push(`source ${s.sourceId} (${s.vendor})${s.paused ? `  PAUSED since ${s.paused.at}: ${s.paused.reason ?? ''}` : ''}`);
    lines.push(
      ...table([
        ['  lane', 'limit', 'waiting', 'active', 'delayed', 'failed', 'paused until'],
        ...s.lanes.map((l) => [`  ${l.name}`, l.limit, String(l.waiting), String(l.active), String(l.delayed), String(l.failed), l.paused ? 'paused' : l.pausedUntil ?? '-']),
      ]),
    );
    for (const l of s.lanes) if (l.quota !== null) lines.push(`  ${l.name} ${l.quota}`);
    for (const d of s.disabled) lines.push(`  disabled: ${d.resource} since ${d.at}: ${d.reason ?? ''}`);
    for (const p of s.pausedResources) lines.push(`  ${pausedResourceText(p.resource, p.reason)} (since ${p.at})`);
    for (const h of s.heldSweeps) lines.push(`  ${h.message} since ${h.heldAt} (apply: fleetsync sweep --source ${s.sourceId} --resource ${h.resource} --scope ${h.scope} --confirm)`);
    for (const j of s.overdue) lines.push(`  ${overdueLine(j)}`);
    for (const runId of s.nothingQueued) {
      lines.push(`  ! run ${runId}: running, nothing queued (Redis lost its page jobs); a running worker re-queues them within worker.reconcileIntervalMs, else start one`);
    }
    lines.push(
      ...table([
        ['  resource', 'last run', 'outcome', 'finished', 'pages', 'inserted', 'updated', 'unchanged', 'deleted', 'cursor'],
        ...s.resources.map((r) => [
          `  ${r.resource}`,
          r.lastRunId ?? '-',
          resourceOutcome(r),
          r.finishedAt ?? '-',
          String(r.summary?.pages ?? 0),
          String(r.summary?.inserted ?? 0),
          String(r.summary?.updated ?? 0),
          String(r.summary?.unchanged ?? 0),
          String(r.summary?.deleted ?? 0),
          r.summary?.cursor ? JSON.stringify(r.summary.cursor).slice(0, 60) : r.summary?.waitingUntil ? `waiting until ${r.summary.waitingUntil}` : '-',
        ]),
      ]),
    );
    for (const r of s.resources) for (const e of r.summary?.errors.slice(0, 3) ?? []) lines.push(`  ! ${e.message}${e.requestId ? ` [request ${e.requestId}]` : ''}`);
    // Held sweeps are listed above from sync_held_sweeps; the last run's other sweep notes here.
    for (const r of s.resources) for (const w of r.summary?.sweeps.filter((x) => x.outcome !== 'held').slice(0, 5) ?? []) lines.push(`  ${r.resource}: ${w.message}`);
    lines.push('');
  }
  return lines.join('\n');
}
