/** Thrown for any configuration that cannot be used; the message names the key path. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** A key path as users write it: `sources[0].credentials.apiKey`; '' for the empty path. */
export function formatKeyPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out === '' ? String(p) : `.${String(p)}`;
  return out;
}

/** A key path for a message: `(top level)` for the empty path. */
export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  return formatKeyPath(path) || '(top level)';
}

/** One ConfigError listing every problem, each on its own line. */
export function configProblems(problems: readonly string[]): ConfigError {
  return new ConfigError(`invalid configuration:\n${problems.map((p) => `  ${p}`).join('\n')}`);
}
