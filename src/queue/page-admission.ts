// Whether this process runs a page job it took from its vendor's shared queue now, or puts it back
// for a moment. Pure: the engine supplies what it knows; tests drive every branch.

/** What the engine knows about a page job it just took. */
export interface AdmissionInput {
  /** Whether the job's source is configured (YAML or Postgres) as this process knows it. */
  known: boolean;
  /** Whether this process works the source (a worker started with --source works only those). */
  servedHere: boolean;
  /** Page jobs of the job's lane this process has in hand now. */
  inHand: number;
  /** Page jobs of the job's lane waiting in this process for a slot. */
  waiting: number;
  /** The lane's concurrency per process. */
  concurrency: number;
}

/** Run the job now (`wait`: after a slot of its lane frees in this process), or put it back as delayed for `ms` (it spends no attempt). */
export type Admission = { run: true; wait: boolean } | { run: false; ms: number; why: 'unknown-source' | 'not-served' | 'lane-full' };

/** How long a job of a source this process does not know waits: long enough for the next source refresh to learn of it. */
export const UNKNOWN_SOURCE_DEFER_MS = 5_000;

/**
 * The admission of a page job. `jitter` (0..1) spreads the jobs put back at once, so they do not
 * all come back in the same millisecond.
 */
export function admitPage(input: AdmissionInput, jitter: number): Admission {
  if (!input.known) return { run: false, ms: UNKNOWN_SOURCE_DEFER_MS, why: 'unknown-source' };
  // Another process works it; this one puts it back for a while so that one takes it.
  if (!input.servedHere) return { run: false, ms: 1_000 + Math.round(1_000 * jitter), why: 'not-served' };
  if (input.inHand < input.concurrency) return { run: true, wait: false };
  // A short line waits here for the next free slot; a longer one would take the worker's slots
  // from other sources' jobs, so the job goes back to the queue for a moment.
  if (input.waiting < input.concurrency) return { run: true, wait: true };
  return { run: false, ms: 100 + Math.round(100 * jitter), why: 'lane-full' };
}
