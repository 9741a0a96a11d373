// The database a DATABASE_URL names, read the same way everywhere. The URL's path is the name,
// percent-decoded once (`fleet%3Bprod` is `fleet;prod`, `fleet%20x` is `fleet x`). node-postgres
// decodes it with decodeURI, which leaves the escapes of `;`, `/`, `:`, `@`, `&`, `=`, `+`, `$`,
// `,`, `?` and `#` as they are: given `fleet%3Bprod` it connects to a database called
// `fleet%3Bprod`. pgConnectionString writes the path so that its decoding gives the same name.

/** The database name a postgres:// URL names: its path without the slash, percent-decoded once. Throws for a URL that does not parse. */
export function databaseNameOf(databaseUrl: string): string {
  const path = new URL(databaseUrl).pathname.replace(/^\//, '');
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}

/**
 * The URL to hand node-postgres so that it connects to databaseNameOf(databaseUrl): unchanged when
 * its own decoding agrees, else with the name written as node-postgres reads it (reserved
 * characters literal, the rest escaped). Throws when the name holds `?` or `#`, which a URL path
 * cannot carry literally and node-postgres would not decode.
 */
export function pgConnectionString(databaseUrl: string): string {
  const url = new URL(databaseUrl);
  const path = url.pathname.replace(/^\//, '');
  const name = databaseNameOf(databaseUrl);
  let pgName: string;
  try {
    pgName = decodeURI(path);
  } catch {
    pgName = path;
  }
  if (pgName === name) return databaseUrl;
  if (/[?#]/.test(name)) throw new Error(`database name ${JSON.stringify(name)} holds "?" or "#", which node-postgres cannot be given in a connection URL: choose another name`);
  url.pathname = `/${encodeURI(name)}`;
  return url.toString();
}
