import { readFileSync } from 'node:fs';

/**
 * fleetsync's version, from its package.json: next to `src/` when run from the sources (tsx) and
 * one level further up when built (`dist/src/cli.js`). "unknown" when neither is readable.
 */
export function fleetsyncVersion(): string {
  for (const rel of ['../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as { name?: unknown; version?: unknown };
      if (pkg.name === 'fleetsync' && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // Not there: try the next place.
    }
  }
  return 'unknown';
}
