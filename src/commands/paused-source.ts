import type { Kysely } from 'kysely';
import { EXIT_FAILED } from '../exit-codes.js';
import type { Database } from '../warehouse/db.js';
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
