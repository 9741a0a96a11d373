import { bodyTextOf } from '../http/body-text.js';

// Each record's original JSON text, cut from the page's body text. A record's `raw` is stored from
// that text instead of JSON.stringify of the parsed record: serializing every record again was
// ~15% of the worker's CPU in a first sync (profile), and the text keeps what a JS number cannot
// (an integer above 2^53, 1.0 written as such). Any doubt means no texts, and the page is
// serialized from its parsed records as before: a body not parsed by the HTTP client, records that
// are not an array of the body itself (a style that flattens or filters them), or text the scan
// does not read as the parsed value.

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;

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

/** Index just past the JSON value that starts at `i`; -1 when it is cut off. */
function valueEnd(t: string, i: number): number {
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
      if (d === OPEN_BRACE || d === OPEN_BRACKET) depth++;
      else if (d === CLOSE_BRACE || d === CLOSE_BRACKET) {
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

/** Start and end of each element of the array at `i`, and the index just past the array; null when there is none. */
function elementSpans(t: string, i: number): { spans: number[]; end: number } | null {
  if (t.charCodeAt(i) !== OPEN_BRACKET) return null;
  const spans: number[] = [];
  let j = skipSpace(t, i + 1);
  if (t.charCodeAt(j) === CLOSE_BRACKET) return { spans, end: j + 1 };
  for (;;) {
    const end = valueEnd(t, j);
    if (end < 0) return null;
    spans.push(j, end);
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
      end = found === null ? valueEnd(t, j) : found.end;
    } else end = valueEnd(t, j);
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
 * the text itself), as [start, end) offsets in pairs; null when there is no such array or the
 * text is cut off. Assumes text that JSON.parse accepted.
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

/**
 * The original JSON text of each of `records`, in order, when they are the array the HTTP client
 * parsed `body` from (bodyTextOf) holds; null otherwise. The i-th text is the text record i was
 * parsed from.
 */
export function recordTexts(body: unknown, records: readonly unknown[]): string[] | null {
  const text = bodyTextOf(body);
  if (text === undefined || records.length === 0) return null;
  const path = pathOfRecords(body, records);
  if (path === null) return null;
  const spans = arrayElementSpans(text, path);
  if (spans === null || spans.length !== 2 * records.length) return null;
  const out = new Array<string>(records.length);
  for (let i = 0; i < records.length; i++) out[i] = text.slice(spans[2 * i]!, spans[2 * i + 1]!);
  return out;
}
