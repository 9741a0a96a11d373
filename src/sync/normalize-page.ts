import { formatKeyPath } from '../config.js';
import type { ResourceDefinition } from '../connector.js';
import { stripNul } from '../normalize.js';
import type { RowToUpsert } from '../warehouse/upsert.js';

/** A record that could not be normalized, with the reason that names where it came from. */
export interface QuarantinedRecord {
  external_id: string | null;
  reason: string;
  /** The record as JSON text. */
  raw: string;
}

/** What one page's records become before they are committed. */
export interface NormalizedPage {
  /** Rows to upsert, one per external id (a later duplicate wins). */
  rows: RowToUpsert[];
  /** Every id the page showed, quarantined records with a readable id included. */
  seen: string[];
  quarantine: QuarantinedRecord[];
  /** Records that needed a repair (NUL characters stripped). */
  repaired: number;
  /** Largest update time on the page in epoch ms (the walk's high-water mark), or null. */
  markMs: number | null;
}

/** Where a page's records come from: the source, the walk's scope and the page's `where` text. */
export interface NormalizeContext {
  sourceId: string;
  scope: string;
  where: string;
}

/**
 * Validates and maps one page's records for a resource. Pure: never throws for a bad record
 * (it is quarantined with the reason, prefixed by `ctx.where`), never does I/O.
 */
export function normalizePage(def: ResourceDefinition, records: readonly unknown[], ctx: NormalizeContext): NormalizedPage {
  const rows = new Map<string, RowToUpsert>();
  const seen: string[] = [];
  const quarantine: QuarantinedRecord[] = [];
  let repaired = 0;
  let markMs = Number.NEGATIVE_INFINITY;
  const mapCtx = { sourceId: ctx.sourceId, scope: ctx.scope };
  const hold = (raw: unknown, reason: string) => {
    const looseId = idOf(raw);
    if (looseId !== null) seen.push(looseId);
    quarantine.push({ external_id: looseId, reason: `${ctx.where}: ${reason}`, raw: JSON.stringify(raw ?? null) });
  };
  for (const original of records) {
    const { value: raw, repaired: fixed } = stripNul(original);
    if (fixed) repaired++;
    const parsed = def.record.safeParse(raw);
    if (!parsed.success) {
      hold(raw, `invalid record: ${parsed.error.issues.slice(0, 5).map((i) => `${formatKeyPath(i.path) || '(record)'}: ${i.message}`).join('; ')}`);
      continue;
    }
    try {
      const externalId = def.id(parsed.data, mapCtx);
      const columns = def.map(parsed.data, mapCtx);
      rows.set(externalId, { externalId, scope: ctx.scope, columns, raw });
      seen.push(externalId);
      const updatedAt = def.incremental?.updatedAt(parsed.data);
      const t = updatedAt ? Date.parse(updatedAt) : Number.NaN;
      if (t > markMs) markMs = t;
    } catch (err) {
      hold(raw, `cannot normalize: ${(err as Error).message}`);
    }
  }
  return { rows: [...rows.values()], seen, quarantine, repaired, markMs: Number.isFinite(markMs) ? markMs : null };
}

/** The id of a record that failed validation, when it has a usable one; null otherwise. */
export function idOf(raw: unknown): string | null {
  if (raw !== null && typeof raw === 'object' && 'id' in raw) {
    const v = (raw as { id: unknown }).id;
    if (typeof v === 'string' && v !== '') return v;
    if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  }
  return null;
}
