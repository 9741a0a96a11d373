import type { z } from 'zod/v4';
import type { LaneLimit, SourceConfig } from './config.js';
import type { EventFeed } from './events/feed.js';
import type { Cursor, PageRequest, PageStrategy } from './pagination/types.js';
import type { DataTableName, NormalizedRow } from './warehouse/tables.js';

/** What a mapping sees besides the record: where it came from. */
export interface MapContext {
  sourceId: string;
  scope: string;
}

/**
 * One list a vendor exposes, and how it lands in the warehouse.
 * `record` validates the fields a mapping reads where the object enters (unknown fields are not
 * checked and not copied: the whole object is kept as it came, in raw);
 * `map` turns a validated object into the table's normalized columns.
 */
export interface ResourceDefinition<T extends DataTableName = DataTableName, R = unknown> {
  name: string;
  table: T;
  /** Lane class (a key of the vendor's lanes). */
  lane: string;
  /** The vendor's documentation of this endpoint. */
  docUrl: string;
  /** Resource whose rows are this resource's scopes; absent for global lists (scope "-"). */
  parent?: string;
  /** Scope value from a parent row; default: the parent's external_id. */
  scopeFrom?: (parent: { external_id: string; raw: unknown; scope: string }) => string | null;
  /** Endpoint path below the base URL for a scope (the source's config, for per-source endpoints). */
  path: (scope: string, source: SourceConfig) => string;
  /** Query parameters always sent for a scope (the source's config, for per-source settings). */
  params?: (scope: string, source: SourceConfig) => Record<string, string>;
  /**
   * Incremental sync (docs/design.md, "Incremental where the vendor allows it"), where the vendor can filter on an update time.
   * An incremental walk sends `params(since)` besides the resource's own params, where `since`
   * is the high-water mark of the last succeeded walk of the same (source, resource, scope)
   * minus `overlapMs` (default 5 minutes). `updatedAt` gives each record's update time; the
   * largest one a walk sees becomes its high-water mark (full walks record it too).
   */
  incremental?: IncrementalSpec<R>;
  pagination: PageStrategy;
  /**
   * For a list that covers only part of its scope (a date range of time entries): the rows a
   * completed full walk may mark deleted, from its last cursor. Rows outside the range are never
   * swept. Absent: the whole scope.
   */
  sweepRange?: (lastCursor: Cursor) => SweepRange | null;
  /**
   * The vendor's per-id GET of one record, where it has one (docs/reliability.md, "Deletes").
   * A full walk of a `deletes: confirm` source asks it about every present row the walk did not
   * list: 404/410 marks the row deleted at once, 2xx clears its missing_since (the vendor still
   * has it), anything else leaves it missing. With it, a row is never marked deleted without a
   * 404/410: a listing that shifts during two walks in a row cannot fake a delete.
   */
  item?: (id: string, scope: string, source: SourceConfig) => PageRequest;
  record: z.ZodType<R, unknown>;
  /**
   * Dot path of the field the external id comes from; default "id". A record whose value there
   * is missing, empty or not a string or number is quarantined as unidentified before `record`
   * runs (docs/design.md, "Bad data is quarantined, not fatal").
   */
  idField?: string;
  /** External id of a validated record (ctx for ids unique only within a scope, e.g. memberships). */
  id: (rec: R, ctx: MapContext) => string;
  map: (rec: R, ctx: MapContext) => NormalizedRow<T>;
}

/** Rows whose timestamp `column` lies in [from, to) (ISO 8601 instants). */
export interface SweepRange {
  column: string;
  from: string;
  to: string;
}

/** How a resource fetches only what changed since a time. */
export interface IncrementalSpec<R = unknown> {
  params: (since: Date) => Record<string, string>;
  updatedAt: (rec: R) => string | null;
  overlapMs?: number;
}

/** Pulls the vendor's human-readable message (and request id) out of an error body. */
export type ErrorBodyReader = (body: unknown) => { message?: string; requestId?: string };

/**
 * Everything fleetsync knows about one vendor: auth, lanes, error bodies and resources.
 * Adding a vendor means adding one of these under jobs/.
 */
export interface VendorDefinition {
  vendor: string;
  docUrl: string;
  /** Validates a source's `credentials` block. */
  credentials: z.ZodType<Record<string, string>, unknown>;
  /** Headers that authenticate a request. The values are secrets and never leave the HTTP layer. */
  authHeaders: (credentials: Record<string, string>) => Record<string, string>;
  /** The vendor's documented rate-limit classes. */
  lanes: Record<string, LaneLimit>;
  resources: ResourceDefinition[];
  readError: ErrorBodyReader;
  /** Extra checks of a source's config (options), message per problem. */
  validateSource?: (source: SourceConfig) => string[];
  /**
   * For vendors defined by configuration (`vendor: rest`): builds the source's own definition.
   * Problems are key paths below the source (`rest.resources[1].map.foo: ...`); no vendor then.
   */
  fromSource?: (source: SourceConfig) => { vendor?: VendorDefinition; problems: string[] };
  /** Lane pause after a 429 that names no wait; a source's `rateLimitBackoffMs` overrides it. Default 60 s. */
  rateLimitBackoffMs?: number;
  /**
   * Quota headers besides X-RateLimit-* (Toggl: X-Toggl-Quota-Remaining, X-Toggl-Quota-Resets-In
   * in seconds). Remaining 0 pauses the lane until the reset; a 402 that carries them is a spent
   * quota (lane pause), not a plan problem (see paymentRequired).
   */
  quotaHeaders?: VendorQuota;
  /**
   * What a 402 that is not a spent quota stops. `source` (default): the account is not paid for as
   * a whole, or the vendor documents no 402: the source pauses. `resource`: the vendor's 402 means
   * the plan lacks the feature of that one endpoint (Toggl): only that resource of the source
   * pauses, its other resources go on. Either lasts until `fleetsync resume`.
   */
  paymentRequired?: 'source' | 'resource';
  /**
   * Named plans of a per-source `quota` (requests per hour), e.g. Toggl's `free: 30`. A source's
   * `quota` is a plan name from here or a number (src/queue/quota.ts).
   */
  quotaPlans?: Readonly<Record<string, number>>;
  /** Scopes of the root walks (resources without a parent); default `['-']`. */
  rootScopes?: () => string[];
  /** Server-side session state some lists depend on (the partner API's active OU). */
  session?: SessionScoping;
  /**
   * The one cheap authenticated request `fleetsync check` makes for a source (src/check/): a
   * documented read that proves the credentials and the base URL. Default: the first page of the
   * first root resource, at the smallest page size.
   */
  probe?: (source: SourceConfig) => VendorProbe;
  /** The vendor's change feed, polled between walks when a source sets `events.every` (Automox `/events`; docs/freshness.md). */
  events?: EventFeed;
}

/** A vendor's cheapest authenticated read, sent through the lane of its class like every request. */
export interface VendorProbe {
  lane: string;
  request: PageRequest;
  /**
   * Answers besides 2xx that still prove both the credentials and the base URL (the GET of a
   * session state nobody set yet answers 404); anything else but 2xx is a problem.
   */
  accept?: readonly number[];
}

/**
 * A vendor whose list responses depend on state set on its side (an "active organizational
 * unit"). The engine keeps one such state per source in Redis, switches it only under a per-source
 * lock, and never lets a page of one state be in flight while another is active.
 */
export interface SessionScoping {
  /** The state a walk of `scope` needs (e.g. its OU id), or null when it needs none. */
  stateOf(scope: string): string | null;
  /** The request that makes `state` the active one. */
  activate(state: string): { method: 'PUT' | 'POST' | 'PATCH'; path: string; body?: unknown };
}

/** How a vendor says its request quota is spent: headers, and the text of a 402 that carries none. */
export interface VendorQuota {
  remaining: string;
  resetsInSeconds: string;
  /**
   * A 402 without the headers whose message matches is a spent quota as well (Toggl: "Quota
   * exceeded: You've used 31 / 30 requests ..."): the lane waits until the next hour boundary.
   */
  spentMessage?: RegExp;
}

/** Helper that keeps a resource definition's generic parameters while storing it in a list. */
export function defineResource<T extends DataTableName, R>(def: ResourceDefinition<T, R>): ResourceDefinition {
  return def as unknown as ResourceDefinition;
}
