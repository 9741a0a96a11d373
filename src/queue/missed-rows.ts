import { setTimeout as sleep } from 'node:timers/promises';
import type { ResourceDefinition, SweepRange } from '../connector.js';
import { VendorError } from '../http/errors.js';
import type { PageRequest } from '../pagination/types.js';
import { rateLimitBackoffOf, type ResolvedSource } from '../sources.js';
import { missedRows } from '../warehouse/upsert.js';
import type { PageCommit, WalkRow } from '../warehouse/walks.js';
import { laneOf, type EngineContext } from './context.js';
import type { Lane } from './lanes.js';

/** What the vendor said, id by id, about present rows a complete walk did not list. */
export interface MissedCheck {
  /** Answered 404 or 410: the vendor no longer has them. */
  gone: string[];
  /** Answered 2xx: the vendor still has them (the listing hid them). */
  present: string[];
  /** Not asked, or no usable answer: they stay missing and are asked again by the next walk. */
  unknown: number;
  /** Why some were left unknown (the first answer that was neither), null when all were answered. */
  problem: string | null;
}

/** How a per-id GET's answer counts: 404/410 gone, 2xx present, anything else tells nothing. */
export function itemVerdict(status: number): 'gone' | 'present' | 'unknown' {
  if (status === 404 || status === 410) return 'gone';
  if (status >= 200 && status < 300) return 'present';
  return 'unknown';
}

/** Limits of one walk's questions: at most `maxIds` ids, gate waits adding up to at most `maxWaitMs`; a 429 that names no wait pauses the lane `rateLimitBackoffMs`. */
export interface MissedCheckLimits {
  maxIds: number;
  maxWaitMs: number;
  rateLimitBackoffMs: number;
}

/**
 * Asks the vendor about each id in order, one request per id through the lane's gate (so the
 * vendor's rate limit holds). Stops at the first answer that is neither gone nor present (a
 * 429 pauses the lane first), or when the limits are spent; the ids not answered are `unknown`.
 * Never throws for a vendor answer: a failed question only leaves a row missing, never deleted.
 */
export async function askAboutMissed(lane: Lane, ids: readonly string[], request: (id: string) => PageRequest, limits: MissedCheckLimits): Promise<MissedCheck> {
  const out: MissedCheck = { gone: [], present: [], unknown: 0, problem: null };
  let waited = 0;
  for (const id of ids.slice(0, limits.maxIds)) {
    let wait = await lane.gate.take();
    while (wait > 0 && waited + wait <= limits.maxWaitMs) {
      waited += wait;
      await sleep(wait);
      wait = await lane.gate.take();
    }
    if (wait > 0) {
      out.problem = `the lane's rate limit left no room for more questions in this walk`;
      break;
    }
    let status: number;
    let failure: string | null = null;
    try {
      status = (await lane.http(request(id))).status;
    } catch (err) {
      if (!(err instanceof VendorError) || err.status === null) {
        out.problem = `asking for ${id}: ${err instanceof Error ? err.message : String(err)}`;
        break;
      }
      if (err.kind === 'rate_limited') await lane.gate.pauseUntil(Date.now() + (err.retryAfterMs ?? limits.rateLimitBackoffMs));
      status = err.status;
      failure = err.message;
    }
    const verdict = itemVerdict(status);
    if (verdict === 'unknown') {
      out.problem = `asking for ${id}: ${failure ?? `status ${status}`}`;
      break;
    }
    (verdict === 'gone' ? out.gone : out.present).push(id);
  }
  out.unknown = ids.length - out.gone.length - out.present.length;
  if (out.problem === null && out.unknown > 0) out.problem = `only ${limits.maxIds} ids are asked per walk`;
  return out;
}

/** Most missed rows one walk asks the vendor about; the rest stay missing for the next walk. */
const MAX_ASKED_PER_WALK = 1_000;

/**
 * Before a full walk's last page commits, for a resource with the vendor's per-id GET and a
 * `deletes: confirm` source: asks the vendor about every present row the walk did not list.
 * Undefined (the two-miss rule applies) where it cannot ask: no item GET, `immediate`, an
 * incremental walk, or a session-scoped source (the question would need the session's state).
 * Asks nothing when the sweep cannot mark anything anyway (unidentified records, or more
 * missed than the mass-delete guard lets through): the answers are then empty, and without a
 * 404/410 nothing is deleted.
 */
export async function askAboutMissedRows(
  ctx: EngineContext,
  src: ResolvedSource,
  def: ResourceDefinition,
  walk: WalkRow,
  page: { seen: string[]; unidentified: number },
  range: SweepRange | null,
  policy: { deletes: 'confirm' | 'immediate'; maxDeleteShare: number },
): Promise<PageCommit['asked']> {
  const item = def.item;
  if (!item || policy.deletes !== 'confirm' || walk.mode !== 'full' || src.vendor.session?.stateOf(walk.scope) != null) return undefined;
  const none = { gone: [], present: [], unknown: 0, problem: null };
  if (walk.unidentified + page.unidentified > 0) return none;
  const missed = await missedRows(ctx.db, def.table, walk, page.seen, range);
  if (missed.ids.length === 0 || missed.ids.length > missed.present * policy.maxDeleteShare) return { ...none, unknown: missed.ids.length };
  const lane = laneOf(ctx, src, def);
  return askAboutMissed(lane, missed.ids, (id) => item(id, walk.scope, src.config), {
    maxIds: MAX_ASKED_PER_WALK,
    maxWaitMs: ctx.worker.maxInProcessWaitMs,
    rateLimitBackoffMs: rateLimitBackoffOf(src),
  });
}
