import { z } from 'zod/v4';
import type { EventFeed, FeedPage, FeedPageContext } from '../src/events/feed.js';
import type { VendorEvent } from '../src/events/types.js';
import { formatKeyPath } from '../src/config.js';
import { toTimestamp } from '../src/normalize.js';

// Automox `GET /events` (published definition, operation getEvents): per organization (`o`), one
// event name at a time (`eventName`), from a day on (`startDate`, YYYY-MM-DD, "events after this
// date"), `limit` 1..500 and `page` from 0, a bare array without pagination metadata (a full page
// may mean more). `system.add` (a device joined the organization) is fetched by id and upserted;
// `system.delete` (a device was removed) is a confirmed deletion. docs/freshness.md, Automox.

const eventSchema = z.object({
  id: z.union([z.number().int(), z.string().min(1)]),
  name: z.string(),
  server_id: z.union([z.number().int(), z.string().min(1)]),
  organization_id: z.union([z.number().int(), z.string().min(1)]).nullish(),
  create_time: z.string(),
});

/** What each polled event name becomes. */
const ACTIONS: Readonly<Record<string, VendorEvent['action']>> = { 'system.add': 'created', 'system.delete': 'deleted' };

/** The UTC day before `t` (YYYY-MM-DD): "after this date" then takes in all of `t`'s day, whichever way the vendor reads it. */
function dayBefore(t: Date): string {
  return new Date(t.getTime() - 86_400_000).toISOString().slice(0, 10);
}

/** One page of `/events` as vendor events; a record that does not read is left out and named. */
function parseEvents(body: unknown, at: FeedPageContext): FeedPage {
  const where = `${at.source}/events ${at.feed} org ${at.scope} page ${at.page}`;
  if (!Array.isArray(body)) throw new Error(`${where}: expected a JSON array of events, got ${body === null ? 'null' : typeof body}`);
  const events: VendorEvent[] = [];
  const problems: string[] = [];
  for (const raw of body) {
    const parsed = eventSchema.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const id = raw !== null && typeof raw === 'object' && 'id' in raw ? ` event ${String((raw as { id: unknown }).id)}` : '';
      problems.push(`${where}${id}: invalid event: ${issue ? `${formatKeyPath(issue.path) || '(record)'}: ${issue.message}` : 'not an object'}; left out`);
      continue;
    }
    const e = parsed.data;
    const action = ACTIONS[e.name];
    const occurredAt = toTimestamp(e.create_time);
    // Another name than asked for: not ours to apply.
    if (!action || e.name !== at.feed) continue;
    if (occurredAt === null) {
      problems.push(`${where} event ${e.id}: create_time ${JSON.stringify(e.create_time)} is not a time; left out`);
      continue;
    }
    events.push({ source: at.source, resource: 'devices', id: String(e.server_id), scope: e.organization_id == null ? at.scope : String(e.organization_id), action, occurredAt, eventKey: `automox-event-${e.id}` });
  }
  return { events, problems, more: body.length >= at.pageSize };
}

/** The Automox event feed: device additions and removals per organization, read through the `api` lane. */
export const automoxEvents: EventFeed = {
  lane: 'api',
  feeds: ['system.add', 'system.delete'],
  scopesFrom: 'organizations',
  maxPageSize: 500,
  request: ({ feed, scope, since, page, pageSize }) => ({ path: '/events', params: { o: scope, eventName: feed, startDate: dayBefore(since), limit: String(pageSize), page: String(page) } }),
  parse: parseEvents,
};
