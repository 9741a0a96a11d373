/**
 * The fields of a log line as a terminal shows them: `key=value` pairs on the line of the message,
 * `source=automox-prod runId=2 resource=devices scope=10001 rows=40`, instead of one JSON blob.
 * Pure.
 */

/** Keys the pretty line shows elsewhere (time, level, message) or never (process details). */
const SHOWN_ELSEWHERE = new Set(['level', 'time', 'pid', 'hostname', 'name', 'msg']);

// Fields an operator correlates by, first in this order; the others follow as logged.
const FIRST = ['source', 'runId', 'resource', 'scope', 'page', 'lane', 'status'];

/** One value: plain when it is a word, a quoted JSON string when it has spaces, quotes or newlines; lists comma-joined; errors as `Type: message`. */
export function valueText(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'string') return /^[^\s"=\\]+$/.test(v) ? v : JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  if (Array.isArray(v) && v.every((x) => typeof x === 'string' || typeof x === 'number')) return valueText(v.join(','));
  if (v !== null && typeof v === 'object' && typeof (v as { message?: unknown }).message === 'string') {
    const e = v as { type?: unknown; message: string };
    return valueText(typeof e.type === 'string' && e.type !== 'Error' ? `${e.type}: ${e.message}` : e.message);
  }
  return JSON.stringify(v) ?? String(v);
}

/** The line's own fields as `key=value` pairs (undefined ones left out), correlation keys first. */
export function fieldsText(log: Readonly<Record<string, unknown>>): string {
  const keys = Object.keys(log).filter((k) => !SHOWN_ELSEWHERE.has(k) && log[k] !== undefined);
  const ordered = [...FIRST.filter((k) => keys.includes(k)), ...keys.filter((k) => !FIRST.includes(k))];
  return ordered.map((k) => `${k}=${valueText(log[k])}`).join(' ');
}
