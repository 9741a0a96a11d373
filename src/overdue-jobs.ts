import type { Queue } from 'bullmq';
import type { WorkerSettings } from './config.js';
import type { PageJobData } from './queue/lanes.js';

// Page jobs active far longer than any request of theirs may take (docs/reliability.md, Request
// deadline): every request has a total deadline, so such a job is stuck somewhere else (a lock
// wait in Postgres, a hung connection, a bug). Read by `status`, the dashboard and a metric.

/** A page job active past overdueAfterMs. */
export interface OverdueJob {
  source: string;
  resource: string;
  scope: string;
  /** The BullMQ queue it is active on. */
  queue: string;
  walkId: string;
  page: number;
  /** Milliseconds since a worker took it. */
  activeMs: number;
}

/** The worker settings the threshold is made of. */
export type OverdueSettings = Pick<WorkerSettings, 'requestTimeoutMs' | 'requestDeadlineMs' | 'requestRetries' | 'maxInProcessWaitMs'>;

/**
 * How long a page job may stay active before it is flagged: twice the longest its request may
 * take with every in-process retry (each up to the deadline plus a capped wait), which also
 * covers a last page's per-id questions and its commit. Defaults: 2 x 4 x (120 s + 30 s) = 20 min.
 */
export function overdueAfterMs(w: OverdueSettings): number {
  const deadline = w.requestDeadlineMs ?? 2 * w.requestTimeoutMs;
  return 2 * (w.requestRetries + 1) * (deadline + w.maxInProcessWaitMs);
}

/** What overdueOf needs of an active job. */
export interface ActiveJob {
  queue: string;
  processedOn: number | undefined;
  data: PageJobData;
}

/** The active jobs taken longer than `thresholdMs` before `now`, longest first. Pure. */
export function overdueOf(jobs: readonly ActiveJob[], thresholdMs: number, now: number): OverdueJob[] {
  return jobs
    .filter((j) => j.processedOn !== undefined && now - j.processedOn > thresholdMs)
    .map((j) => ({ source: j.data.sourceId, resource: j.data.resource, scope: j.data.scope, queue: j.queue, walkId: j.data.walkId, page: j.data.page, activeMs: now - (j.processedOn ?? now) }))
    .sort((a, b) => b.activeMs - a.activeMs);
}

/**
 * The overdue page jobs of the given page queues (each read once, however many sources share
 * it), optionally of one source. Reads Redis only.
 */
export async function overduePageJobs(pageQueues: Iterable<Queue<PageJobData>>, thresholdMs: number, sourceId?: string): Promise<OverdueJob[]> {
  const queues = new Map<string, Queue<PageJobData>>();
  for (const queue of pageQueues) queues.set(queue.name, queue);
  const active: ActiveJob[] = [];
  for (const queue of queues.values()) {
    for (const job of await queue.getActive()) {
      if (sourceId === undefined || job.data.sourceId === sourceId) active.push({ queue: queue.name, processedOn: job.processedOn, data: job.data });
    }
  }
  return overdueOf(active, thresholdMs, Date.now());
}

/** The `status` line of an overdue job: where it is stuck and for how long. */
export function overdueLine(j: OverdueJob): string {
  return `! ${j.source}/${j.resource} scope ${j.scope} page ${j.page} (walk ${j.walkId}): page job active for ${Math.round(j.activeMs / 1000)} s, far past its request deadline; look for a lock wait in Postgres or a hung worker`;
}
