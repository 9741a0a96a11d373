import type { Kysely } from 'kysely';
import type { Database } from '../warehouse/db.js';
import { getRun, TERMINAL_RUN, type RunRow } from '../warehouse/walks.js';

/** How waitForRun polls. */
export interface RunWaitOptions {
  signal?: AbortSignal;
  pollMs?: number;
  onPoll?: () => Promise<void> | void;
}

/**
 * Polls until a run ends (or `signal` aborts) and returns its row. Never throws on a failed
 * run: the caller reads its status.
 */
export async function waitForRun(db: Kysely<Database>, runId: string, opts: RunWaitOptions = {}): Promise<RunRow> {
  for (;;) {
    const run = await getRun(db, runId);
    if (TERMINAL_RUN.has(run.status)) return run;
    if (opts.signal?.aborted) return run;
    await opts.onPoll?.();
    await abortableDelay(opts.pollMs ?? 200, opts.signal);
  }
}

/** Resolves after `ms`, or at once when `signal` aborts. Never rejects. */
function abortableDelay(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise<void>((resolve) => {
    const onAbort = () => {
      clearTimeout(t);
      resolve();
    };
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
