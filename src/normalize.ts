/**
 * Parses a vendor timestamp into ISO 8601 UTC, or null when absent or unparseable.
 * Accepts RFC 3339 with or without fractions, offsets without a colon (`2025-01-22T22:18:21+0000`,
 * Automox), compact forms (`20161130T162512Z`, Izuma filters), unix seconds or milliseconds as
 * numbers or digit strings, and a date-time without any offset, which is taken as UTC (never the
 * machine's zone). Never throws: a bad time must not cost the record.
 */
export function toTimestamp(value: unknown): string | null {
  if (value === null || value === undefined || value === '') return null;
  if (typeof value === 'number' && Number.isFinite(value)) {
    const ms = value < 1e11 ? value * 1000 : value;
    return new Date(ms).toISOString();
  }
  if (typeof value !== 'string') return null;
  // Hot path (a few timestamps per record, a million records per sync): an RFC 3339 time with
  // a "Z" or a "+hh:mm"/"+hhmm" offset goes straight to Date, without the regexes below.
  const fast = rfc3339Fast(value);
  if (fast !== undefined) return fast;
  let s = value.trim();
  if (/^\d{9,13}(\.\d+)?$/.test(s)) return toTimestamp(Number(s));
  // Any other bare number is no time (JavaScript would read "12345" as the year 12345).
  if (/^\d+(\.\d+)?$/.test(s)) return null;
  const compact = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(\.\d+)?Z$/.exec(s);
  if (compact) s = `${compact[1]}-${compact[2]}-${compact[3]}T${compact[4]}:${compact[5]}:${compact[6]}${compact[7] ?? ''}Z`;
  // "+0000" -> "+00:00" so every engine parses it the same way.
  s = s.replace(/([+-]\d{2})(\d{2})$/, '$1:$2');
  // A space instead of the T is common in vendor payloads.
  s = s.replace(/^(\d{4}-\d{2}-\d{2}) (\d)/, '$1T$2');
  // No offset: JavaScript would read the machine's local time; vendors mean UTC.
  if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(s)) s += 'Z';
  const d = new Date(s);
  return Number.isNaN(d.getTime()) ? null : d.toISOString();
}

const DIGIT_0 = 48;
const DIGIT_9 = 57;

function isDigitAt(s: string, i: number): boolean {
  const c = s.charCodeAt(i);
  return c >= DIGIT_0 && c <= DIGIT_9;
}

/** The two-digit number at `i`, or -1. */
function twoDigits(s: string, i: number): number {
  return isDigitAt(s, i) && isDigitAt(s, i + 1) ? (s.charCodeAt(i) - DIGIT_0) * 10 + s.charCodeAt(i + 1) - DIGIT_0 : -1;
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/**
 * The ISO text of a UTC time `YYYY-MM-DDTHH:MM:SS[.fff](Z|±00:00|±0000)` whose fields are all in
 * range, made from its own digits: what `new Date(Date.parse(s)).toISOString()` gives, without
 * either (they were 4-5% of a worker's CPU in a first sync, four timestamps a device). Undefined
 * for anything else (another offset, a fraction not of 3 digits, a day its month does not have,
 * hour 24, a leap second), which the Date path handles as before.
 */
function utcIsoFast(s: string): string | undefined {
  const n = s.length;
  if (s.charCodeAt(16) !== 58) return undefined;
  const century = twoDigits(s, 0);
  const yy = twoDigits(s, 2);
  const month = twoDigits(s, 5);
  const day = twoDigits(s, 8);
  if (century < 0 || yy < 0 || month < 1 || month > 12 || day < 1) return undefined;
  const year = century * 100 + yy;
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  if (day > (month === 2 && leap ? 29 : DAYS_IN_MONTH[month - 1]!)) return undefined;
  const hour = twoDigits(s, 11);
  const minute = twoDigits(s, 14);
  const second = twoDigits(s, 17);
  if (hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 59) return undefined;
  let zone = 19;
  if (s.charCodeAt(19) === 46) {
    if (!isDigitAt(s, 20) || !isDigitAt(s, 21) || !isDigitAt(s, 22)) return undefined;
    zone = 23;
  }
  const rest = n - zone;
  const sign = s.charCodeAt(zone);
  const utc =
    (rest === 1 && sign === 90) /* Z */ ||
    ((sign === 43 || sign === 45) && ((rest === 5 && s.endsWith('0000')) || (rest === 6 && s.endsWith('00:00'))));
  if (!utc) return undefined;
  if (zone === 23 && rest === 1) return s;
  return zone === 23 ? `${s.slice(0, 23)}Z` : `${s.slice(0, 19)}.000Z`;
}

/** ISO string for `YYYY-MM-DDTHH:MM:SS[.fff](Z|±HH:MM|±HHMM)`, null if such a string is no date, undefined for any other shape. */
function rfc3339Fast(s: string): string | null | undefined {
  const n = s.length;
  if (n < 20 || s.charCodeAt(4) !== 45 || s.charCodeAt(7) !== 45 || s.charCodeAt(10) !== 84 || s.charCodeAt(13) !== 58) return undefined;
  if (!isDigitAt(s, 0) || !isDigitAt(s, 18)) return undefined;
  const fast = utcIsoFast(s);
  if (fast !== undefined) return fast;
  let iso: string;
  const last = s.charCodeAt(n - 1);
  if (last === 90 /* Z */) iso = s;
  else if (s.charCodeAt(n - 3) === 58 && (s.charCodeAt(n - 6) === 43 || s.charCodeAt(n - 6) === 45)) iso = s;
  else if ((s.charCodeAt(n - 5) === 43 || s.charCodeAt(n - 5) === 45) && isDigitAt(s, n - 4) && isDigitAt(s, n - 1)) iso = `${s.slice(0, n - 2)}:${s.slice(n - 2)}`;
  else return undefined;
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? null : new Date(ms).toISOString();
}

/** An id or cursor value: a non-empty string, or a finite number as its decimal text; null otherwise. */
export function idText(v: unknown): string | null {
  if (typeof v === 'string') return v === '' ? null : v;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return null;
}

/** Text column value: strings as they are, numbers as text, anything else null. */
export function toText(value: unknown): string | null {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (typeof value === 'bigint') return value.toString();
  return null;
}

/** Integer column value, or null when the value is not a whole number within int4. */
export function toInt(value: unknown): number | null {
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  return typeof n === 'number' && Number.isInteger(n) && Math.abs(n) <= 2_147_483_647 ? n : null;
}

/** Boolean column value, or null. */
export function toBool(value: unknown): boolean | null {
  if (typeof value === 'boolean') return value;
  if (value === 'true' || value === 1) return true;
  if (value === 'false' || value === 0) return false;
  return null;
}

/** How deep a record may nest (objects and arrays, the record itself is level 1) before it is refused. */
export const MAX_RECORD_DEPTH = 64;

/** What repairJson() made of a JSON value. */
export interface JsonRepair {
  /** The repaired value (the input itself when nothing needed a repair, or when it is too deep). */
  value: unknown;
  /** Strings and keys changed: NUL stripped, lone UTF-16 surrogates replaced by U+FFFD. */
  repairs: number;
  /** Key path of the first object or array nested deeper than the limit; null when within it. */
  tooDeep: Array<string | number> | null;
}

type WellFormed = { isWellFormed(): boolean; toWellFormed(): string };

/** True when a string holds something Postgres text or jsonb refuses: NUL, or a lone surrogate. */
function needsRepair(s: string): boolean {
  // isWellFormed (Node 20) is native and allocates nothing; ES2023's lib does not declare it yet.
  return s.includes('\u0000') || !(s as unknown as WellFormed).isWellFormed();
}

function repairString(s: string): string {
  return (s.replaceAll('\u0000', '') as unknown as WellFormed).toWellFormed();
}

/** A string Postgres text accepts: NUL stripped, lone surrogates replaced by U+FFFD (the string itself when clean). */
export function storableText(s: string): string {
  return needsRepair(s) ? repairString(s) : s;
}

const DIRTY = 1;
const TOO_DEEP = 2;

/**
 * What a value needs: DIRTY (a string or key to repair), TOO_DEEP (an object or array below
 * `maxDepth`), or 0. Recurses at most `maxDepth` + 1 frames; allocates nothing.
 */
function inspect(v: unknown, depth: number, maxDepth: number): number {
  if (typeof v === 'string') return needsRepair(v) ? DIRTY : 0;
  if (v === null || typeof v !== 'object') return 0;
  if (depth > maxDepth) return TOO_DEEP;
  let found = 0;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      found |= inspect(v[i], depth + 1, maxDepth);
      if (found & TOO_DEEP) return found;
    }
    return found;
  }
  for (const k in v) {
    if (!Object.prototype.hasOwnProperty.call(v, k)) continue;
    if (needsRepair(k)) found |= DIRTY;
    found |= inspect((v as Record<string, unknown>)[k], depth + 1, maxDepth);
    if (found & TOO_DEEP) return found;
  }
  return found;
}

/** Key path of the first object or array deeper than `maxDepth` (the value is known to have one). */
function deepPath(v: unknown, depth: number, maxDepth: number, path: Array<string | number>): boolean {
  if (v === null || typeof v !== 'object') return false;
  if (depth > maxDepth) return true;
  const entries: Array<[string | number, unknown]> = Array.isArray(v) ? v.map((x, i) => [i, x]) : Object.entries(v);
  for (const [k, x] of entries) {
    path.push(k);
    if (deepPath(x, depth + 1, maxDepth, path)) return true;
    path.pop();
  }
  return false;
}

/**
 * Makes a JSON value storable: strips NUL and replaces lone UTF-16 surrogates by U+FFFD in
 * every string and key, and finds the first place it nests deeper than `maxDepth`. Never
 * recurses deeper than `maxDepth` + 1 frames, so a 5,000-deep value costs only its own check
 * (it is reported, not repaired). Copies only a value that needs a repair. Never throws for a
 * value from JSON.parse.
 */
export function repairJson(value: unknown, maxDepth = MAX_RECORD_DEPTH): JsonRepair {
  // Nearly every record is clean: look first without copying (a copying walk was ~8% of a
  // worker's CPU in the 1M-device bench), copy only a record that needs a repair.
  const found = inspect(value, 1, maxDepth);
  if (found & TOO_DEEP) {
    const path: Array<string | number> = [];
    deepPath(value, 1, maxDepth, path);
    return { value, repairs: 0, tooDeep: path };
  }
  if (found === 0) return { value, repairs: 0, tooDeep: null };
  let repairs = 0;
  const fix = (s: string): string => {
    if (!needsRepair(s)) return s;
    repairs++;
    return repairString(s);
  };
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') return fix(v);
    if (Array.isArray(v)) return v.map(walk);
    if (v !== null && typeof v === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) out[fix(k)] = walk(x);
      return out;
    }
    return v;
  };
  const out = walk(value);
  return { value: out, repairs, tooDeep: null };
}

/**
 * Removes what Postgres text and jsonb refuse (NUL, lone UTF-16 surrogates) from every string and
 * key of a JSON value. Returns the repaired value and whether anything was changed. A value
 * nested deeper than MAX_RECORD_DEPTH is returned as it is (see repairJson for the depth check).
 */
export function stripNul(value: unknown): { value: unknown; repaired: boolean } {
  const r = repairJson(value);
  return { value: r.value, repaired: r.repairs > 0 };
}

/**
 * JSON text of a value, at most `maxChars` characters (cut mid-value when longer), without
 * recursion: a value too deep for JSON.stringify still gets its text. Strings are escaped as
 * JSON.stringify escapes them; `undefined`, functions and symbols behave as in JSON.stringify
 * (dropped from objects, null in arrays). Never throws for a value from JSON.parse.
 */
export function boundedJson(value: unknown, maxChars = Number.POSITIVE_INFINITY): { text: string; cut: boolean } {
  const parts: string[] = [];
  let size = 0;
  const emit = (s: string): boolean => {
    parts.push(s);
    size += s.length;
    return size < maxChars;
  };
  const scalar = (v: unknown): string | undefined => {
    if (v === null) return 'null';
    if (typeof v === 'string') return JSON.stringify(v);
    if (typeof v === 'number') return Number.isFinite(v) ? String(v) : 'null';
    if (typeof v === 'boolean') return v ? 'true' : 'false';
    if (typeof v === 'bigint') return v.toString();
    return undefined;
  };
  // A frame is an open object or array with its remaining entries; text pieces are pushed as the
  // stack unwinds, so the output order is JSON.stringify's.
  type Frame = { close: string; entries: Array<[string | null, unknown]>; i: number };
  const open = (v: object): Frame | string => {
    if (Array.isArray(v)) return { close: ']', entries: v.map((x) => [null, x] as [null, unknown]), i: 0 };
    const entries: Array<[string, unknown]> = [];
    for (const k of Object.keys(v)) {
      const x = (v as Record<string, unknown>)[k];
      if (x === undefined || typeof x === 'function' || typeof x === 'symbol') continue;
      entries.push([k, x]);
    }
    return { close: '}', entries, i: 0 };
  };
  const start = (v: unknown, stack: Frame[]): boolean => {
    const s = scalar(v);
    if (s !== undefined) return emit(s);
    if (v !== null && typeof v === 'object') {
      const f = open(v) as Frame;
      stack.push(f);
      return emit(f.close === ']' ? '[' : '{');
    }
    return emit('null');
  };
  const stack: Frame[] = [];
  let going = start(value, stack);
  while (going && stack.length > 0) {
    const f = stack[stack.length - 1]!;
    if (f.i >= f.entries.length) {
      stack.pop();
      going = emit(f.close);
      continue;
    }
    const [k, x] = f.entries[f.i]!;
    if (f.i > 0) going = emit(',');
    f.i++;
    if (going && k !== null) going = emit(`${JSON.stringify(k)}:`);
    if (going) going = start(x, stack);
  }
  const text = parts.join('');
  const cut = text.length > maxChars || stack.length > 0;
  return { text: text.length > maxChars ? text.slice(0, maxChars) : text, cut };
}
