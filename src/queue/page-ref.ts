import type { ResourceDefinition } from '../connector.js';
import { describeRequest, requestHash } from '../pagination/request-key.js';
import type { Cursor, PageContext, PageRequest } from '../pagination/types.js';
import type { ResolvedSource } from '../sources.js';
import type { NormalizeContext } from '../sync/normalize-page.js';
import { pageContext } from '../sync/walk-plan.js';
import { pageWhere } from '../sync/where.js';
import type { WalkRow } from '../warehouse/walks.js';
import type { Lane } from './lanes.js';

/** Where a walk's pages go: its source, its resource's definition and the lane it is requested through. */
export interface WalkRoute {
  src: ResolvedSource;
  def: ResourceDefinition;
  lane: Lane;
}

/** Finds the route of a walk. Throws when its source, resource or lane is not configured. */
export type RouteOf = (walk: Pick<WalkRow, 'source_id' | 'resource'>) => WalkRoute;

/**
 * "This page": one page of a walk with everything its stages need, built once and passed whole
 * (the job that commits it, the head start that fetches or writes it ahead, the failure policy).
 */
export interface PageRef extends WalkRoute {
  walk: WalkRow;
  page: number;
  /** The cursor the page is requested from: the walk's committed cursor for the page's own job. */
  cursor: Cursor;
  ctx: PageContext;
  request: PageRequest;
  /** requestHash(request): the walk's loop check and the key of a page held ahead. */
  requestHash: string;
  /** "automox-prod/devices org 42 page 7", for every message about the page. */
  where: string;
  /** Where its records come from, for normalizing them. */
  norm: NormalizeContext;
  /** When work on the page began (epoch ms), for the "page committed" line. */
  startedAt: number;
}

/**
 * Page `page` of a walk on its route, requested from `cursor` (default: the walk's committed
 * cursor, or the resource's first when it has none). Never throws for a configured route.
 */
export function pageRef(route: WalkRoute, walk: WalkRow, page: number, cursor?: Cursor): PageRef {
  const { src, def } = route;
  const ctx = pageContext(src, def, walk, page);
  const at = cursor ?? ((walk.cursor ?? def.pagination.first(ctx)) as Cursor);
  const request = def.pagination.request(at, ctx);
  const where = pageWhere(walk, page, def.parent);
  return { ...route, walk, page, cursor: at, ctx, request, requestHash: requestHash(request), where, norm: { sourceId: src.id, scope: walk.scope, where }, startedAt: Date.now() };
}

/**
 * The page after `ref` in its walk, requested from `next` (the cursor `ref`'s page ends with). The
 * cursor is copied through JSON, as the page's own job reads it back from the walk's jsonb, so
 * what is prepared from it is what that job would prepare.
 */
export function nextPageRef(ref: PageRef, next: Cursor): PageRef {
  return pageRef({ src: ref.src, def: ref.def, lane: ref.lane }, ref.walk, ref.page + 1, JSON.parse(JSON.stringify(next)) as Cursor);
}

/** A page's request as a reader sees it, for a loop message (credentials are headers: never in it). */
export function requestText(ref: PageRef): string {
  return describeRequest(ref.request);
}
