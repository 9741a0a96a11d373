import { formatKeyPath } from '../config.js';
import type { ResourceDefinition } from '../connector.js';
import { boundedJson, idText, MAX_RECORD_DEPTH, repairJson, storableText } from '../normalize.js';
import { atPath } from '../pagination/body.js';
import type { RecordText } from './record-texts.js';
import type { RowToUpsert } from '../warehouse/payload.js';

/** How much of a quarantined record's text is kept (characters). */
export const MAX_QUARANTINE_TEXT = 64 * 1024;

/** A record that could not be normalized, with the reason that names where it came from. */
export interface QuarantinedRecord {
  /** The record's id when it has a usable one; null: the record is unidentified. */
  external_id: string | null;
  reason: string;
  /** Key path of the field at fault ("id", "custom_attributes.a.a"), null when no one field is. */
  field: string | null;
  /** The whole record as JSON text for the jsonb column, or null when it is cut or too deep to store. */
  raw: string | null;
  /** The record as JSON text, cut to MAX_QUARANTINE_TEXT characters. */
  raw_text: string;
}

/** What one page's records become before they are committed. */
export interface NormalizedPage {
  /** Rows to upsert, one per external id (a later duplicate wins). */
  rows: RowToUpsert[];
  /** Every id the page showed, quarantined records with a readable id included. */
  seen: string[];
  quarantine: QuarantinedRecord[];
  /** Records that needed a repair (NUL stripped, lone surrogates replaced). */
  repaired: number;
  /** Quarantined records without a usable id: nothing tells which row they stand for. */
  unidentified: number;
  /** Records whose id an earlier record of the same page already had. */
  duplicates: number;
  /** Largest update time on the page in epoch ms (the walk's high-water mark), or null. */
  markMs: number | null;
}

/** Where a page's records come from: the source, the walk's scope and the page's `where` text. */
export interface NormalizeContext {
  sourceId: string;
  scope: string;
  where: string;
}

/** Why a value cannot be an id, for the quarantine reason. */
function idProblem(v: unknown): string {
  if (v === undefined || v === null) return 'is missing';
  if (v === '') return 'is empty';
  if (Array.isArray(v)) return 'is an array, expected a string or number';
  if (typeof v === 'object') return 'is an object, expected a string or number';
  return `is a ${typeof v}, expected a string or number`;
}

/** The field path of a cut key path: at most 300 characters, so a 5,000-deep path stays a name. */
function fieldName(path: ReadonlyArray<string | number>): string {
  const f = formatKeyPath(path) || '(record)';
  return f.length > 300 ? `${f.slice(0, 300)}…` : f;
}

/**
 * Validates and maps one page's records for a resource. Pure: never throws for a bad record
 * (it is quarantined with the reason, prefixed by `ctx.where`, and the field at fault), never
 * does I/O, and never recurses deeper than MAX_RECORD_DEPTH over a record, so a record nested
 * 5,000 deep costs only itself. Repairs (NUL, lone surrogates) are counted, not quarantined.
 * `texts`, when given, holds each record's original JSON text (recordTexts): a row keeps it as
 * `rawText` unless its record needed a repair, and a plain one is not looked through for repairs.
 */
export function normalizePage(def: ResourceDefinition, records: readonly unknown[], ctx: NormalizeContext, texts: readonly RecordText[] | null = null): NormalizedPage {
  const rows = new Map<string, RowToUpsert>();
  const seen: string[] = [];
  const quarantine: QuarantinedRecord[] = [];
  let repaired = 0;
  let unidentified = 0;
  let duplicates = 0;
  let markMs = Number.NEGATIVE_INFINITY;
  const mapCtx = { sourceId: ctx.sourceId, scope: ctx.scope };
  const idField = def.idField ?? 'id';
  const hold = (raw: unknown, looseId: string | null, field: string | null, reason: string, storable: boolean) => {
    if (looseId !== null) seen.push(looseId);
    else unidentified++;
    const { text, cut } = boundedJson(raw ?? null, MAX_QUARANTINE_TEXT);
    // A too-deep record is not repaired, so a key in its field path may still hold what text refuses.
    quarantine.push({ external_id: looseId, reason: storableText(`${ctx.where}: ${reason}`), field: field === null ? null : storableText(field), raw: storable && !cut ? text : null, raw_text: text });
  };
  for (let i = 0; i < records.length; i++) {
    const own = texts?.[i];
    // A plain text says repairJson would find nothing: its walk over every string is skipped.
    const { value: raw, repairs, tooDeep } = own?.plain ? { value: records[i], repairs: 0, tooDeep: null } : repairJson(records[i]);
    let looseId = idOf(raw, idField);
    if (tooDeep !== null) {
      // The record was left as it came: its id still needs the repair the others got.
      if (looseId !== null) looseId = storableText(looseId);
      // Not storable as jsonb either (and JSON.stringify would overflow the stack on it).
      hold(raw, looseId, fieldName(tooDeep), `nested deeper than ${MAX_RECORD_DEPTH} levels at ${fieldName(tooDeep)}`, false);
      continue;
    }
    if (repairs > 0) repaired++;
    if (raw !== null && typeof raw === 'object' && !Array.isArray(raw) && looseId === null) {
      hold(raw, null, idField, `unidentified record: ${idField} ${idProblem(atPath(raw, idField))}`, true);
      continue;
    }
    const parsed = def.record.safeParse(raw);
    if (!parsed.success) {
      const issues = parsed.error.issues.slice(0, 5);
      const field = issues[0] ? formatKeyPath(issues[0].path) || null : null;
      hold(raw, looseId, field, `invalid record: ${issues.map((i) => `${formatKeyPath(i.path) || '(record)'}: ${i.message}`).join('; ')}`, true);
      continue;
    }
    try {
      const externalId = def.id(parsed.data, mapCtx);
      if (typeof externalId !== 'string' || externalId === '') throw new Error(`the id ${JSON.stringify(externalId)} is not a non-empty string`);
      const columns = def.map(parsed.data, mapCtx);
      if (rows.has(externalId)) duplicates++;
      // A repaired record is stored as repaired: its original text holds what Postgres refuses.
      const rawText = repairs === 0 ? own?.text : undefined;
      rows.set(externalId, rawText === undefined ? { externalId, scope: ctx.scope, columns, raw } : { externalId, scope: ctx.scope, columns, raw, rawText });
      seen.push(externalId);
      const updatedAt = def.incremental?.updatedAt(parsed.data);
      const t = updatedAt ? Date.parse(updatedAt) : Number.NaN;
      if (t > markMs) markMs = t;
    } catch (err) {
      hold(raw, looseId, null, `cannot normalize: ${(err as Error).message}`, true);
    }
  }
  return { rows: [...rows.values()], seen, quarantine, repaired, unidentified, duplicates, markMs: Number.isFinite(markMs) ? markMs : null };
}

/** The id of a record that failed validation, when it has a usable one at `idField` (default "id"); null otherwise. */
export function idOf(raw: unknown, idField = 'id'): string | null {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return null;
  return idText(atPath(raw, idField));
}
