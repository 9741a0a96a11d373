// What a Postgres error means for the page that met it, by its SQLSTATE class (docs/design.md,
// Errors are classified once): integrity (23) and data (22) errors never change on a retry, so
// the page fails at once, naming the record when Postgres says which; out of resources (53)
// passes once something is freed, so the page keeps retrying with what to free. Connection
// classes (08, 57P0x) are not classified here: src/infra-errors.ts names them. Pure.

/** A Postgres error of a class the page job treats apart from "retry". */
export type PostgresErrorClass =
  /** 23 integrity or 22 data: permanent for this page. `record`: the external id it names, when it names one. */
  | { kind: 'integrity' | 'data'; sqlstate: string; record: string | null; text: string }
  /** 53 insufficient resources: `free` says what to free. */
  | { kind: 'resources'; sqlstate: string; free: string; text: string };

/** What to free for each out-of-resources SQLSTATE; the class default for others. */
const FREE: Readonly<Record<string, string>> = {
  '53100': "free disk space on the Postgres server (its data directory and WAL volume); the page is retried until it fits",
  '53200': 'free memory on the Postgres server (fewer connections, a lower work_mem); the page is retried',
  '53300': 'free connections on the Postgres server (close idle clients, or raise max_connections); the page is retried',
  '53400': 'raise the Postgres limit the message names, or free what counts against it; the page is retried',
};

function field(err: unknown, name: string): string | null {
  if (err === null || typeof err !== 'object' || !(name in err)) return null;
  const v = (err as Record<string, unknown>)[name];
  return typeof v === 'string' && v !== '' ? v : null;
}

/**
 * The external id an integrity error's detail names, for a row of a table whose first two
 * columns are (source_id, external_id), as every data table and its history are:
 * `Key (source_id, external_id)=(s, 42) already exists.` or `Failing row contains (s, 42, ...)`.
 * Null when the detail names none.
 */
export function recordOf(detail: string | null): string | null {
  if (detail === null) return null;
  const key = /^Key \(([^)]*)\)=\((.*)\) (?:already exists|is not present|conflicts)/.exec(detail);
  if (key) {
    const cols = key[1]!.split(', ');
    const at = cols.indexOf('external_id');
    const values = key[2]!.split(', ');
    return at >= 0 && values.length === cols.length ? values[at]! : null;
  }
  const row = /^Failing row contains \(([^,]*), ([^,)]*)[,)]/.exec(detail);
  return row?.[2] ?? null;
}

/**
 * Classifies an error by its SQLSTATE: class 23 integrity, 22 data, 53 resources; null for any
 * other error (connection classes, serialization failures, anything not from Postgres), which
 * keeps the page job's default handling. Never throws.
 */
export function classifyPostgresError(err: unknown): PostgresErrorClass | null {
  const code = field(err, 'code');
  if (code === null || !/^(22|23|53)[0-9A-Z]{3}$/.test(code) || field(err, 'severity') === null) return null;
  const message = field(err, 'message') ?? 'error';
  const table = field(err, 'table');
  const column = field(err, 'column');
  const on = [table ? `table ${table}` : null, column ? `column ${column}` : null].filter((x) => x !== null).join(', ');
  const text = `${message}${on ? ` (${on})` : ''} [SQLSTATE ${code}]`;
  if (code.startsWith('53')) return { kind: 'resources', sqlstate: code, free: FREE[code] ?? 'free resources on the Postgres server; the page is retried', text };
  const record = table !== null && /^[a-z_]+$/.test(table) ? recordOf(field(err, 'detail')) : null;
  return { kind: code.startsWith('23') ? 'integrity' : 'data', sqlstate: code, record, text };
}

/** The message a page's Postgres error ends or retries it with, after "<where>: ". */
export function postgresErrorMessage(c: PostgresErrorClass): string {
  if (c.kind === 'resources') return `Postgres is out of resources: ${c.text}; ${c.free}`;
  const what = c.record !== null ? `record ${c.record}` : 'a record of this page';
  return `Postgres refused ${what}: ${c.text}; ${c.kind === 'integrity' ? 'an integrity' : 'a data'} error is not retried`;
}
