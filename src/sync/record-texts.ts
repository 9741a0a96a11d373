import { bodyTextOf } from '../http/body-text.js';
import { BACKSLASH, CLOSE_BRACE, CLOSE_BRACKET, COLON, COMMA, OPEN_BRACE, OPEN_BRACKET, QUOTE } from '../json-chars.js';
import { MAX_RECORD_DEPTH } from '../normalize.js';

// Each record's original JSON text, cut from the page's body text. A record's `raw` is stored from
// that text instead of JSON.stringify of the parsed record: serializing every record again was
// ~15% of the worker's CPU in a first sync (profile), and the text keeps what a JS number cannot
// (an integer above 2^53, 1.0 written as such). Any doubt means no texts, and the page is
// serialized from its parsed records as before: a body not parsed by the HTTP client, records that
// are not an array of the body itself (a style that flattens or filters them), or text the scan
// does not read as the parsed value.

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

function skipSpace(t: string, i: number): number {
  while (i < t.length && isSpace(t.charCodeAt(i))) i++;
  return i;
}

/** Index just past the string whose opening quote is at `i`; -1 when it does not end. */
function stringEnd(t: string, i: number): number {
  let from = i + 1;
  for (;;) {
    const q = t.indexOf('"', from);
    if (q < 0) return -1;
    let k = q - 1;
    while (t.charCodeAt(k) === BACKSLASH) k--;
    // An even run of backslashes before the quote escapes only itself.
    if ((q - 1 - k) % 2 === 0) return q + 1;
    from = q + 1;
  }
}

/**
 * Index just past the JSON value that starts at `i`; -1 when it is cut off. `deepest[0]` gets how
 * many objects and arrays deep the value nests (0 for a string, number or literal).
 */
function valueEnd(t: string, i: number, deepest: Int32Array): number {
  deepest[0] = 0;
  const c = t.charCodeAt(i);
  if (c === QUOTE) return stringEnd(t, i);
  if (c === OPEN_BRACE || c === OPEN_BRACKET) {
    let depth = 0;
    let j = i;
    while (j < t.length) {
      const d = t.charCodeAt(j);
      if (d === QUOTE) {
        j = stringEnd(t, j);
        if (j < 0) return -1;
        continue;
      }
      if (d === OPEN_BRACE || d === OPEN_BRACKET) {
        depth++;
        if (depth > deepest[0]!) deepest[0] = depth;
      } else if (d === CLOSE_BRACE || d === CLOSE_BRACKET) {
        depth--;
        if (depth === 0) return j + 1;
      }
      j++;
    }
    return -1;
  }
  // A number, true, false or null runs to the next delimiter.
  let j = i;
  while (j < t.length) {
    const d = t.charCodeAt(j);
    if (d === COMMA || d === CLOSE_BRACE || d === CLOSE_BRACKET || isSpace(d)) break;
    j++;
  }
  return j > i ? j : -1;
}

/**
 * Start, end and nesting depth (valueEnd) of each element of the array at `i`, in triples, and
 * the index just past the array; null when there is none.
 */
function elementSpans(t: string, i: number): { spans: number[]; end: number } | null {
  if (t.charCodeAt(i) !== OPEN_BRACKET) return null;
  const spans: number[] = [];
  const deepest = new Int32Array(1);
  let j = skipSpace(t, i + 1);
  if (t.charCodeAt(j) === CLOSE_BRACKET) return { spans, end: j + 1 };
  for (;;) {
    const end = valueEnd(t, j, deepest);
    if (end < 0) return null;
    spans.push(j, end, deepest[0]!);
    j = skipSpace(t, end);
    const c = t.charCodeAt(j);
    if (c === CLOSE_BRACKET) return { spans, end: j + 1 };
    if (c !== COMMA) return null;
    j = skipSpace(t, j + 1);
  }
}

/**
 * Element spans of the array at key path `path` below the value at `i`. A key given twice counts
 * by its last occurrence, as JSON.parse reads it.
 */
function spansAt(t: string, i: number, path: readonly string[]): { spans: number[]; end: number } | null {
  if (path.length === 0) return elementSpans(t, i);
  if (t.charCodeAt(i) !== OPEN_BRACE) return null;
  let found: { spans: number[]; end: number } | null = null;
  const deepest = new Int32Array(1);
  let j = skipSpace(t, i + 1);
  if (t.charCodeAt(j) === CLOSE_BRACE) return null;
  for (;;) {
    if (t.charCodeAt(j) !== QUOTE) return null;
    const keyEnd = stringEnd(t, j);
    if (keyEnd < 0) return null;
    const raw = t.slice(j + 1, keyEnd - 1);
    const key = raw.includes('\\') ? (JSON.parse(t.slice(j, keyEnd)) as string) : raw;
    j = skipSpace(t, keyEnd);
    if (t.charCodeAt(j) !== COLON) return null;
    j = skipSpace(t, j + 1);
    let end: number;
    if (key === path[0]) {
      found = spansAt(t, j, path.slice(1));
      end = found === null ? valueEnd(t, j, deepest) : found.end;
    } else end = valueEnd(t, j, deepest);
    if (end < 0) return null;
    j = skipSpace(t, end);
    const c = t.charCodeAt(j);
    if (c === CLOSE_BRACE) return found === null ? null : { spans: found.spans, end: j + 1 };
    if (c !== COMMA) return null;
    j = skipSpace(t, j + 1);
  }
}

/**
 * The JSON text of each element of the array at key path `path` of the JSON text `text` ([] for
 * the text itself), as triples: [start, end) offsets and how many objects and arrays deep the
 * element nests; null when there is no such array or the text is cut off. Assumes text that
 * JSON.parse accepted.
 */
export function arrayElementSpans(text: string, path: readonly string[]): number[] | null {
  return spansAt(text, skipSpace(text, 0), path)?.spans ?? null;
}

/** The key path (at most two keys deep) at which `body` holds the very array `records`; null when it holds none. */
export function pathOfRecords(body: unknown, records: readonly unknown[]): string[] | null {
  if (body === records) return [];
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return null;
  const top = body as Record<string, unknown>;
  for (const k of Object.keys(top)) if (top[k] === records) return [k];
  for (const k of Object.keys(top)) {
    const v = top[k];
    if (v === null || typeof v !== 'object' || Array.isArray(v)) continue;
    const inner = v as Record<string, unknown>;
    for (const k2 of Object.keys(inner)) if (inner[k2] === records) return [k, k2];
  }
  return null;
}

/** One record's original JSON text, and whether it is plain: nothing in it needs repairJson. */
export interface RecordText {
  text: string;
  /**
   * Nested at most MAX_RECORD_DEPTH deep, and no escape that could stand for what Postgres
   * refuses (`\u0000`, a UTF-16 surrogate): repairJson would find nothing (a decoded body holds no
   * NUL or lone surrogate but through an escape). False only means "look".
   */
  plain: boolean;
}

/** An escape that may stand for NUL or half of a surrogate pair; a false alarm only costs a look. */
const MAY_NEED_REPAIR = /\\u(?:0000|[dD][89a-fA-F])/;

/**
 * The original JSON text of each of `records`, in order, when they are the array the HTTP client
 * parsed `body` from (bodyTextOf) holds; null otherwise. The i-th text is the text record i was
 * parsed from.
 */
export function recordTexts(body: unknown, records: readonly unknown[]): RecordText[] | null {
  const text = bodyTextOf(body);
  if (text === undefined || records.length === 0) return null;
  const path = pathOfRecords(body, records);
  if (path === null) return null;
  const spans = arrayElementSpans(text, path);
  if (spans === null || spans.length !== 3 * records.length) return null;
  const out = new Array<RecordText>(records.length);
  for (let i = 0; i < records.length; i++) {
    const own = text.slice(spans[3 * i]!, spans[3 * i + 1]!);
    out[i] = { text: own, plain: spans[3 * i + 2]! <= MAX_RECORD_DEPTH && !MAY_NEED_REPAIR.test(own) };
  }
  return out;
}
