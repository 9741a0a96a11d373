import { sql, type Kysely } from 'kysely';
import type { SourceConfig } from '../config.js';
import { formatDuration, formatInstant } from '../time-text.js';
import { measureFreshness } from '../freshness.js';
import type { Database } from '../warehouse/db.js';
import { lastSucceededWalks } from '../warehouse/run-history.js';
import type { NotifyEventKind } from './config.js';

/** Something a webhook is told about, once (its `key` is claimed before it is sent). */
export interface NotifyEvent {
  key: string;
  kind: NotifyEventKind;
  source: string;
  /** One line for people (Slack's text). */
  text: string;
  /** The event's facts (fleetsync's JSON). */
  data: Record<string, unknown>;
}

/** Events older than this when a worker first sees them are not sent (a worker starting late does not replay history). */
export const NOTIFY_LOOKBACK_MS = 3_600_000;

/** Runs of these sources that ended failed or partial within the lookback. */
export async function failedRunEvents(db: Kysely<Database>, sourceIds: readonly string[]): Promise<NotifyEvent[]> {
  if (sourceIds.length === 0) return [];
  const rows = await db
    .selectFrom('sync_runs')
    .select(['id', 'source_id', 'trigger', 'status', 'finished_at', 'error_status', 'error_message', 'error_request_id'])
    .where('source_id', 'in', [...sourceIds])
    .where('status', 'in', ['failed', 'partial'])
    .where('finished_at', '>', sql<Date>`now() - make_interval(secs => ${NOTIFY_LOOKBACK_MS / 1000})`)
    .orderBy('id')
    .execute();
  return rows.map((r) => ({
    key: `run_failed:${r.id}`,
    kind: 'run_failed' as const,
    source: r.source_id,
    text: `run ${r.id} of ${r.source_id} (${r.trigger}) ${r.status === 'partial' ? 'ended partial' : 'failed'}: ${r.error_message ?? 'see fleetsync runs show'}${r.error_request_id ? ` [request ${r.error_request_id}]` : ''}`,
    data: { runId: r.id, trigger: r.trigger, status: r.status, finishedAt: r.finished_at, error: r.error_message, errorStatus: r.error_status, requestId: r.error_request_id },
  }));
}

/** Sweeps of these sources the mass-delete guard holds, held within the lookback. */
export async function heldSweepEvents(db: Kysely<Database>, sourceIds: readonly string[]): Promise<NotifyEvent[]> {
  if (sourceIds.length === 0) return [];
  const rows = await db
    .selectFrom('sync_held_sweeps')
    .select(['source_id', 'resource', 'scope', 'walk_id', 'held_at', 'message', sql<number>`cardinality(ids)`.as('rows')])
    .where('source_id', 'in', [...sourceIds])
    .where('held_at', '>', sql<Date>`now() - make_interval(secs => ${NOTIFY_LOOKBACK_MS / 1000})`)
    .orderBy('held_at')
    .execute();
  return rows.map((h) => ({
    key: `sweep_held:${h.walk_id}:${h.scope}`,
    kind: 'sweep_held' as const,
    source: h.source_id,
    text: `${h.source_id}/${h.resource} scope ${h.scope}: ${h.message}; nothing was marked deleted. Apply: fleetsync sweep --source ${h.source_id} --resource ${h.resource} --scope ${h.scope} --confirm`,
    data: { resource: h.resource, scope: h.scope, walkId: h.walk_id, heldAt: h.held_at, rows: h.rows, message: h.message },
  }));
}

/** Resources of these sources past their freshness; one event per stale spell (the key carries the last success). */
export async function staleEvents(db: Kysely<Database>, sourceIds: readonly string[], configOf: (id: string) => SourceConfig | undefined, now = Date.now()): Promise<NotifyEvent[]> {
  const measured = measureFreshness(await lastSucceededWalks(db, sourceIds), configOf, now);
  return measured
    .filter((f) => f.overdueMs > 0)
    .map((f) => ({
      key: `stale:${f.source}:${f.resource}:${f.lastSuccess.getTime()}`,
      kind: 'stale' as const,
      source: f.source,
      text: `${f.source}/${f.resource} is stale: last success ${formatInstant(f.lastSuccess)} (${formatDuration((now - f.lastSuccess.getTime()) / 1000)} ago), freshness ${formatDuration(f.thresholdMs / 1000)}`,
      data: { resource: f.resource, lastSuccess: f.lastSuccess.toISOString(), freshnessSeconds: f.thresholdMs / 1000, overdueSeconds: Math.round(f.overdueMs / 1000) },
    }));
}

/** Claims an event for one webhook: true for exactly one caller across every worker. */
export async function claimNotification(db: Kysely<Database>, key: string): Promise<boolean> {
  const row = await sql<{ key: string }>`INSERT INTO sync_notifications (key) VALUES (${key}) ON CONFLICT (key) DO NOTHING RETURNING key`.execute(db);
  return row.rows.length === 1;
}

/** Gives a claim back (the send failed): the next check tries again. */
export async function releaseNotification(db: Kysely<Database>, key: string): Promise<void> {
  await sql`DELETE FROM sync_notifications WHERE key = ${key}`.execute(db);
}
