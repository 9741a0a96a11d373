/**
 * Parses a vendor timestamp into ISO 8601 UTC, or null when absent or unparseable.
 * Accepts RFC 3339, offsets without a colon (`2025-01-22T22:18:21+0000`, Automox), compact
 * forms (`20161130T162512Z`, Izuma filters) and unix seconds or milliseconds as numbers.
 * Never throws: a bad time must not cost the record.
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
  const compact = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(\.\d+)?Z$/.exec(s);
  if (compact) s = `${compact[1]}-${compact[2]}-${compact[3]}T${compact[4]}:${compact[5]}:${compact[6]}${compact[7] ?? ''}Z`;
  // "+0000" -> "+00:00" so every engine parses it the same way.
  s = s.replace(/([+-]\d{2})(\d{2})$/, '$1:$2');
  // A space instead of the T is common in vendor payloads.
  s = s.replace(/^(\d{4}-\d{2}-\d{2}) (\d)/, '$1T$2');
  const d = new Date(s);
  return Number.isNaN(d.getTime()) ? null : d.toISOString();
}

const DIGIT_0 = 48;
const DIGIT_9 = 57;

function isDigitAt(s: string, i: number): boolean {
  const c = s.charCodeAt(i);
  return c >= DIGIT_0 && c <= DIGIT_9;
}

/** ISO string for `YYYY-MM-DDTHH:MM:SS[.fff](Z|±HH:MM|±HHMM)`, null if such a string is no date, undefined for any other shape. */
function rfc3339Fast(s: string): string | null | undefined {
  const n = s.length;
  if (n < 20 || s.charCodeAt(4) !== 45 || s.charCodeAt(7) !== 45 || s.charCodeAt(10) !== 84 || s.charCodeAt(13) !== 58) return undefined;
  if (!isDigitAt(s, 0) || !isDigitAt(s, 18)) return undefined;
  let iso: string;
  const last = s.charCodeAt(n - 1);
  if (last === 90 /* Z */) iso = s;
  else if (s.charCodeAt(n - 3) === 58 && (s.charCodeAt(n - 6) === 43 || s.charCodeAt(n - 6) === 45)) iso = s;
  else if ((s.charCodeAt(n - 5) === 43 || s.charCodeAt(n - 5) === 45) && isDigitAt(s, n - 4) && isDigitAt(s, n - 1)) iso = `${s.slice(0, n - 2)}:${s.slice(n - 2)}`;
  else return undefined;
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? null : new Date(ms).toISOString();
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

/**
 * Removes what Postgres text and jsonb refuse (the NUL character) from every string of a JSON value.
 * Returns the repaired value and whether anything was changed, so the caller can record why.
 */
export function stripNul(value: unknown): { value: unknown; repaired: boolean } {
  // Nearly every record is clean: look first without copying (the copying walk below was ~8% of
  // a worker's CPU in the 1M-device bench), copy only a record that needs repair.
  if (!hasNul(value)) return { value, repaired: false };
  let repaired = false;
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') {
      if (v.includes('\u0000')) {
        repaired = true;
        return v.replaceAll('\u0000', '');
      }
      return v;
    }
    if (Array.isArray(v)) return v.map(walk);
    if (v !== null && typeof v === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) {
        const key = k.includes('\u0000') ? ((repaired = true), k.replaceAll('\u0000', '')) : k;
        out[key] = walk(x);
      }
      return out;
    }
    return v;
  };
  const out = walk(value);
  return { value: repaired ? out : value, repaired };
}

/** True when any string or key of a JSON value contains a NUL character. Allocates nothing. */
function hasNul(v: unknown): boolean {
  if (typeof v === 'string') return v.includes('\u0000');
  if (v === null || typeof v !== 'object') return false;
  if (Array.isArray(v)) {
    for (const x of v) if (hasNul(x)) return true;
    return false;
  }
  for (const k in v) {
    if (!Object.prototype.hasOwnProperty.call(v, k)) continue;
    if (k.includes('\u0000') || hasNul((v as Record<string, unknown>)[k])) return true;
  }
  return false;
}
