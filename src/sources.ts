import { ConfigError, DEFAULT_MAX_DELETE_SHARE, formatKeyPath, type FleetsyncConfig, type LaneLimit, type SourceConfig } from './config.js';
import { configProblems } from './config-errors.js';
import { resolveCredentials, throwMissing } from './secret-refs.js';
import type { ResourceDefinition, VendorDefinition } from './connector.js';
import { isLoopbackHost } from './http/loopback.js';
import { freshnessProblems } from './freshness.js';

/** A configured source with its vendor definition resolved and checked. Holds credentials: never log it whole. */
export interface ResolvedSource {
  id: string;
  config: SourceConfig;
  vendor: VendorDefinition;
  credentials: Record<string, string>;
  /** Resources this source syncs, by name, in the vendor's order. */
  resources: Map<string, ResourceDefinition>;
  /** Lane limits: the vendor's, with the config's overrides. */
  lanes: Map<string, LaneLimit>;
}

/** How a source's credentials are resolved: from `env` (and secret files), or not at all (commands that send no request). */
export type CredentialMode = { env: NodeJS.ProcessEnv } | 'skip';

/** What resolving one source came to: the source (null when a problem prevents it) and every problem, with key paths under `at`. */
export interface SourceResolution {
  source: ResolvedSource | null;
  problems: string[];
}

/**
 * Resolves one source against the vendor registry: unknown vendor, bad or missing credentials,
 * unknown resource or lane, page size over the vendor's maximum, plain HTTP to a remote host are
 * problems named with their key path under `at` (`sources[3]`, `source "acme"`). With
 * `credentials: 'skip'` the credentials are left unresolved (empty) and not checked.
 */
export function resolveSource(src: SourceConfig, at: string, vendors: Readonly<Record<string, VendorDefinition>>, credentials: CredentialMode): SourceResolution {
  const problems: string[] = [];
  let vendor = vendors[src.vendor];
  if (!vendor) return { source: null, problems: [`${at}.vendor: unknown vendor "${src.vendor}" (known: ${Object.keys(vendors).join(', ')})`] };
  if (vendor.fromSource) {
    // A vendor defined by this source's own configuration (`vendor: rest`).
    const built = vendor.fromSource(src);
    for (const p of built.problems) problems.push(`${at}.${p}`);
    if (!built.vendor) return { source: null, problems };
    vendor = built.vendor;
  }
  const url = new URL(src.baseUrl);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopbackHost(url.hostname))) problems.push(`${at}.baseUrl: must be https:// (plain http is only allowed to loopback)`);
  const creds = credentials === 'skip' ? { values: {} } : credentialsOf(src, vendor, at, credentials.env, problems);
  const resources = resourcesOf(src, vendor, at, problems);
  const lanes = lanesOf(src, vendor, at, problems);
  checkLimits(src, { vendor, resources, at }, problems);
  for (const p of vendor.validateSource?.(src) ?? []) problems.push(`${at}.${p}`);
  const ok = problems.length === 0 && creds !== null;
  return { source: ok ? { id: src.id, config: src, vendor, credentials: creds.values, resources, lanes } : null, problems };
}

function credentialsOf(src: SourceConfig, vendor: VendorDefinition, at: string, env: NodeJS.ProcessEnv, problems: string[]): { values: Record<string, string> } | null {
  const resolved = resolveCredentials(src.credentials, env, `${at}.credentials`);
  if (!resolved.ok) {
    problems.push(...resolved.missing);
    return null;
  }
  const parsed = vendor.credentials.safeParse(resolved.values);
  if (parsed.success) return { values: parsed.data };
  // Never echo the value: it is a secret.
  for (const issue of parsed.error.issues) problems.push(`${at}.credentials${issue.path.length ? `.${formatKeyPath(issue.path)}` : ''}: ${issue.message}`);
  return null;
}

function resourcesOf(src: SourceConfig, vendor: VendorDefinition, at: string, problems: string[]): Map<string, ResourceDefinition> {
  const known = new Map(vendor.resources.map((r) => [r.name, r]));
  const resources = new Map<string, ResourceDefinition>();
  (src.resources ?? vendor.resources.map((r) => r.name)).forEach((name, j) => {
    const def = known.get(name);
    if (!def) problems.push(`${at}.resources[${j}]: unknown resource "${name}" for vendor ${vendor.vendor} (known: ${[...known.keys()].join(', ')})`);
    else resources.set(name, def);
  });
  return resources;
}

function lanesOf(src: SourceConfig, vendor: VendorDefinition, at: string, problems: string[]): Map<string, LaneLimit> {
  const lanes = new Map<string, LaneLimit>(Object.entries(vendor.lanes));
  for (const [lane, limit] of Object.entries(src.rateLimits ?? {})) {
    if (!lanes.has(lane)) problems.push(`${at}.rateLimits.${lane}: unknown lane for vendor ${vendor.vendor} (known: ${[...lanes.keys()].join(', ')})`);
    else lanes.set(lane, limit);
  }
  return lanes;
}

function checkLimits(src: SourceConfig, of: { vendor: VendorDefinition; resources: Map<string, ResourceDefinition>; at: string }, problems: string[]): void {
  const { vendor, resources, at } = of;
  if (src.pageSize !== undefined) {
    const over = [...resources.values()].find((def) => def.pagination.kind !== 'static' && src.pageSize! > def.pagination.maxPageSize);
    if (over) problems.push(`${at}.pageSize: ${src.pageSize} is over the maximum ${over.pagination.maxPageSize} of ${vendor.vendor} ${over.name}`);
  }
  if (typeof src.maxDeleteShare === 'object') {
    const known = vendor.resources.map((r) => r.name);
    for (const name of Object.keys(src.maxDeleteShare)) {
      if (name !== 'default' && !known.includes(name)) problems.push(`${at}.maxDeleteShare.${name}: unknown resource for vendor ${vendor.vendor} (known: default, ${known.join(', ')})`);
    }
  }
  problems.push(...freshnessProblems(at, src, vendor.vendor, vendor.resources.map((r) => r.name)));
  if (src.events?.every !== undefined && !vendor.events) problems.push(`${at}.events.every: vendor ${vendor.vendor} publishes no event feed to poll`);
}

/**
 * Resolves every source of a config, credentials included. Throws one ConfigError listing each
 * problem with its key path.
 */
export function resolveSources(config: FleetsyncConfig, vendors: Readonly<Record<string, VendorDefinition>>, env: NodeJS.ProcessEnv = process.env): Map<string, ResolvedSource> {
  const out = new Map<string, ResolvedSource>();
  const problems: string[] = [];
  const missing: string[] = [];
  config.sources.forEach((src, i) => {
    const r = resolveSource(src, `sources[${i}]`, vendors, { env });
    for (const p of r.problems) (/: (environment variable|secret file) /.test(p) ? missing : problems).push(p);
    if (r.source) out.set(src.id, r.source);
  });
  if (problems.length > 0) throw configProblems(problems);
  throwMissing(missing);
  return out;
}

/**
 * Checks every source of a config without its credentials (vendor, resources, lanes, URLs), so a
 * bad config fails before anything connects even on a host without the secrets. Throws ConfigError.
 */
export function checkSources(config: FleetsyncConfig, vendors: Readonly<Record<string, VendorDefinition>>): void {
  const problems = config.sources.flatMap((src, i) => resolveSource(src, `sources[${i}]`, vendors, 'skip').problems);
  if (problems.length > 0) throw configProblems(problems);
}

/** Checks that every configured source's credentials resolve from `env` (the worker, before it connects). Throws ConfigError naming each missing one. */
export function requireCredentials(config: FleetsyncConfig, env: NodeJS.ProcessEnv): void {
  throwMissing(config.sources.flatMap((src, i) => {
    const r = resolveCredentials(src.credentials, env, `sources[${i}].credentials`);
    return r.ok ? [] : r.missing;
  }));
}

/** The sweep settings of one resource of a source: its `deletes` policy and `maxDeleteShare`. */
export function deletePolicyOf(config: SourceConfig, resource: string): { deletes: 'confirm' | 'immediate'; maxDeleteShare: number } {
  const share = config.maxDeleteShare;
  const maxDeleteShare = typeof share === 'number' ? share : share?.[resource] ?? share?.default ?? DEFAULT_MAX_DELETE_SHARE;
  return { deletes: config.deletes ?? 'confirm', maxDeleteShare };
}

/**
 * How long a lane pauses after a 429 that names no wait (no Retry-After or reset header): the
 * source's `rateLimitBackoffMs`, else the vendor's documented backoff, else a minute.
 */
export function rateLimitBackoffOf(src: ResolvedSource): number {
  return src.config.rateLimitBackoffMs ?? src.vendor.rateLimitBackoffMs ?? 60_000;
}

/**
 * Expands requested resource names with the parents they are nested under, in the vendor's order.
 * Throws ConfigError for a name the source does not sync.
 */
export function expandResources(source: ResolvedSource, requested?: readonly string[]): string[] {
  const all = source.vendor.resources.map((r) => r.name);
  const base = requested && requested.length > 0 ? requested : [...source.resources.keys()];
  const want = new Set<string>();
  const add = (name: string) => {
    const def = source.vendor.resources.find((r) => r.name === name);
    if (!def) throw new ConfigError(`${source.id}: unknown resource "${name}" (known: ${all.join(', ')})`);
    want.add(name);
    if (def.parent) add(def.parent);
  };
  base.forEach(add);
  return all.filter((n) => want.has(n));
}
