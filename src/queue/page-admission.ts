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
  /** How long ago the job was queued: a job put back again and again waits longer each time. */
  ageMs: number;
}

/** Run the job now (`wait`: after a slot of its lane frees in this process), or put it back as delayed for `ms` (it spends no attempt). */
export type Admission = { run: true; wait: boolean } | { run: false; ms: number; why: 'unknown-source' | 'not-served' | 'lane-full' };

/** Longest a job goes back to the queue for when this process does not work its source. */
export const MAX_PASS_ON_MS = 30_000;

/**
 * How long a job this process does not work goes back to the queue for, so that a process that
 * works it takes it: briefly at first (100 ms: workers sharing a queue prefix usually know the
 * same sources), then a tenth of the job's age, at most MAX_PASS_ON_MS, so a job no process works
 * (its source removed from every config while its run was going) costs little while it waits.
 */
export function passOnMs(ageMs: number, jitter: number): number {
  return Math.round(Math.min(MAX_PASS_ON_MS, Math.max(100, ageMs / 10) * (1 + jitter)));
}

/**
 * The admission of a page job. `jitter` (0..1) spreads the jobs put back at once, so they do not
 * all come back in the same millisecond.
 */
export function admitPage(input: AdmissionInput, jitter: number): Admission {
  if (!input.known) return { run: false, ms: passOnMs(input.ageMs, jitter), why: 'unknown-source' };
  if (!input.servedHere) return { run: false, ms: passOnMs(input.ageMs, jitter), why: 'not-served' };
  if (input.inHand < input.concurrency) return { run: true, wait: false };
  // A short line waits here for the next free slot; a longer one would take the worker's slots
  // from other sources' jobs, so the job goes back to the queue for a moment.
  if (input.waiting < input.concurrency) return { run: true, wait: true };
  return { run: false, ms: 100 + Math.round(100 * jitter), why: 'lane-full' };
}
