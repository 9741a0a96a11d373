import { hash } from 'node:crypto';
import { CLOSE_BRACE, CLOSE_BRACKET, COMMA, OPEN_BRACKET, QUOTE } from '../json-chars.js';

// A page's rows as the one jsonb parameter of its upsert statement (src/warehouse/page-statements.ts),
// in Postgres's binary jsonb format, each record hashed from its own bytes. Nothing here knows SQL.

/** One normalized record ready to land. */
export interface RowToUpsert {
  externalId: string;
  scope: string;
  columns: Record<string, unknown>;
  raw: unknown;
  /** The JSON text `raw` was parsed from (src/sync/record-texts.ts): sent as it is instead of serializing `raw`. */
  rawText?: string;
}

/**
 * The hash of one payload record's JSON text (its scope, normalized columns and raw): an md5 in
 * 32 hex digits, a form Postgres's uuid input takes as it is, so 16 bytes are compared instead of
 * the whole row. It only detects change; it secures nothing. The text may be given as its UTF-8
 * bytes: the hash is the same.
 */
export function rowHash(recordJson: string | Uint8Array): string {
  return hash('md5', recordJson, 'hex');
}

/** One row of a PagePayload: its id, its rowHash, and where its JSON text (row_hash included) lies in the payload's bytes. */
export interface PayloadRecord {
  id: string;
  hash: string;
  /** Byte offset of the record's text in PagePayload.bytes. */
  start: number;
  /** Byte offset just past it. */
  end: number;
}

/**
 * A page's rows as the upsert's jsonb parameter, in Postgres's binary jsonb format (a version
 * byte, then the text of a JSON array of the records), with each record's place in it.
 */
export interface PagePayload {
  bytes: Buffer;
  records: PayloadRecord[];
}

/** jsonb's binary input format: this version byte, then the JSON text. */
const JSONB_VERSION = 1;
const HASH_KEY = Buffer.from(',"row_hash":"', 'latin1');
const RAW_KEY = Buffer.from(',"raw":', 'latin1');

/**
 * The payload of a page's rows, in order. Takes ownership of each row's `columns` object: it
 * becomes the record (external_id, scope and raw are added to it; a row's `rawText` goes in as
 * its raw, as it is).
 * Each record is serialized once and encoded to UTF-8 once, straight into the one buffer that
 * goes to Postgres, and hashed from those bytes: a string per record, its re-encoding by the
 * hash, a joined page string and its re-encoding by the driver cost ~5 ms of worker CPU a page of
 * 500 devices more (scratch measure, 16.4 against 11.3 ms per page).
 */
export function payloadRecords(rows: readonly RowToUpsert[]): PagePayload {
  // The columns objects become the payload records in place: a spread copy per row cost ~3% of
  // the worker's CPU at a million rows. A row with its raw text gets that text after its other
  // keys (`,"raw":` and the text, over the closing brace): its raw is not serialized again.
  const texts = rows.map((r) => {
    const rec = r.columns;
    rec.external_id = r.externalId;
    rec.scope = r.scope;
    if (r.rawText === undefined) rec.raw = r.raw;
    return JSON.stringify(rec);
  });
  // Each record grows by `,"row_hash":"<32 hex digits>"` and the comma after it: ASCII, 47 bytes.
  const EXTRA = HASH_KEY.length + 32 + 1 + 1;
  let size = 3;
  for (let i = 0; i < texts.length; i++) size += texts[i]!.length + EXTRA + (rows[i]!.rawText?.length ?? 0) + RAW_KEY.length;
  // As many bytes as characters while the text is ASCII; more room is made when it is not.
  let bytes = Buffer.allocUnsafe(size);
  bytes[0] = JSONB_VERSION;
  bytes[1] = OPEN_BRACKET;
  let at = 2;
  const records: PayloadRecord[] = new Array(rows.length);
  for (let i = 0; i < texts.length; i++) {
    const text = texts[i]!;
    const rawText = rows[i]!.rawText;
    const chars = text.length + (rawText === undefined ? 0 : rawText.length + RAW_KEY.length);
    // A character takes at most 3 bytes: count the exact bytes only when that worst case does not fit.
    if (bytes.length - at < chars * 3 + EXTRA) {
      const need = Buffer.byteLength(text) + (rawText === undefined ? 0 : Buffer.byteLength(rawText) + RAW_KEY.length) + EXTRA;
      if (bytes.length - at < need) {
        const grown = Buffer.allocUnsafe(Math.max(bytes.length * 2, at + need + 1));
        bytes.copy(grown, 0, 0, at);
        bytes = grown;
      }
    }
    const start = at;
    at += bytes.write(text, at);
    if (rawText !== undefined) {
      at--;
      for (let k = 0; k < RAW_KEY.length; k++) bytes[at++] = RAW_KEY[k]!;
      at += bytes.write(rawText, at);
      bytes[at++] = CLOSE_BRACE;
    }
    const h = rowHash(bytes.subarray(start, at));
    // The record's text is an object: its hash goes in as one more key, over its closing brace.
    // Byte by byte: a Buffer.write per record for so few bytes cost more than the loop.
    at--;
    for (let k = 0; k < HASH_KEY.length; k++) bytes[at++] = HASH_KEY[k]!;
    for (let k = 0; k < 32; k++) bytes[at++] = h.charCodeAt(k);
    bytes[at++] = QUOTE;
    bytes[at++] = CLOSE_BRACE;
    records[i] = { id: rows[i]!.externalId, hash: h, start, end: at };
    bytes[at++] = COMMA;
  }
  // The last comma becomes the closing bracket; an empty page gets one after its opening one.
  if (records.length === 0) at++;
  bytes[at - 1] = CLOSE_BRACKET;
  return { bytes: bytes.subarray(0, at), records };
}

/**
 * The jsonb parameter (binary format) of some of a payload's records, in the order given; for all
 * of them, the payload's own bytes without a copy.
 */
export function payloadOf(payload: PagePayload, records: readonly PayloadRecord[]): Buffer {
  if (records.length === payload.records.length) return payload.bytes;
  const parts: Buffer[] = [Buffer.from([JSONB_VERSION, OPEN_BRACKET])];
  const comma = Buffer.from([COMMA]);
  records.forEach((r, i) => {
    if (i > 0) parts.push(comma);
    parts.push(payload.bytes.subarray(r.start, r.end));
  });
  parts.push(Buffer.from([CLOSE_BRACKET]));
  return Buffer.concat(parts);
}
