import type { SourceConfig } from '../config.js';
import type { PageRequest } from '../pagination/types.js';
import type { VendorEvent } from './types.js';

/** Where a page of a feed was read: for the parser's messages and its page size. */
export interface FeedPageContext {
  source: string;
  scope: string;
  /** The feed's name (Automox: the event name, e.g. `system.delete`). */
  feed: string;
  page: number;
  pageSize: number;
}

/** One page of a feed, parsed: the events it holds, the records that could not be read (each message names it), and whether another page may follow. */
export interface FeedPage {
  events: VendorEvent[];
  problems: string[];
  more: boolean;
}

/**
 * A vendor's change feed that fleetsync polls between walks (a source's `events: { every }`;
 * Automox `GET /events`). Each feed is read per scope from a time on, page after page, through the
 * lane `lane` of the source; what it yields is queued like any vendor event (src/events/enqueue.ts).
 */
export interface EventFeed {
  /** Lane class of its requests (a key of the vendor's lanes). */
  lane: string;
  /** The feeds read in each scope (Automox: one per event name). */
  feeds: readonly string[];
  /** The resource whose present rows are the scopes (their external ids); absent: the one scope "-". */
  scopesFrom?: string;
  /** Largest page it asks for; the source's pageSize is used when smaller. */
  maxPageSize: number;
  /** The request of page `page` (from 0) of a feed in a scope, for events at `since` or later (it may return earlier ones too). */
  request(at: { feed: string; scope: string; since: Date; page: number; pageSize: number }, source: SourceConfig): PageRequest;
  /** Parses one page's body. Never throws for a bad record: it is left out and named in `problems`; throws only for a body that is not a page at all. */
  parse(body: unknown, at: FeedPageContext): FeedPage;
}
