/**
 * Parses `--as-of`: a date `YYYY-MM-DD` means the state at the end of that UTC day (the instant
 * just before the next midnight, as reporting.compliance_daily counts it); a full RFC 3339 time
 * with an offset or `Z` means just before that instant. Returns the instant `t` of the rule
 * "a version counts when valid_from < t and (valid_to is null or valid_to >= t)".
 * Throws an Error naming the flag for anything else, and for a date in the future.
 */
export function parseAsOf(value: string, now = new Date()): Date {
  const day = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  let t: Date;
  if (day) {
    const [y, m, d] = [Number(day[1]), Number(day[2]), Number(day[3])];
    t = new Date(Date.UTC(y, m - 1, d + 1));
    const back = new Date(Date.UTC(y, m - 1, d));
    if (back.getUTCFullYear() !== y || back.getUTCMonth() !== m - 1 || back.getUTCDate() !== d) throw new Error(`--as-of ${value}: no such date`);
  } else if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/.test(value)) {
    t = new Date(value.replace(/([+-]\d{2})(\d{2})$/, '$1:$2'));
    if (Number.isNaN(t.getTime())) throw new Error(`--as-of ${value}: not a valid time`);
  } else {
    throw new Error(`--as-of ${value}: expected a date YYYY-MM-DD (end of that UTC day) or a time like 2026-11-01T12:00:00Z`);
  }
  if (t.getTime() - (day ? 86_400_000 : 0) > now.getTime()) throw new Error(`--as-of ${value}: is in the future`);
  return t;
}
