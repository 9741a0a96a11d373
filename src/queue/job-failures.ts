import { UnrecoverableError, type Job } from 'bullmq';
import type { ResolvedSource } from '../sources.js';
import { pageWhere } from '../sync/where.js';
import { getWalk } from '../warehouse/walks.js';
import type { HoldDeps, PageJobData } from './lanes.js';
import { failAndReport } from './page-job.js';

// Page jobs that end outside the page frame's own failure handling: a source that does not
// resolve in this process, and a job BullMQ failed for good on its own (too many stalls).

/** A source that does not resolve here (a missing secret, a bad stored definition): its walk fails at once, saying why. Always throws UnrecoverableError. */
export async function failMisconfigured(deps: HoldDeps, job: Job<PageJobData>, err: Error): Promise<never> {
  const walk = await getWalk(deps.db, job.data.walkId);
  if (walk?.status === 'running') await failAndReport(deps, [walk.id], walk.run_id, { message: err.message, status: null, requestId: null });
  throw new UnrecoverableError(err.message);
}

/**
 * Safety net for a job BullMQ failed for good: its walk must not be left running. `describe`
 * gives the walk's source when it is still configured (its `where` needs no lane).
 */
export async function failAfterFinalFailure(deps: HoldDeps, job: Job<PageJobData>, err: Error, describe: (sourceId: string) => ResolvedSource | undefined): Promise<void> {
  const walk = await getWalk(deps.db, job.data.walkId);
  if (!walk || walk.status !== 'running' || walk.pages !== job.data.page) return;
  const parent = describe(walk.source_id)?.vendor.resources.find((r) => r.name === walk.resource)?.parent;
  const message = err.message.startsWith(walk.source_id) ? err.message : `${pageWhere(walk, job.data.page, parent)}: ${err.message}`;
  await failAndReport(deps, [walk.id], walk.run_id, { message, status: null, requestId: null });
}
