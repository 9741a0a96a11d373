import type { App } from '../../src/app.js';
import { summarizeRun } from '../../src/status.js';

/**
 * Starts a run of one source (trigger `test`), waits for it to end, and returns the run row with
 * its per-resource summary. Needs a worker on the source's lanes (this app's or another process's).
 */
export async function syncOnce(app: App, sourceId: string, resources?: string[], mode?: 'full' | 'incremental') {
  const { runId } = await app.engine.startRun(sourceId, { trigger: 'test', resources, mode });
  const run = await app.engine.waitForRun(runId);
  return { runId, run, summary: await summarizeRun(app.db, runId) };
}
