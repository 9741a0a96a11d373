import type { Kysely } from 'kysely';
import type { Database } from '../warehouse/db.js';
import { pausedSources } from '../warehouse/source-state.js';
import { runningRuns, runningWalks } from '../warehouse/walks.js';
import type { PageQueue } from './page-queue.js';

/** What re-queuing running walks needs. */
export interface RequeueDeps {
  db: Kysely<Database>;
  queue: PageQueue;
  /** Whether this process works a source (known here, and served when the worker has --source). */
  works: (sourceId: string) => boolean;
}

/** Running runs this process works: of its sources, paused ones left out (they wait for `resume`). */
export async function workableRuns(deps: RequeueDeps): Promise<string[]> {
  const paused = await pausedSources(deps.db);
  return (await runningRuns(deps.db)).filter((r) => deps.works(r.source_id) && !paused.has(r.source_id)).map((r) => r.id);
}

/**
 * Gives every running walk of the workable runs its current page job back when it has none
 * waiting, delayed, prioritized or active (Redis restarted without persistence, a job lost with its
 * final failure unrecorded). Idempotent; a duplicate is harmless (the committed-page check).
 * Walks changed within `settledMs` are left alone: a walk just created or advanced by another
 * process may not have its job yet, and is not stranded.
 */
export async function requeueStranded(deps: RequeueDeps, settledMs: number): Promise<{ runs: string[]; requeued: number }> {
  const runs = await workableRuns(deps);
  const before = Date.now() - settledMs;
  let requeued = 0;
  for (const id of runs) {
    for (const w of await runningWalks(deps.db, id)) {
      if (new Date(w.updated_at).getTime() > before) continue;
      if (await deps.queue.enqueue(w, w.pages, true)) requeued++;
    }
  }
  return { runs, requeued };
}
