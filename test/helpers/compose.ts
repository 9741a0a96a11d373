import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';

/**
 * docker-compose.yml and the Dockerfile read the way Docker reads them, as far as fleetsync's
 * files use them: `${VAR}`, `${VAR:?message}`, `${VAR:-default}` and `$$` interpolation from the
 * project's .env, YAML merge keys, a service's entrypoint (else the image's) plus its command, and
 * its environment (the image's ENV, then env_file, then `environment`, each winning over the one
 * before). Docker does not run here; the tests run these as processes.
 */

/** What compose says when a `${VAR:?message}` is unset or empty. */
export class ComposeInterpolationError extends Error {}

/** Interpolates one string the way compose does for the forms the file uses. */
export function interpolate(text: string, vars: Readonly<Record<string, string>>): string {
  return text.replace(/\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:\?|:-)([^}]*))?\}/g, (whole, name: string | undefined, op: string | undefined, arg: string | undefined) => {
    if (whole === '$$') return '$';
    const value = vars[name!];
    if (op === ':?' && (value === undefined || value === '')) throw new ComposeInterpolationError(`required variable ${name} is missing a value: ${arg}`);
    if (op === ':-' && (value === undefined || value === '')) return arg ?? '';
    return value ?? '';
  });
}

function interpolateAll(node: unknown, vars: Readonly<Record<string, string>>): unknown {
  if (typeof node === 'string') return interpolate(node, vars);
  if (Array.isArray(node)) return node.map((n) => interpolateAll(n, vars));
  if (node !== null && typeof node === 'object') return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, interpolateAll(v, vars)]));
  return node;
}

/** `NAME=value` lines of an env file (compose's format: no export, `#` comments, no quotes used here). */
export function parseEnvFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (m) out[m[1]!] = m[2]!.trim();
  }
  return out;
}

/** One service as compose would start it. */
export interface ComposeService {
  /** Entrypoint then command: what the container runs. */
  argv: string[];
  /** The entrypoint alone (`docker compose run SERVICE ARGS` replaces only the command). */
  entrypoint: string[];
  environment: Record<string, string>;
  envFiles: string[];
  healthcheck: { test: string[]; startPeriodSeconds: number };
  /** Bind mounts: target in the container to the absolute source on the host. */
  binds: Record<string, string>;
}

interface RawService {
  entrypoint?: string[];
  command?: string[];
  environment?: Record<string, string | number>;
  env_file?: string | string[];
  healthcheck?: { test: string[]; start_period?: string };
  volumes?: Array<{ type?: string; source: string; target: string } | string>;
}

/** The image's ENTRYPOINT (exec form) and ENV of the Dockerfile's last stage. */
export function readDockerfile(path: string): { entrypoint: string[]; env: Record<string, string> } {
  const text = readFileSync(path, 'utf8');
  const lastStage = text.slice(text.lastIndexOf('\nFROM '));
  const ep = /^ENTRYPOINT (\[.*\])$/m.exec(lastStage);
  if (!ep) throw new Error('the Dockerfile has no ENTRYPOINT in exec form');
  const env: Record<string, string> = {};
  for (const m of lastStage.matchAll(/^ENV ([A-Za-z_][A-Za-z0-9_]*)=(\S+)$/gm)) env[m[1]!] = m[2]!;
  return { entrypoint: JSON.parse(ep[1]!) as string[], env };
}

/**
 * Reads a service of `composeFile` as if the file sat in `projectDir` beside its .env: interpolated
 * with that .env, env_file and bind sources resolved there.
 */
export function readComposeService(composeFile: string, dockerfile: string, name: string, projectDir: string): ComposeService {
  const dotEnv = parseEnvFile(readFileSync(resolve(projectDir, '.env'), 'utf8'));
  const doc = parseYaml(readFileSync(composeFile, 'utf8'), { merge: true }) as { services: Record<string, RawService> };
  const raw = doc.services[name];
  if (!raw) throw new Error(`docker-compose.yml has no service ${name}`);
  const svc = interpolateAll(raw, dotEnv) as RawService;
  const image = readDockerfile(dockerfile);
  if (!svc.healthcheck) throw new Error(`service ${name} has no healthcheck`);
  const binds: Record<string, string> = {};
  for (const v of svc.volumes ?? []) if (typeof v !== 'string' && v.type === 'bind') binds[v.target] = resolve(projectDir, v.source);
  const envFiles = svc.env_file === undefined ? [] : Array.isArray(svc.env_file) ? svc.env_file : [svc.env_file];
  const environment: Record<string, string> = { ...image.env };
  for (const f of envFiles) Object.assign(environment, parseEnvFile(readFileSync(resolve(projectDir, f), 'utf8')));
  for (const [k, v] of Object.entries(svc.environment ?? {})) environment[k] = String(v);
  const entrypoint = svc.entrypoint ?? image.entrypoint;
  return {
    argv: [...entrypoint, ...(svc.command ?? [])],
    entrypoint,
    environment,
    envFiles,
    healthcheck: { test: svc.healthcheck.test, startPeriodSeconds: Number.parseInt(svc.healthcheck.start_period ?? '0', 10) },
    binds,
  };
}
