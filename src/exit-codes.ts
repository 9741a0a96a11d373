/**
 * The exit codes of every fleetsync command, one meaning each. The README's operations section
 * shows EXIT_CODE_TABLE (test/unit/exit-codes.test.ts keeps the two equal).
 */

/** The command did what it was asked. */
export const EXIT_OK = 0;
/** It could not: a run failed or was cancelled, Postgres, Redis or a vendor is unreachable, a check failed, or the current state refuses it. */
export const EXIT_FAILED = 1;
/** The command line or the config is wrong, or names something that does not exist; nothing was done. */
export const EXIT_USAGE = 2;
/** A run succeeded, but the mass-delete guard held a sweep: nothing was marked deleted there. */
export const EXIT_SWEEP_HELD = 3;
/** Interrupted (SIGINT/SIGTERM) while waiting for a run; the run goes on with the workers. */
export const EXIT_INTERRUPTED = 130;

/** Code and meaning, in the order the README lists them. */
export const EXIT_CODE_TABLE: ReadonlyArray<{ code: number; meaning: string }> = [
  { code: EXIT_OK, meaning: 'done' },
  { code: EXIT_FAILED, meaning: 'failed: a run failed or was cancelled, Postgres, Redis or a vendor is unreachable, `check` found a problem, or the current state refuses the command (a running run blocks `state reset`, no held sweep to apply, `sync --wait` on a paused source, `sync` naming only resources a 402 paused)' },
  { code: EXIT_USAGE, meaning: 'usage: the command line or the config is wrong (an unknown command or option, a malformed value, an invalid config) or names something that does not exist (a source, resource, run or simulator); nothing was done' },
  { code: EXIT_SWEEP_HELD, meaning: 'a run (`sync --wait`, `backfill`, `runs retry --wait`) succeeded, but the mass-delete guard held a sweep: see `fleetsync status`, apply with `fleetsync sweep --confirm`' },
  { code: EXIT_INTERRUPTED, meaning: 'interrupted while waiting for a run (Ctrl-C, SIGTERM); the run goes on with the workers' },
];
