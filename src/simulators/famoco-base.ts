/**
 * What the Famoco MDM and Insights simulators share: the tenant data, bearer-token auth,
 * DRF pagination settings and DRF-style errors, throttling and headers.
 */
import { HttpSimulator, bearerToken } from './http-sim.js';
import type { RateWindow, SimRequest, SimResponse } from './http-sim.js';
import { drfErrorBody, drfPage, throttled, unauthorized, type FamocoLinkGlitch } from './famoco-drf.js';
import type { FamocoData, FamocoOrganization } from './famoco-records.js';

export interface FamocoSimulatorOptions {
  token: string;
  data: FamocoData;
  rateLimit?: RateWindow | RateWindow[];
  /** Emit next/previous links on this foreign origin (e.g. 'http://evil.example:9') instead of ours. */
  nextOriginOverride?: string;
  /** `next` always points at the current page again (never null): a pagination-loop trap. */
  repeatNext?: boolean;
  /**
   * DRF pagination class: `page` (PageNumberPagination, default) or `limit-offset`
   * (LimitOffsetPagination: `?limit=N&offset=M`, default limit 10, as third-party clients call it).
   */
  pagination?: 'page' | 'limit-offset';
}

export abstract class FamocoBase extends HttpSimulator {
  readonly token: string;
  /** Public and mutable. */
  data: FamocoData;
  nextOriginOverride: string | undefined;
  repeatNext: boolean;
  pagination: 'page' | 'limit-offset';
  /**
   * DRF CursorPagination instead of page numbers: links carry an opaque `cursor` (base64 of the
   * position) and the body has no count, so a link says nothing about where it stands.
   */
  cursorLinks = false;
  /** See FamocoLinkGlitch; null: none. */
  linkGlitch: FamocoLinkGlitch | null = null;

  constructor(opts: FamocoSimulatorOptions) {
    super({ rateLimit: opts.rateLimit });
    this.token = opts.token;
    this.data = opts.data;
    this.nextOriginOverride = opts.nextOriginOverride;
    this.repeatNext = opts.repeatNext ?? false;
    this.pagination = opts.pagination ?? 'page';
  }

  /** One page of `items` as the simulator's current pagination settings serve it. */
  protected paginate<T>(req: SimRequest, items: readonly T[]): SimResponse {
    return drfPage(req, items, this);
  }

  protected orgById(idParam: string): FamocoOrganization | undefined {
    if (!/^\d+$/.test(idParam)) return undefined;
    const id = Number(idParam);
    return this.data.organizations.find((o) => o.id === id);
  }

  protected orgByGuid(guid: string): FamocoOrganization | undefined {
    return this.data.organizations.find((o) => o.guid === guid.toLowerCase());
  }

  protected override authenticate(req: SimRequest): SimResponse | null {
    const hasHeader = typeof req.headers.authorization === 'string' && req.headers.authorization.length > 0;
    if (!hasHeader) return unauthorized('Authentication credentials were not provided.');
    const token = bearerToken(req.headers);
    if (token === null) return unauthorized('Invalid token header. No credentials provided.');
    return token === this.token ? null : unauthorized('Invalid token.');
  }

  protected override rateLimitResponse(_req: SimRequest, retryAfterSec: number): SimResponse {
    return throttled(retryAfterSec);
  }

  protected override commonHeaders(): Record<string, string> {
    return { allow: 'GET, POST, HEAD, OPTIONS', vary: 'Accept' };
  }

  protected override errorBody(status: number): unknown {
    return drfErrorBody(status);
  }
}
