import type { ResourceDefinition } from '../connector.js';
import type { HttpPage } from '../http/client.js';
import { PageShapeError, PaginationLoopError, type Cursor, type PageContext, type PageResult } from '../pagination/types.js';
import { normalizePage, type NormalizeContext, type NormalizedPage } from '../sync/normalize-page.js';
import { recordTexts } from '../sync/record-texts.js';
import { payloadRecords, type PagePayload } from '../warehouse/payload.js';

// The one way a page's answer is made ready for its commit: parsed, checked, normalized and
// serialized for its upsert. A page's job does it; the head start (src/queue/head-start/) does it
// for a page fetched ahead while the page before it commits, and its job uses that work only if it
// was done from the very cursor the job reads from the committed walk.

/** What a page's commit needs of its parsed result besides the records themselves. */
export interface PageFrame {
  next: Cursor | null;
  total?: number;
  /** How many records the page held. */
  records: number;
  /** A last page's reason the walk cannot vouch for having seen everything (PageResult.incomplete). */
  incomplete?: string;
}

/** The PageFrame of a parsed page. */
export function pageFrame(result: PageResult): PageFrame {
  return {
    next: result.next,
    records: result.records.length,
    ...(result.total !== undefined ? { total: result.total } : {}),
    ...(result.incomplete !== undefined ? { incomplete: result.incomplete } : {}),
  };
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
  /** The vendor's request id of the answer (null when it named none), for the "page committed" line. */
  requestId: string | null;
}

/** What preparing a page needs of it: its resource, the cursor and context it was requested with, and where its records come from. */
export interface PageToPrepare {
  def: ResourceDefinition;
  cursor: Cursor;
  ctx: PageContext;
  norm: NormalizeContext;
}

/**
 * The page frame's own checks, the same for every style and free of any id order: a page with
 * more records than it asked for is refused (the vendor ignored the limit: committing it, and a
 * sweep after it, would be unsafe); a page that is empty but claims more is a loop; so is a next
 * cursor equal to this one (the commit then checks every request the walk made before).
 */
export function checkPage(page: PageToPrepare, result: PageResult): void {
  const { def, ctx, cursor } = page;
  const limit = def.pagination.maxRecords ? def.pagination.maxRecords(ctx) : ctx.pageSize;
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

/** Whether a prepared page was made from `cursor` (or its copy read back from jsonb): only then is it that cursor's page. */
export function preparedFrom(prepared: PreparedPage, cursor: unknown): boolean {
  return prepared.cursorKey === canonicalJson(cursor);
}

/**
 * Parses and checks one page's answer (the first half of preparePage): its next cursor is known
 * from here on. Throws what parsing or checkPage throws.
 */
export function parsePage(page: PageToPrepare, answer: HttpPage): PageResult {
  const result = page.def.pagination.parse(answer.body, page.cursor, page.ctx, { headers: answer.headers });
  checkPage(page, result);
  return result;
}

/**
 * Normalizes a parsed page and serializes its rows for the upsert (the second half of
 * preparePage). Each record's raw goes to Postgres as its text in the answer's body
 * (recordTexts), when it can be cut from it.
 */
export function finishPage(page: PageToPrepare, result: PageResult, answer: HttpPage): PreparedPage {
  const normalized = normalizePage(page.def, result.records, page.norm, recordTexts(answer.body, result.records));
  const payload = payloadRecords(normalized.rows);
  // Nothing here holds the parsed records, their validated copies or their rows while the page
  // before commits (~50 ms): they die young instead of being promoted, and the collector's time
  // in a first sync fell from 1.5 to 0.8 s per 100,000 devices (CPU profile).
  return { cursorKey: canonicalJson(page.cursor), frame: pageFrame(result), normalized: { ...normalized, rows: [] }, payload, requestId: answer.requestId };
}

/**
 * Parses, checks and normalizes one page's answer and serializes its rows for the upsert.
 * `onParsed` runs between the two halves, once the next cursor is known (the head start asks for
 * the next page then, before this one is normalized). Throws what parsing or checkPage throws.
 */
export function preparePage(page: PageToPrepare, answer: HttpPage, onParsed?: (next: Cursor | null) => void): PreparedPage {
  const result = parsePage(page, answer);
  onParsed?.(result.next);
  return finishPage(page, result, answer);
}
