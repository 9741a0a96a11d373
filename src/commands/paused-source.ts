import type { Kysely } from 'kysely';
import { EXIT_FAILED } from '../exit-codes.js';
import type { ResolvedSource } from '../sources.js';
import { syncPauseDecision } from '../sync/paused-resources.js';
import type { Database } from '../warehouse/db.js';
import { pausedResources } from '../warehouse/resource-pauses.js';
import { sourcePause } from '../warehouse/source-state.js';
import { CommandError } from './common.js';

/**
 * What `sync` says about a paused source (`fleetsync pause`, or a 402). Its lanes take no job until
 * `fleetsync resume`, so `--wait` would wait for ever: refused (CommandError, exit 1) before a run
 * starts. Without --wait the run is queued for after the resume, and the returned line says so;
 * null when the source is not paused.
 */
export async function pausedSourceNotice(db: Kysely<Database>, sourceId: string, wait: boolean): Promise<string | null> {
  const pause = await sourcePause(db, sourceId);
  if (pause === null) return null;
  const why = pause.reason ? ` (${pause.reason})` : '';
  if (wait) throw new CommandError(`${sourceId} is paused${why}: no worker takes its pages, so --wait would wait for ever; resume it first: fleetsync resume --source ${sourceId}`, EXIT_FAILED);
  return `${sourceId} is paused${why}: the run waits until fleetsync resume --source ${sourceId}`;
}

/**
 * What `sync` and `backfill` say about resources paused by a plan-restriction 402: the run skips
 * them (the returned line names them and how to resume; null when none of `asked`, or of all the
 * source's resources when none is named, is paused). When every resource named is paused the run
 * would walk nothing that was asked for: refused (CommandError, exit 1) before it starts.
 */
export async function pausedResourcesNotice(db: Kysely<Database>, src: ResolvedSource, asked: readonly string[]): Promise<string | null> {
  const paused = await pausedResources(db, src.id);
  if (paused.size === 0) return null;
  const { refuse, skipped } = syncPauseDecision(asked, [...src.resources.keys()], new Set(paused.keys()));
  if (skipped.length === 0) return null;
  const resume = `fleetsync resume --source ${src.id}${skipped.map((r) => ` --resource ${r}`).join('')}`;
  const why = skipped.map((r) => `${r} (${paused.get(r)?.reason ?? ''})`).join('; ');
  if (refuse) throw new CommandError(`${src.id}: paused, nothing asked for would be walked: ${why}; resume first: ${resume}`, EXIT_FAILED);
  return `not walked, paused: ${why}; resume with ${resume}`;
}
