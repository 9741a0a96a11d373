/** JSON-serialisable position of a walk: stored in sync_walks.cursor and committed with the page. */
export type Cursor = { readonly [key: string]: string | number | boolean | null };

/** What a walk needs to build a request: its scope, its page size, and what the resource asks for. */
export interface PageContext {
  scope: string;
  pageSize: number;
  /** Path of the list endpoint, relative to the source's base URL, scope already filled in. */
  path: string;
  /** Extra query parameters the resource always sends (scope filters, incremental filters). */
  params: Record<string, string>;
  /** Absolute base URL of the source (links are only followed on its origin). */
  baseUrl: string;
  /** True on the first page of a walk. */
  first: boolean;
}

/** One HTTP request: either a path below the base URL with params, or an absolute same-origin URL. */
export interface PageRequest {
  path?: string;
  url?: string;
  params?: Record<string, string | number>;
  /**
   * Default GET. POST for a read whose filter and cursor travel in a JSON body (Toggl's report
   * search); PUT/PATCH for session requests; POST/PUT/DELETE also for the webhook set-up commands.
   */
  method?: 'GET' | 'PUT' | 'POST' | 'PATCH' | 'DELETE';
  /** JSON body of a non-GET request. */
  body?: unknown;
}

/** What a page yielded: its records and where the walk continues (null: walk complete). */
export interface PageResult {
  records: unknown[];
  next: Cursor | null;
  /** Total number of records in the walk, when the vendor says. */
  total?: number;
  /**
   * On a walk's last page: why the walk cannot vouch for having seen everything, when the vendor's
   * own figures disagree with what it read (src/pagination/window-check.ts). Its sweep then marks
   * nothing (docs/design.md, Deletes are detected, not guessed).
   */
  incomplete?: string;
}

/** What a page's response carried besides its body: header names lower-case, first value only. */
export interface PageResponseMeta {
  headers: Readonly<Record<string, string>>;
}

/** Thrown when a response body does not have the shape the strategy expects. */
export class PageShapeError extends Error {
  override name = 'PageShapeError';
}

/** Thrown when a vendor's pagination would repeat itself (a cursor or link that does not advance). */
export class PaginationLoopError extends Error {
  override name = 'PaginationLoopError';
}

/**
 * A pagination strategy: a pure state machine over cursors.
 * One page per job means the walk is a sequence of (cursor -> request -> result -> next cursor)
 * steps, each committed before the next is taken, rather than one long-lived generator.
 */
export interface PageStrategy {
  readonly kind: string;
  /** Default page size (the vendor's maximum unless that hurts). */
  readonly defaultPageSize: number;
  /** Largest page size the vendor accepts. */
  readonly maxPageSize: number;
  /**
   * Most records a page may hold (default: the page size asked for). A page with more is refused:
   * the vendor ignored the limit, and such a page is no page of this walk.
   */
  maxRecords?(ctx: PageContext): number;
  /**
   * True when an empty page may still point further by design (a date window with nothing in it
   * moves to the next window). Otherwise an empty page that claims more is a loop; either way a
   * request the walk already made is one.
   */
  readonly emptyPagesAdvance?: boolean;
  first(ctx: PageContext): Cursor;
  request(cursor: Cursor, ctx: PageContext): PageRequest;
  /**
   * Throws PageShapeError for a body of the wrong shape, PaginationLoopError for a cursor that does not advance.
   * `meta` holds the response headers, for styles whose cursor travels in them (empty for a static list).
   */
  parse(body: unknown, cursor: Cursor, ctx: PageContext, meta?: PageResponseMeta): PageResult;
}
