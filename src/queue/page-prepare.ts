import type { ResourceDefinition } from '../connector.js';
import type { HttpPage } from '../http/client.js';
import { PageShapeError, PaginationLoopError, type Cursor, type PageContext, type PageResult } from '../pagination/types.js';
import { normalizePage, type NormalizeContext, type NormalizedPage } from '../sync/normalize-page.js';
import { recordTexts } from '../sync/record-texts.js';
import { payloadRecords, type PagePayload } from '../warehouse/upsert.js';

// A page fetched ahead is also parsed, checked, normalized and serialized for its upsert as soon
// as its answer comes (src/queue/prefetch.ts), while the page before it still commits: that is
// worker CPU (~15 ms a page of 500 devices) taken off the walk's one-page-after-another path. The
// page's own job still commits it, and uses this work only if it was done from the very cursor
// the job reads from the committed walk; otherwise it does the work itself.

/** What a page's commit needs of its parsed result besides the records themselves. */
export interface PageFrame {
  next: Cursor | null;
  total?: number;
  /** How many records the page held. */
  records: number;
}

/** The PageFrame of a parsed page. */
export function pageFrame(result: PageResult): PageFrame {
  return { next: result.next, records: result.records.length, ...(result.total !== undefined ? { total: result.total } : {}) };
}

/** A page's answer made ready for its commit, and the cursor it was made from. */
export interface PreparedPage {
  /** canonicalJson() of the cursor the page was parsed with. */
  cursorKey: string;
  frame: PageFrame;
  /** The normalized page without its rows: they live on in `payload` only. */
  normalized: NormalizedPage;
  /** payloadRecords() of the normalized rows, in their order. */
  payload: PagePayload;
}

/**
 * The page frame's own checks, the same for every style and free of any id order: a page with
 * more records than it asked for is refused (the vendor ignored the limit: committing it, and a
 * sweep after it, would be unsafe); a page that is empty but claims more is a loop; so is a next
 * cursor equal to this one (the commit then checks every request the walk made before).
 */
export function checkPage(def: ResourceDefinition, result: PageResult, cursor: Cursor, pageCtx: PageContext): void {
  const limit = def.pagination.maxRecords ? def.pagination.maxRecords(pageCtx) : pageCtx.pageSize;
  if (result.records.length > limit) {
    throw new PageShapeError(`the vendor sent ${result.records.length} records where at most ${limit} were asked for (it ignored the page size); page refused, committing it would be unsafe`);
  }
  if (result.next === null) return;
  if (result.records.length === 0 && !def.pagination.emptyPagesAdvance) throw new PaginationLoopError(`pagination loop: an empty page claims more (next ${JSON.stringify(result.next).slice(0, 300)})`);
  if (JSON.stringify(result.next) === JSON.stringify(cursor)) {
    throw new PaginationLoopError(`pagination loop: the next cursor ${JSON.stringify(result.next).slice(0, 300)} does not advance`);
  }
}

/**
 * JSON text with object keys sorted at every level: equal for a cursor and its copy read back
 * from Postgres's jsonb, which does not keep key order.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v,
  );
}

/**
 * Parses and checks one page's answer (the first half of preparePage): its next cursor is known
 * from here on. Throws what parsing or checkPage throws.
 */
export function parsePage(def: ResourceDefinition, res: HttpPage, cursor: Cursor, pageCtx: PageContext): PageResult {
  const result = def.pagination.parse(res.body, cursor, pageCtx, { headers: res.headers });
  checkPage(def, result, cursor, pageCtx);
  return result;
}

/**
 * Normalizes a parsed page and serializes its rows for the upsert (the second half of
 * preparePage). `body` is the answer's body the page was parsed from: each record's raw goes to
 * Postgres as its text there (recordTexts), when it can be cut from it.
 */
export function finishPage(def: ResourceDefinition, result: PageResult, cursor: Cursor, norm: NormalizeContext, body: unknown): PreparedPage {
  const normalized = normalizePage(def, result.records, norm, recordTexts(body, result.records));
  const payload = payloadRecords(normalized.rows);
  // Nothing here holds the parsed records, their validated copies or their rows while the page
  // before commits (~50 ms): they die young instead of being promoted, and the collector's time
  // in a first sync fell from 1.5 to 0.8 s per 100,000 devices (CPU profile).
  return { cursorKey: canonicalJson(cursor), frame: pageFrame(result), normalized: { ...normalized, rows: [] }, payload };
}

/**
 * Parses, checks and normalizes one page's answer and serializes its rows for the upsert: what
 * a page job does between its answer and its commit. Throws what parsing or checkPage throws.
 */
export function preparePage(def: ResourceDefinition, res: HttpPage, cursor: Cursor, pageCtx: PageContext, norm: NormalizeContext): PreparedPage {
  return finishPage(def, parsePage(def, res, cursor, pageCtx), cursor, norm, res.body);
}
