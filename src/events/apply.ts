import { UnrecoverableError } from 'bullmq';
import type { Kysely } from 'kysely';
import type { ResourceDefinition } from '../connector.js';
import type { HttpPage } from '../http/client.js';
import { VendorError } from '../http/errors.js';
import type { Logger } from '../logger.js';
import type { EngineMetrics } from '../metrics.js';
import { itemVerdict } from '../queue/missed-rows.js';
import type { WalkRoute } from '../queue/page-ref.js';
import { rateLimitBackoffOf } from '../sources.js';
import { normalizePage } from '../sync/normalize-page.js';
import type { Database } from '../warehouse/db.js';
import { writeEventDelete, writeEventRow, type EventTarget, type EventWriteResult } from '../warehouse/event-writes.js';
import { keepsHistory } from '../warehouse/history.js';
import { payloadRecords, type PagePayload } from '../warehouse/payload.js';
import { walkPauses } from '../warehouse/resource-pauses.js';
import { eventProblem, eventScope, eventWhere, planEvent } from './decide.js';
import type { VendorEvent } from './types.js';

/** What applying an event needs: the warehouse, the routes of resources (their lanes), logs and metrics. */
export interface ApplyDeps {
  db: Kysely<Database>;
  log: Logger;
  metrics?: EngineMetrics | undefined;
  /** The source's resource with its definition and lane (opened if it is not); throws when either is not configured. */
  routeOf: (sourceId: string, resource: string) => WalkRoute;
}

/** How an event job waits (moved to delayed, no attempt spent). Always throws. */
export type EventDefer = (ms: number) => Promise<never>;

/** What an event came to; `refused`: nothing can apply it but the next walk; `stale`: a newer event was applied to the row. */
export type EventOutcome = 'upserted' | 'deleted' | 'stale' | 'refused';

/** How long an event that needs a request of a paused source (or resource) waits before it looks again. */
export const PAUSED_EVENT_WAIT_MS = 60_000;

/**
 * Applies one vendor event (docs/freshness.md): a deletion marks the row deleted as confirmed; a
 * signed record is validated by the resource's schema and upserted; otherwise the record is
 * asked for by id through the source's lane (its gate, 429 and retries as for a page) and upserted,
 * or marked deleted on 404/410 (waiting while the source or resource is paused; the other kinds
 * send nothing and apply anyway). Never touches a walk. Throws UnrecoverableError for an event that
 * can never apply (its message names source, resource, scope and record), a retryable error for
 * the job's next attempt, or what `defer` throws.
 */
export async function applyEvent(deps: ApplyDeps, ev: VendorEvent, defer: EventDefer): Promise<EventOutcome> {
  const route = deps.routeOf(ev.source, ev.resource);
  const { def, src } = route;
  const problem = eventProblem(ev, { parent: def.parent, hasItem: def.item !== undefined });
  if (problem !== null) throw new UnrecoverableError(problem);
  const where = eventWhere(ev, def.parent);
  const target: EventTarget = { table: def.table, sourceId: src.id, resource: def.name, externalId: ev.id, occurredAt: ev.occurredAt, fetchedNow: false, history: keepsHistory(def.table, src.config.history) };
  const plan = planEvent(ev, { hasItem: def.item !== undefined && src.vendor.session?.stateOf(eventScope(ev)) == null });
  switch (plan.kind) {
    case 'refuse':
      deps.log.info({ source: src.id, resource: def.name }, `${where}: ${plan.reason}`);
      return 'refused';
    case 'delete':
      return report(deps, target, await writeEventDelete(deps.db, target));
    case 'record':
      return report(deps, target, await writeEventRow(deps.db, target, eventPayload(def, ev, where, ev.record)));
    case 'fetch': {
      // A paused source or resource sends nothing (402, `fleetsync pause`): its events that need a request wait for `resume`.
      const paused = await walkPauses(deps.db, src.id, def.name);
      if (paused.source || paused.resource) return await defer(PAUSED_EVENT_WAIT_MS);
      const answer = await askItem(route, ev, { defer, where, metrics: deps.metrics });
      const now = { ...target, fetchedNow: true };
      if (answer === 'gone') return report(deps, now, await writeEventDelete(deps.db, now));
      return report(deps, now, await writeEventRow(deps.db, now, eventPayload(def, ev, where, answer.body)));
    }
  }
}

/** Counts what an event wrote and returns its outcome. */
function report(deps: ApplyDeps, t: EventTarget, res: EventWriteResult): EventOutcome {
  if (res.outcome === 'upserted') deps.metrics?.rows(t.sourceId, t.table, res.counts);
  if (res.outcome === 'deleted' && res.deleted) deps.metrics?.rows(t.sourceId, t.table, { deleted: 1 });
  return res.outcome;
}

/**
 * One record as a page's upsert payload, through the page path's own normalizing (the resource's
 * schema and mapping, repairs, quarantine rules). A record that does not validate, or whose id is
 * not the event's, can never be applied: UnrecoverableError naming where and the field.
 */
export function eventPayload(def: ResourceDefinition, ev: VendorEvent, where: string, record: unknown): PagePayload {
  const page = normalizePage(def, [record], { sourceId: ev.source, scope: eventScope(ev), where });
  const bad = page.quarantine[0];
  if (bad) throw new UnrecoverableError(`${bad.reason}${bad.field ? ` (field ${bad.field})` : ''}`);
  const row = page.rows[0];
  if (!row) throw new UnrecoverableError(`${where}: the vendor sent no record`);
  if (row.externalId !== ev.id) throw new UnrecoverableError(`${where}: the record's id is ${row.externalId}, not the event's`);
  return payloadRecords(page.rows);
}

/** What asking for one record needs besides its route. */
interface AskContext {
  defer: EventDefer;
  where: string;
  metrics?: EngineMetrics | undefined;
}

/**
 * The vendor's per-id GET of the event's record through its lane: the answer, or `gone` on
 * 404/410. No room at the gate, or a 429 (the lane paused itself), defers the job; a retryable
 * failure is thrown for the job's next attempt; any other answer can never change and is
 * UnrecoverableError with the vendor's message.
 */
async function askItem(route: WalkRoute, ev: VendorEvent, at: AskContext): Promise<HttpPage | 'gone'> {
  const { src, def, lane } = route;
  const req = def.item!(ev.id, eventScope(ev), src.config);
  try {
    const reply = await lane.request(req);
    if (!reply.sent) return await at.defer(reply.waitMs);
    return reply.page;
  } catch (err) {
    if (!(err instanceof VendorError)) throw err;
    if (err.status !== null && itemVerdict(err.status) === 'gone') return 'gone';
    if (err.kind === 'rate_limited') {
      at.metrics?.rateLimited(src.id, lane.laneClass);
      return await at.defer(err.retryAfterMs ?? rateLimitBackoffOf(src));
    }
    const message = `${at.where}: ${err.message}${err.requestId ? ` [request ${err.requestId}]` : ''}`;
    if (err.kind === 'retryable') throw new Error(message);
    throw new UnrecoverableError(message);
  }
}
