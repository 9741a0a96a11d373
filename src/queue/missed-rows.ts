import { setTimeout as sleep } from 'node:timers/promises';
import type { Kysely } from 'kysely';
import type { SweepRange } from '../connector.js';
import { VendorError } from '../http/errors.js';
import type { PageRequest } from '../pagination/types.js';
import type { Database } from '../warehouse/db.js';
import { listHeldSweeps } from '../warehouse/held-sweeps.js';
import { missedRows, type MissedAnswers } from '../warehouse/sweep.js';
import type { Lane } from './lanes.js';
import type { PageRef } from './page-ref.js';

/**
 * What the vendor said, id by id, about present rows a complete walk did not list: `gone` answered
 * 404 or 410, `present` 2xx (the listing hid them); `unknown` were not asked or got no usable
 * answer (they stay missing and are asked again by the next walk), `problem` says why.
 */
export type MissedCheck = MissedAnswers;

/** How a per-id GET's answer counts: 404/410 gone, 2xx present, anything else tells nothing. */
export function itemVerdict(status: number): 'gone' | 'present' | 'unknown' {
  if (status === 404 || status === 410) return 'gone';
  if (status >= 200 && status < 300) return 'present';
  return 'unknown';
}

/** Limits of one walk's questions: at most `maxIds` ids, gate waits adding up to at most `maxWaitMs`. */
export interface MissedCheckLimits {
  maxIds: number;
  maxWaitMs: number;
}

/**
 * Asks the vendor about each id in order, one request per id through the lane (so the vendor's
 * rate limit holds, and a 429 pauses the lane). Stops at the first answer that is neither gone nor
 * present, or when the limits are spent; the ids not answered are `unknown`. Never throws for a
 * vendor answer: a failed question only leaves a row missing, never deleted.
 */
export async function askAboutMissed(lane: Pick<Lane, 'request'>, ids: readonly string[], request: (id: string) => PageRequest, limits: MissedCheckLimits): Promise<MissedCheck> {
  const out: MissedCheck = { gone: [], present: [], unknown: 0, problem: null };
  let waited = 0;
  for (const id of ids.slice(0, limits.maxIds)) {
    const answer = await statusOf(lane, request(id), (ms) => waited + ms <= limits.maxWaitMs && ((waited += ms), true));
    if ('problem' in answer) {
      out.problem = answer.problem === null ? `the lane's rate limit left no room for more questions in this walk` : `asking for ${id}: ${answer.problem}`;
      break;
    }
    const verdict = itemVerdict(answer.status);
    if (verdict === 'unknown') {
      out.problem = `asking for ${id}: ${answer.failure ?? `status ${answer.status}`}`;
      break;
    }
    (verdict === 'gone' ? out.gone : out.present).push(id);
  }
  out.unknown = ids.length - out.gone.length - out.present.length;
  if (out.problem === null && out.unknown > 0) out.problem = `only ${limits.maxIds} ids are asked per walk`;
  return out;
}

/**
 * One per-id question through the lane: its status (and the vendor's message when it failed), or
 * a problem: null when the gate had no room and `mayWait` refused the wait, else what went wrong
 * without a status (the network).
 */
async function statusOf(lane: Pick<Lane, 'request'>, req: PageRequest, mayWait: (ms: number) => boolean): Promise<{ status: number; failure: string | null } | { problem: string | null }> {
  try {
    for (;;) {
      const reply = await lane.request(req);
      if (reply.sent) return { status: reply.page.status, failure: null };
      if (!mayWait(reply.waitMs)) return { problem: null };
      await sleep(reply.waitMs);
    }
  } catch (err) {
    if (!(err instanceof VendorError) || err.status === null) return { problem: err instanceof Error ? err.message : String(err) };
    return { status: err.status, failure: err.message };
  }
}

/** Most missed rows one walk asks the vendor about; the rest stay missing for the next walk. */
const MAX_ASKED_PER_WALK = 1_000;

/** What asking about missed rows needs besides the page. */
export interface MissedRowsDeps {
  db: Kysely<Database>;
  /** Longest the questions of one walk may wait for the lane's gate (worker.maxInProcessWaitMs). */
  maxInProcessWaitMs: number;
}

/** How a walk's last page sweeps: what it covered, and the source's policy. */
export interface SweepPlan {
  range: SweepRange | null;
  policy: { deletes: 'confirm' | 'immediate'; maxDeleteShare: number };
  /** Why the walk cannot vouch for its misses (the vendor's figures disagree): it sweeps nothing. */
  incomplete?: string;
}

/**
 * Before a full walk's last page commits, for a resource with the vendor's per-id GET and a
 * `deletes: confirm` source: asks the vendor about every present row the walk did not list.
 * Undefined (the two-miss rule applies) where it cannot ask: no item GET, `immediate`, an
 * incremental walk, or a session-scoped source (the question would need the session's state).
 * Asks nothing when the sweep cannot mark anything anyway (unidentified records, an incomplete walk, or more
 * missed than the mass-delete guard lets through, unless the walk missed exactly the rows of
 * the scope's held sweep: then a sample first, see askSampleFirst): the answers are then
 * empty, and without a 404/410 nothing is deleted.
 */
export async function askAboutMissedRows(deps: MissedRowsDeps, ref: PageRef, page: { seen: string[]; unidentified: number }, sweep: SweepPlan): Promise<MissedAnswers | undefined> {
  const { src, def, walk } = ref;
  const item = def.item;
  if (!item || sweep.policy.deletes !== 'confirm' || walk.mode !== 'full' || src.vendor.session?.stateOf(walk.scope) != null) return undefined;
  const none = { gone: [], present: [], unknown: 0, problem: null };
  if (walk.unidentified + page.unidentified > 0 || sweep.incomplete !== undefined) return none;
  const missed = await missedRows(deps.db, { table: def.table, walk, range: sweep.range }, page.seen);
  if (missed.ids.length === 0) return none;
  const ask = (ids: readonly string[], maxIds: number) => askAboutMissed(ref.lane, ids, (id) => item(id, walk.scope, src.config), { maxIds, maxWaitMs: deps.maxInProcessWaitMs });
  if (missed.ids.length <= missed.present * sweep.policy.maxDeleteShare) return ask(missed.ids, MAX_ASKED_PER_WALK);
  // Many misses: the guard holds them. Only a walk that could apply the scope's hold (it missed
  // exactly the held rows) asks, a sample first; a 2xx or no answer there keeps the hold.
  const [hold] = await listHeldSweeps(deps.db, { sourceId: walk.source_id, resource: walk.resource, scope: walk.scope });
  if (!hold || !sameIds(hold.ids, missed.ids)) return { ...none, unknown: missed.ids.length };
  return askSampleFirst(missed.ids, ask);
}

/** Ids asked about first when a hold could be applied: evenly spread over the missed ids. */
export const HOLD_SAMPLE_SIZE = 10;

/** Up to `size` ids spread evenly over `ids` (all of them when there are no more), in their order. */
export function sampleIds(ids: readonly string[], size: number): string[] {
  if (ids.length <= size) return [...ids];
  return Array.from({ length: size }, (_, i) => ids[Math.floor((i * ids.length) / size)]!);
}

/**
 * Asks about a sample of the held rows; only when the vendor answered 404/410 for every one of
 * them asks about the rest (up to the per-walk cap). Any 2xx in the sample keeps the whole hold
 * (no `gone` returned); a question without an answer stops there with the answers so far.
 */
async function askSampleFirst(ids: readonly string[], ask: (ids: readonly string[], maxIds: number) => Promise<MissedCheck>): Promise<MissedCheck> {
  const sample = sampleIds(ids, HOLD_SAMPLE_SIZE);
  const first = await ask(sample, sample.length);
  // The vendor still has some of them: the hold stays, its 404s are acted on by a later walk.
  if (first.present.length > 0) return { gone: [], present: first.present, unknown: ids.length - first.present.length, problem: `the vendor still has ${first.present.length} of ${sample.length} sampled held rows` };
  if (first.gone.length < sample.length) return { ...first, unknown: ids.length - first.gone.length };
  const asked = new Set(sample);
  const rest = await ask(ids.filter((id) => !asked.has(id)), MAX_ASKED_PER_WALK - sample.length);
  return { gone: [...first.gone, ...rest.gone], present: rest.present, unknown: rest.unknown, problem: rest.problem };
}

/** True when two id lists hold the same ids. */
function sameIds(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  const set = new Set(a);
  return b.every((id) => set.has(id));
}
