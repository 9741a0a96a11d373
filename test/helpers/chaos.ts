import { isDeepStrictEqual } from 'node:util';
import { sql } from 'kysely';
import { repairJson } from '../../src/normalize.js';
import type { App } from '../../src/app.js';
import { ChaosSimulator, chaosRestBlock, createRngForSeed, type ChaosCounts, type ChaosStyle } from '../../src/simulators/chaos.js';
import type { Rng } from '../../src/simulators/http-sim.js';
import type { TestEnv } from '../helpers.js';
import { syncOnce } from './sync.js';

// The seeded chaos property (docs/reliability.md, "Chaos"), shared by test/chaos.test.ts (a few
// seeds) and bench/chaos.ts (`npm run chaos`, many), which run the engine in this process, and by
// test/many-sources-chaos.test.ts (fifty sources on worker processes).

/** The token every chaos simulator accepts. */
export const CHAOS_TOKEN = 'chaos-token-5f1e';
/** Requests time out fast so a stall costs little; a stall lasts past it. */
const REQUEST_TIMEOUT_MS = 300;

/** Fast-retry worker settings for chaos runs: short backoffs and timeouts, enough attempts. */
export const CHAOS_WORKER = { lockDurationMs: 2000, backoffMs: 10, attempts: 8, maxInProcessWaitMs: 50, requestTimeoutMs: REQUEST_TIMEOUT_MS };

/** Walks with chaos per seed, before the quiet ones (runChaosSeed). */
const CHAOS_WALKS = 6;
/** Quiet walks the deletion rule needs (`deletes: confirm`: two complete walks). */
const QUIET_WALKS = 2;

/** What one seed did and which parts of the property it broke (none: it held). */
export interface ChaosOutcome {
  style: ChaosStyle;
  seed: number;
  violations: string[];
  /** Per walk: its sweep outcome, or `failed: <message>`. */
  walks: string[];
  counts: ChaosCounts;
}

/** One chaos source: its simulator, its plan (the seed's draws) and what the plan chose for its source. */
export interface ChaosSource {
  id: string;
  style: ChaosStyle;
  seed: number;
  sim: ChaosSimulator;
  plan: Rng;
  pageSize: number;
  /** The lane's concurrency, 2 to 4. */
  concurrency: number;
}

/** A chaos source `chaos-<style>-<seed>` (its simulator not started); a stall lasts `stallMs`, past the request timeout. */
export function chaosSource(style: ChaosStyle, seed: number, opts: { stallMs: number; records?: number }): ChaosSource {
  const plan = createRngForSeed(seed, style, 'plan');
  const pageSize = plan.int(3, 7);
  // From a stream of its own, so the plan's draws (and so each seed's scenario) stay as they were.
  const concurrency = createRngForSeed(seed, style, 'lanes').int(2, 4);
  const sim = new ChaosSimulator({ style, seed, token: CHAOS_TOKEN, stallMs: opts.stallMs, ...(opts.records !== undefined ? { records: opts.records } : {}) });
  return { id: `chaos-${style}-${seed}`, style, seed, sim, plan, pageSize, concurrency };
}

/**
 * The `rest` source of a chaos source over its started simulator. Concurrency 2 to 4: the walk
 * fetches and prepares its next page ahead while a page commits, writes it beside that page, and
 * from 3 on requests the page after a page fetched ahead as soon as that one is parsed, so the
 * chaos also hits the requests sent early and the pages prepared and written from them
 * (src/queue/head-start/). `token`: the credential as the config holds it (a `${VAR}` reference
 * for a worker process); default the token itself.
 */
export function chaosSourceConfig(src: ChaosSource, baseUrl: string, token = CHAOS_TOKEN): Record<string, unknown> {
  return { id: src.id, vendor: 'rest', baseUrl, credentials: { token }, rateLimits: { api: { windows: [{ max: 1000, durationMs: 1000 }], concurrency: src.concurrency } }, rest: chaosRestBlock(src.style, src.pageSize) };
}

/**
 * Walks a chaos source `chaosWalks` times with chaos, then QUIET_WALKS times quietly, through
 * `app` (its own workers or other processes'), checking the property after every walk and at the
 * end. `attempts`: worker.attempts of the workers (a persistent 503 names it).
 */
export async function walkChaosSource(env: TestEnv, app: App, src: ChaosSource, opts: { chaosWalks: number; attempts: number }): Promise<Pick<ChaosOutcome, 'violations' | 'walks'>> {
  const { sim, plan, id: sourceId } = src;
  const violations: string[] = [];
  const walks: string[] = [];
  for (let no = 0; no < opts.chaosWalks + QUIET_WALKS; no++) {
    const quiet = no >= opts.chaosWalks;
    if (no > 0 && !quiet) sim.churnBetweenWalks(no);
    // Data may change during any chaotic walk, two in a row included: a positional listing
    // then hides present records from both, and only the vendor's per-id answer (404/410)
    // may delete a row.
    const churn: boolean = !quiet && plan.bool(0.7);
    const persistentFrom = !quiet && plan.bool(0.05) ? plan.int(0, 3) : undefined;
    sim.beginWalk(no, { churn, faults: !quiet, glitches: !quiet, ...(persistentFrom !== undefined ? { persistentFrom } : {}) });
    const before = sim.ids();
    const persistentBefore = sim.counts.faults['persistent 503'] ?? 0;
    const { run } = await syncOnce(app, sourceId, ['items']);
    sim.endWalk();
    const persistentFired = (sim.counts.faults['persistent 503'] ?? 0) > persistentBefore;
    const walk = await env.db.selectFrom('sync_walks').select(['status', 'sweep', 'missing', 'deleted']).where('run_id', '=', run.id).executeTakeFirst();
    const label = `walk ${no}${quiet ? ' (quiet)' : churn ? ' (churn)' : ''}`;
    walks.push(walk?.status === 'succeeded' ? `${label} ${walk.sweep ?? 'no sweep'} (missing ${walk.missing ?? 0}, deleted ${walk.deleted})` : `${label} ${walk?.status ?? 'no walk'}: ${run.error_message ?? ''}`);
    if (persistentFired) {
      const expected = new RegExp(`^${sourceId}/items scope - page \\d+: 503 Service Unavailable: maintenance \\(gave up after ${opts.attempts} attempts\\)$`);
      if (run.status !== 'failed' || !expected.test(run.error_message ?? '')) violations.push(`${label}: a persistent 503 should fail the run naming it, got ${run.status}: ${run.error_message ?? ''}`);
    } else if (run.status !== 'succeeded') {
      violations.push(`${label}: transient faults only, but the run ended ${run.status}: ${run.error_message ?? ''}`);
    }
    // (1) Nothing the vendor listed throughout the walk is marked deleted.
    const continuous = [...before].filter((id) => sim.ids().has(id) && !sim.deletedDuringWalk.has(id));
    const falselyDeleted = await deletedAmong(env, sourceId, continuous);
    if (falselyDeleted.length > 0) violations.push(`${label}: listed throughout the walk but marked deleted: ${falselyDeleted.join(', ')}`);
  }
  violations.push(...(await finalStateViolations(env, sourceId, sim)));
  return { violations, walks };
}

/**
 * Runs one seed of one style against `env`: an app of its own over a rest source of its own
 * (`chaos-<style>-<seed>`), CHAOS_WALKS walks with chaos then QUIET_WALKS quiet ones, and checks
 * the property after every walk and at the end. Never throws for a property violation (it is
 * returned); throws only when the environment fails.
 */
export async function runChaosSeed(env: TestEnv, style: ChaosStyle, seed: number): Promise<ChaosOutcome> {
  const src = chaosSource(style, seed, { stallMs: REQUEST_TIMEOUT_MS + 200 });
  const baseUrl = await src.sim.start();
  try {
    const app = await env.open({ sources: [chaosSourceConfig(src, baseUrl)], worker: CHAOS_WORKER }, process.env);
    try {
      app.engine.startWorkers();
      const outcome = await walkChaosSource(env, app, src, { chaosWalks: CHAOS_WALKS, attempts: CHAOS_WORKER.attempts });
      return { style, seed, ...outcome, counts: src.sim.counts };
    } finally {
      await app.close();
    }
  } finally {
    await src.sim.stop();
  }
}

async function deletedAmong(env: TestEnv, sourceId: string, ids: string[]): Promise<string[]> {
  if (ids.length === 0) return [];
  const rows = await env.db.selectFrom('devices').select('external_id').where('source_id', '=', sourceId).where('deleted_at', 'is not', null).where('external_id', 'in', ids).execute();
  return rows.map((r) => r.external_id).sort();
}

/**
 * (2) After the quiet walks the warehouse is the vendor's final state: every record it could
 * identify and store live with its (repaired) record as raw, every other row deleted, and each
 * record too deep to store in the quarantine rather than the table.
 */
async function finalStateViolations(env: TestEnv, sourceId: string, sim: ChaosSimulator): Promise<string[]> {
  const out: string[] = [];
  const vendor = sim.records();
  const storable = vendor.filter((r) => r.attrs === undefined);
  const tooDeep = vendor.filter((r) => r.attrs !== undefined);
  const rows = await env.db.selectFrom('devices').select(['external_id', 'raw', 'deleted_at', 'missing_since']).where('source_id', '=', sourceId).execute();
  const byId = new Map(rows.map((r) => [r.external_id, r]));
  for (const rec of storable) {
    const row = byId.get(rec.id);
    if (!row) out.push(`final: ${rec.id} is at the vendor but not in the warehouse`);
    else if (row.deleted_at !== null || row.missing_since !== null) out.push(`final: ${rec.id} is at the vendor but marked ${row.deleted_at !== null ? 'deleted' : 'missing'}`);
    else if (!isDeepStrictEqual(row.raw, repairJson(rec).value)) out.push(`final: ${rec.id} raw differs: ${JSON.stringify(row.raw)} vs ${JSON.stringify(rec)}`);
  }
  const present = new Set(vendor.map((r) => r.id));
  for (const row of rows) {
    if (!present.has(row.external_id) && row.deleted_at === null) out.push(`final: ${row.external_id} is gone at the vendor but not marked deleted`);
  }
  for (const rec of tooDeep) {
    if (byId.has(rec.id)) out.push(`final: ${rec.id} is too deep to store but has a row`);
    const q = await sql<{ n: number }>`select count(*)::int as n from sync_quarantine where source_id = ${sourceId} and external_id = ${rec.id}`.execute(env.db);
    if ((q.rows[0]?.n ?? 0) === 0) out.push(`final: ${rec.id} is too deep to store but was never quarantined`);
  }
  return out;
}
