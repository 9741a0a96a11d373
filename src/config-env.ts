import { ConfigError, formatPath } from './config-errors.js';

// `${VAR}` substitution in a parsed config tree (sources' credentials excepted: src/secret-refs.ts).

/**
 * Replaces `${VAR}` in every string of a parsed YAML tree from `env`.
 * Substitution happens after parsing so a secret can never change the YAML structure.
 * Throws one ConfigError naming every variable that is not set, each with its key path, so a
 * first run fixes them all at once.
 */
export function substituteEnv(value: unknown, env: NodeJS.ProcessEnv, path: Array<string | number> = []): unknown {
  const missing: string[] = [];
  const out = substituteInto(value, env, path, missing);
  if (missing.length === 1) throw new ConfigError(missing[0]!);
  if (missing.length > 1) throw new ConfigError(`${missing.length} environment variables are not set (export them or put them in .env):\n${missing.map((m) => `  ${m}`).join('\n')}`);
  return out;
}

function substituteInto(value: unknown, env: NodeJS.ProcessEnv, path: Array<string | number>, missing: string[]): unknown {
  if (typeof value === 'string') {
    return value.replace(/\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (m, name: string | undefined) => {
      if (m === '$$') return '$';
      const v = name === undefined ? undefined : env[name];
      if (v === undefined) {
        missing.push(`${formatPath(path)}: environment variable ${name ?? ''} is not set`);
        return '';
      }
      return v;
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => substituteInto(v, env, [...path, i], missing));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = substituteInto(v, env, [...path, k], missing);
    return out;
  }
  return value;
}

/**
 * Runs `substitute` over the tree with every `sources[*].credentials` block left as written: a
 * source's credentials are references resolved only when its requests need them
 * (src/secret-refs.ts), so commands that only read the warehouse need no secret.
 */
export function withCredentialsKept(raw: unknown, substitute: (tree: unknown) => unknown): unknown {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return substitute(raw);
  const tree = raw as Record<string, unknown>;
  const sources = Array.isArray(tree.sources) ? tree.sources : null;
  const kept = sources?.map((s: unknown) => (s !== null && typeof s === 'object' && 'credentials' in s ? (s as { credentials: unknown }).credentials : undefined)) ?? [];
  const stripped = sources ? { ...tree, sources: sources.map((s: unknown) => (s !== null && typeof s === 'object' ? { ...(s as object), credentials: undefined } : s)) } : tree;
  const out = substitute(stripped) as Record<string, unknown>;
  if (!sources || !Array.isArray(out.sources)) return out;
  return { ...out, sources: out.sources.map((s: unknown, i) => (s !== null && typeof s === 'object' ? dropUndefined({ ...(s as object), credentials: kept[i] }) : s)) };
}

function dropUndefined(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}

