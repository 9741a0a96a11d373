import { setTimeout as sleep } from 'node:timers/promises';
import type { Kysely } from 'kysely';
import { VendorError } from '../http/errors.js';
import type { Logger } from '../logger.js';
import type { Lane } from '../queue/lanes.js';
import type { ResolvedSource } from '../sources.js';
import { scopeLabel } from '../sync/where.js';
import type { Database } from '../warehouse/db.js';
import { feedReadTo, presentIds, saveFeedReadTo } from '../warehouse/event-cursors.js';
import { eventsSince, feedSince } from './decide.js';
import { enqueueEvents, type EventIntake } from './enqueue.js';
import type { EventFeed } from './feed.js';

/** What polling a source's event feed needs. */
export interface PollDeps {
  db: Kysely<Database>;
  log: Logger;
  intake: EventIntake;
  /** A source's vendor definition and config; throws when it is not configured. */
  sourceOf: (sourceId: string) => ResolvedSource;
  /** A source's lane of a class, opened if it is not (Engine.openLane). */
  openLane: (sourceId: string, laneClass: string) => { src: ResolvedSource; lane: Lane };
  /** Longest one poll waits for its lane's gate in all (worker.maxInProcessWaitMs); past it the poll stops and the next one goes on. */
  maxWaitMs: number;
  now?: () => number;
}

/** What one poll did: requests sent, events read, queued and already queued, and why it stopped early (null: it read everything). */
export interface PollResult {
  requests: number;
  events: number;
  queued: number;
  duplicates: number;
  stopped: string | null;
}

/** Most pages one poll reads of one feed in one scope; the rest is read by the next poll (the cursor stays). */
const MAX_PAGES_PER_FEED = 50;

/**
 * Reads a source's event feed (the vendor's `events`) in every scope from where the last poll
 * stopped (source_event_cursors), queues what it finds (enqueueEvents: keys already queued are
 * duplicates) and moves each cursor to the newest event read. Requests go through the feed's lane
 * like any page: a gate wait past `maxWaitMs` or a 429 stops the poll, and the next one resumes.
 */
export async function pollSource(deps: PollDeps, sourceId: string): Promise<PollResult> {
  const feed = deps.sourceOf(sourceId).vendor.events;
  if (!feed) throw new Error(`${sourceId}: its vendor publishes no event feed to poll`);
  const { src, lane } = deps.openLane(sourceId, feed.lane);
  const out: PollResult = { requests: 0, events: 0, queued: 0, duplicates: 0, stopped: null };
  const parent = feed.scopesFrom ? src.vendor.resources.find((r) => r.name === feed.scopesFrom) : undefined;
  const scopes = parent ? await presentIds(deps.db, parent.table, src.id) : ['-'];
  let waited = 0;
  const mayWait = (ms: number) => waited + ms <= deps.maxWaitMs && ((waited += ms), true);
  for (const scope of scopes) {
    for (const name of feed.feeds) {
      out.stopped = await pollFeed(deps, { src, lane, feed, name, scope, parent: feed.scopesFrom, mayWait }, out);
      if (out.stopped !== null) return out;
    }
  }
  return out;
}

/** One feed of one scope being read. */
interface FeedRead {
  src: ResolvedSource;
  lane: Lane;
  feed: EventFeed;
  name: string;
  scope: string;
  parent: string | undefined;
  mayWait: (ms: number) => boolean;
}

/** Reads one feed of one scope page after page and moves its cursor; returns why it stopped early, or null. */
async function pollFeed(deps: PollDeps, r: FeedRead, out: PollResult): Promise<string | null> {
  const at = { sourceId: r.src.id, feed: r.name, scope: r.scope };
  const readTo = await feedReadTo(deps.db, at);
  const since = feedSince(readTo, (deps.now ?? Date.now)());
  const pageSize = Math.min(r.feed.maxPageSize, r.src.config.pageSize ?? r.feed.maxPageSize);
  let newest = readTo?.getTime() ?? since.getTime();
  for (let page = 0; page < MAX_PAGES_PER_FEED; page++) {
    const where = `${r.src.id}/events ${r.name} ${scopeLabel(r.scope, r.parent)} page ${page}`;
    const body = await ask(r, r.feed.request({ feed: r.name, scope: r.scope, since, page, pageSize }, r.src.config), where);
    if (typeof body === 'string') return body;
    out.requests++;
    const parsed = r.feed.parse(body.value, { source: r.src.id, scope: r.scope, feed: r.name, page, pageSize });
    for (const p of parsed.problems) deps.log.warn({ source: r.src.id, feed: r.name, scope: r.scope }, p);
    const { fresh, newest: pageNewest } = eventsSince(parsed.events, since);
    out.events += parsed.events.length;
    // Events of a resource the source does not sync (`resources:` leaves it out) are not ours.
    const queued = await enqueueEvents(deps.intake, fresh.filter((e) => deps.intake.resourceOf(e.source, e.resource) !== undefined));
    out.queued += queued.queued;
    out.duplicates += queued.duplicates;
    if (pageNewest !== null && pageNewest > newest) newest = pageNewest;
    if (!parsed.more) {
      await saveFeedReadTo(deps.db, at, new Date(newest));
      return null;
    }
  }
  // Not read to its end: the cursor stays, so the next poll reads the rest (keys dedupe the pages read twice).
  return `${r.src.id}/events ${r.name} ${scopeLabel(r.scope, r.parent)}: more than ${MAX_PAGES_PER_FEED} pages; the next poll goes on`;
}

/**
 * One request of a feed through its lane: the parsed body, or why the poll stops (a gate wait it
 * may not take, a 429, a failure, each named with `where`). Never throws for a vendor answer.
 */
async function ask(r: FeedRead, req: Parameters<Lane['request']>[0], where: string): Promise<{ value: unknown } | string> {
  try {
    for (;;) {
      const reply = await r.lane.request(req);
      if (reply.sent) return { value: reply.page.body };
      if (!r.mayWait(reply.waitMs)) return `${where}: the lane's rate limit left no room for this poll; the next poll goes on`;
      await sleep(reply.waitMs);
    }
  } catch (err) {
    if (!(err instanceof VendorError)) throw err;
    return `${where}: ${err.message}${err.requestId ? ` [request ${err.requestId}]` : ''}`;
  }
}
