import type { Kysely } from 'kysely';
import type { Logger } from './logger.js';
import type { ResolvedSource } from './sources.js';
import type { Database } from './warehouse/db.js';
import { insertRetryRun, retryTargets, type RetryTarget } from './warehouse/run-retry.js';
import { findRunningRun } from './warehouse/walks.js';

/**
 * Cancelling a running run and retrying what a finished one did not do (`fleetsync runs cancel`
 * and `runs retry`, the dashboard's run page): the checks and the messages, one place for both.
 */

/** Why a run cannot be cancelled or retried: `unknown` (no such run; a usage error) or `refused` (its state). */
export class RunControlError extends Error {
  override name = 'RunControlError';
  constructor(
    message: string,
    readonly kind: 'unknown' | 'refused',
  ) {
    super(message);
  }
}

/** What cancelling and retrying need. */
export interface RunControlDeps {
  db: Kysely<Database>;
  engine: {
    cancelRun(runId: string, sourceId: string, message: string): Promise<number>;
    ensureJobs(runId: string): Promise<number>;
  };
  /** The source as configured now (YAML or Postgres), without credentials; undefined when it is gone. */
  describe(sourceId: string): ResolvedSource | undefined;
  logger: Logger;
}

async function runOf(db: Kysely<Database>, runId: string) {
  const run = /^\d{1,18}$/.test(runId) ? await db.selectFrom('sync_runs').selectAll().where('id', '=', runId).executeTakeFirst() : undefined;
  if (!run) throw new RunControlError(`no run ${runId} (fleetsync runs lists them)`, 'unknown');
  return run;
}

/**
 * Cancels a running run: its running walks end as cancelled, their queued page jobs are dropped;
 * a page a worker holds now commits or not, then stops. What committed stays; a cancelled walk
 * never sweeps. Throws RunControlError for an unknown run or one that is not running.
 */
export async function cancelRun(deps: RunControlDeps, runId: string, by: string): Promise<{ runId: string; sourceId: string; walks: number }> {
  const run = await runOf(deps.db, runId);
  if (run.status !== 'running') throw new RunControlError(`run ${runId} of ${run.source_id} is not running (${run.status}); nothing to cancel`, 'refused');
  const walks = await deps.engine.cancelRun(runId, run.source_id, `run ${runId} cancelled (${by})`);
  deps.logger.info({ source: run.source_id, runId, walks, by }, 'run cancelled');
  return { runId, sourceId: run.source_id, walks };
}

/**
 * Retries the walks of a finished run that failed or were cancelled, as a new run (trigger
 * `retry:<id>`): each from its first page, with the resources nested under them that never
 * started. The walks that succeeded are not walked again. Throws RunControlError for an unknown
 * run, one still running, one with nothing to retry, a source that is gone, or a source that
 * has a running run (one at a time).
 */
export async function retryRun(deps: RunControlDeps, runId: string): Promise<{ runId: string; sourceId: string; retryOf: string; targets: RetryTarget[] }> {
  const run = await runOf(deps.db, runId);
  if (run.status === 'running') throw new RunControlError(`run ${runId} of ${run.source_id} is still running; retry it once it ended (or cancel it first)`, 'refused');
  const targets = await retryTargets(deps.db, runId);
  if (targets.length === 0) throw new RunControlError(`run ${runId} of ${run.source_id} has no failed or cancelled walk to retry (${run.status})`, 'refused');
  const src = deps.describe(run.source_id);
  if (!src) throw new RunControlError(`source ${run.source_id} of run ${runId} is no longer configured`, 'refused');
  const busy = async () => {
    const other = await findRunningRun(deps.db, src.id, false);
    return other ? new RunControlError(`${src.id} has a running run ${other}; retry run ${runId} once it ended (or cancel it)`, 'refused') : null;
  };
  const refusal = await busy();
  if (refusal) throw refusal;
  let newId: string;
  try {
    newId = await insertRetryRun(deps.db, src, run, targets);
  } catch (err) {
    // Another run started between the check and the insert.
    if ((err as { code?: string }).code === '23505') throw (await busy()) ?? err;
    throw err;
  }
  await deps.engine.ensureJobs(newId);
  deps.logger.info({ source: src.id, runId: newId, retryOf: runId, walks: targets.length, resources: [...new Set(targets.map((t) => t.resource))] }, 'run started');
  return { runId: newId, sourceId: src.id, retryOf: runId, targets };
}
