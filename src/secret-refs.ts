import { readFileSync } from 'node:fs';
import { ConfigError } from './config-errors.js';

// A source's credentials are references, resolved only when a request needs them: `${VAR}` names
// an environment variable, `${file:/path}` a file whose contents (trailing newline dropped) are the
// secret (Docker and Kubernetes secrets). `$$` is a literal `$`. Sources stored in Postgres may hold
// nothing but references, so the database never holds a secret.

const REF = /\$\$|\$\{(?:file:([^}]+)|([A-Za-z_][A-Za-z0-9_]*))\}/g;
const WHOLE_REF = /^\$\{(?:file:[^}]+|[A-Za-z_][A-Za-z0-9_]*)\}$/;

/** Whether a credential value is exactly one reference (`${VAR}` or `${file:/path}`), never a secret itself. */
export function isReference(value: string): boolean {
  return WHOLE_REF.test(value);
}

/** What resolving a source's credentials came to: the values, or what is missing (never a value). */
export type ResolvedCredentials = { ok: true; values: Record<string, string> } | { ok: false; missing: string[] };

function readSecretFile(path: string): string | null {
  try {
    return readFileSync(path, 'utf8').replace(/\r?\n$/, '');
  } catch {
    return null;
  }
}

/**
 * Resolves every reference in a source's credentials from `env` and the files named. `where`
 * prefixes each missing item (`sources[2].credentials`). Never includes a value in what it returns
 * on failure.
 */
export function resolveCredentials(creds: Readonly<Record<string, string>>, env: NodeJS.ProcessEnv, where: string): ResolvedCredentials {
  const missing: string[] = [];
  const values: Record<string, string> = {};
  for (const [key, raw] of Object.entries(creds)) {
    values[key] = raw.replace(REF, (m, file: string | undefined, name: string | undefined) => {
      if (m === '$$') return '$';
      if (file !== undefined) {
        const text = readSecretFile(file);
        if (text === null) missing.push(`${where}.${key}: secret file ${file} cannot be read`);
        return text ?? '';
      }
      const v = name === undefined ? undefined : env[name];
      if (v === undefined) missing.push(`${where}.${key}: environment variable ${name ?? ''} is not set`);
      return v ?? '';
    });
  }
  return missing.length > 0 ? { ok: false, missing } : { ok: true, values };
}

/** The message for missing credentials: one line for one, a list for several (so a first run fixes them all at once). */
export function missingMessage(missing: readonly string[]): string {
  if (missing.length === 1) return missing[0]!;
  const files = missing.some((m) => / secret file /.test(m));
  const head = files ? `${missing.length} environment variables or secret files are missing (export them, put them in .env, or mount the files)` : `${missing.length} environment variables are not set (export them or put them in .env)`;
  return `${head}:\n${missing.map((m) => `  ${m}`).join('\n')}`;
}

/** Throws one ConfigError naming every missing reference; returns when none is. */
export function throwMissing(missing: readonly string[]): void {
  if (missing.length > 0) throw new ConfigError(missingMessage(missing));
}

/** The credentials of a source stored in Postgres that are not references (their keys only, never the values). */
export function literalCredentialKeys(creds: Readonly<Record<string, string>>): string[] {
  return Object.entries(creds)
    .filter(([, v]) => !isReference(v))
    .map(([k]) => k);
}

/** One reference in a source's credentials as `fleetsync check` shows it: its name, never a value. */
export interface CredentialReference {
  /** The credential's key (`apiKey`). */
  key: string;
  /** `VAR` of `${VAR}`, the path of `${file:/path}`; null for a value written inline. */
  name: string | null;
  kind: 'env' | 'file' | 'inline';
  /** Whether it resolves here: the variable is set, the file can be read (inline: always). */
  resolves: boolean;
}

/** Every reference in a source's credentials and whether it resolves from `env` (and the files named). */
export function credentialReferences(creds: Readonly<Record<string, string>>, env: NodeJS.ProcessEnv): CredentialReference[] {
  const out: CredentialReference[] = [];
  for (const [key, raw] of Object.entries(creds)) {
    const refs = [...raw.matchAll(REF)].filter((m) => m[0] !== '$$');
    if (refs.length === 0) out.push({ key, name: null, kind: 'inline', resolves: true });
    for (const [, file, name] of refs) {
      if (file !== undefined) out.push({ key, name: file, kind: 'file', resolves: readSecretFile(file) !== null });
      else out.push({ key, name: name ?? '', kind: 'env', resolves: name !== undefined && env[name] !== undefined });
    }
  }
  return out;
}
