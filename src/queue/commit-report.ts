import type { Kysely } from 'kysely';
import type { Logger } from '../logger.js';
import type { EngineMetrics } from '../metrics.js';
import type { Database } from '../warehouse/db.js';
import type { CommitOutcome } from '../warehouse/page-commit.js';
import { analyzeIfStale, statsCheckDue } from '../warehouse/table-stats.js';
import { getWalk } from '../warehouse/walks.js';
import type { PageRef } from './page-ref.js';
import type { PreparedPage } from './page-prepare.js';
import { logRunFinished } from './run-end.js';

/** What reporting a commit writes to: logs, metrics, the tables' statistics. */
export interface ReportDeps {
  db: Kysely<Database>;
  log: Logger;
  metrics?: EngineMetrics | undefined;
  stats: TableStatistics;
}

/**
 * Keeps the statistics of the tables a sync grows (src/warehouse/table-stats.ts): checks a table
 * and its history at most once per STATS_CHECK_INTERVAL_MS (statsCheckDue), and never while a
 * check of that table is running in this process.
 */
export class TableStatistics {
  /** When each table was last checked (epoch ms; Infinity while a check runs). */
  private readonly checked = new Map<string, number>();

  constructor(
    private readonly db: Kysely<Database>,
    private readonly log: Logger,
  ) {}

  /** Analyzes `table` and its history when a sync grew them. Never throws: a failure only costs plan quality. */
  async keep(table: string): Promise<void> {
    const now = Date.now();
    if (!statsCheckDue(this.checked.get(table), now)) return;
    this.checked.set(table, Number.POSITIVE_INFINITY);
    try {
      const analyzed = await analyzeIfStale(this.db, [table, `${table}_history`]);
      if (analyzed.length > 0) this.log.debug({ tables: analyzed }, 'analyzed tables whose statistics were stale');
    } catch (err) {
      this.log.debug({ table, err: err instanceof Error ? err.message : String(err) }, 'analyze skipped');
    } finally {
      this.checked.set(table, now);
    }
  }
}

/** A commit that committed. */
export type Committed = Extract<CommitOutcome, { committed: true }>;

/**
 * Reports a committed page: statistics, row metrics, the "page committed" line, duplicates and
 * quarantined records, a held or inconsistent sweep, the walk's end and the run's end. Throws only
 * what reading the walk back throws.
 */
export async function reportCommit(deps: ReportDeps, ref: PageRef, page: PreparedPage, outcome: Committed): Promise<void> {
  const { src, def, walk } = ref;
  const { normalized } = page;
  const at = { source: src.id, runId: walk.run_id, resource: def.name, scope: walk.scope };
  // Only inserts grow a table; a resync of unchanged rows never asks. Not awaited: the check
  // (a catalog query, now and then an ANALYZE) is no part of the walk's page-after-page path.
  if (outcome.counts.inserted > 0) void deps.stats.keep(def.table);
  deps.metrics?.rows(src.id, def.table, outcome.counts);
  deps.log.debug({ ...at, page: ref.page, rows: page.frame.records, ...outcome.counts, requestId: page.requestId, ms: Date.now() - ref.startedAt }, 'page committed');
  if (normalized.duplicates > 0 || normalized.quarantine.length > 0) {
    deps.log.warn(
      { ...at, page: ref.page, duplicates: normalized.duplicates, quarantined: normalized.quarantine.length, unidentified: normalized.unidentified, repaired: normalized.repaired },
      `${ref.where}: ${normalized.duplicates} duplicate ids, ${normalized.quarantine.length} records quarantined (${normalized.unidentified} without a usable id)`,
    );
  }
  if (outcome.sweep) {
    deps.metrics?.sweep?.(src.id, def.name, outcome.sweep.outcome);
    // A held or inconsistent sweep is news for whoever watches the logs: nothing was marked.
    if (outcome.sweep.reason !== null) deps.log.warn({ ...at, sweep: outcome.sweep.outcome }, `${src.id}: ${outcome.sweep.reason}`);
  }
  if (outcome.completed) await reportWalkComplete(deps, ref);
  // After the commit: the transaction that ended the run is the only one that reports it.
  await logRunFinished(deps.db, deps.log, outcome.runEnd);
}

/** The "walk complete" line and metrics of a walk that just completed, read back from Postgres. */
async function reportWalkComplete(deps: ReportDeps, ref: PageRef): Promise<void> {
  const { walk, def } = ref;
  const w = await getWalk(deps.db, walk.id);
  const ms = w?.finished_at ? new Date(w.finished_at).getTime() - new Date(w.started_at).getTime() : undefined;
  const counts = w
    ? { pages: w.pages, records: w.records, inserted: w.inserted, updated: w.updated, unchanged: w.unchanged, deleted: w.deleted, missing: w.missing, sweep: w.sweep, quarantined: w.quarantined, unidentified: w.unidentified, repaired: w.repaired, duplicates: w.duplicates, rows: w.records }
    : {};
  deps.log.info({ source: walk.source_id, runId: walk.run_id, resource: walk.resource, scope: walk.scope, ...counts, ms }, 'walk complete');
  if (w) {
    deps.metrics?.rows(walk.source_id, def.table, { deleted: w.deleted });
    if (ms !== undefined) deps.metrics?.walkFinished(walk.source_id, def.name, 'succeeded', ms / 1000);
  }
}
