import { ConfigError, DEFAULT_MAX_DELETE_SHARE, formatKeyPath, type FleetsyncConfig, type LaneLimit, type SourceConfig } from './config.js';
import type { ResourceDefinition, VendorDefinition } from './connector.js';
import { isLoopbackHost } from './http/loopback.js';

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

/**
 * Resolves every source of a config against the vendor registry.
 * Throws ConfigError listing each problem with its key path (unknown vendor, bad credentials,
 * unknown resource or lane, page size over the vendor's maximum, plain HTTP to a remote host).
 */
export function resolveSources(config: FleetsyncConfig, vendors: Readonly<Record<string, VendorDefinition>>): Map<string, ResolvedSource> {
  const problems: string[] = [];
  const out = new Map<string, ResolvedSource>();
  config.sources.forEach((src, i) => {
    const at = `sources[${i}]`;
    let vendor = vendors[src.vendor];
    if (!vendor) {
      problems.push(`${at}.vendor: unknown vendor "${src.vendor}" (known: ${Object.keys(vendors).join(', ')})`);
      return;
    }
    if (vendor.fromSource) {
      // A vendor defined by this source's own configuration (`vendor: rest`).
      const built = vendor.fromSource(src);
      for (const p of built.problems) problems.push(`${at}.${p}`);
      if (!built.vendor) return;
      vendor = built.vendor;
    }
    const url = new URL(src.baseUrl);
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopbackHost(url.hostname))) {
      problems.push(`${at}.baseUrl: must be https:// (plain http is only allowed to loopback)`);
    }
    const creds = vendor.credentials.safeParse(src.credentials);
    if (!creds.success) {
      for (const issue of creds.error.issues) {
        // Never echo the value: it is a secret.
        problems.push(`${formatKeyPath(['sources', i, 'credentials', ...issue.path])}: ${issue.message}`);
      }
    }
    const known = new Map(vendor.resources.map((r) => [r.name, r]));
    const wanted = src.resources ?? vendor.resources.map((r) => r.name);
    const resources = new Map<string, ResourceDefinition>();
    wanted.forEach((name, j) => {
      const def = known.get(name);
      if (!def) problems.push(`${at}.resources[${j}]: unknown resource "${name}" for vendor ${vendor.vendor} (known: ${[...known.keys()].join(', ')})`);
      else resources.set(name, def);
    });
    const lanes = new Map<string, LaneLimit>(Object.entries(vendor.lanes));
    for (const [lane, limit] of Object.entries(src.rateLimits ?? {})) {
      if (!lanes.has(lane)) problems.push(`${at}.rateLimits.${lane}: unknown lane for vendor ${vendor.vendor} (known: ${[...lanes.keys()].join(', ')})`);
      else lanes.set(lane, limit);
    }
    if (src.pageSize !== undefined) {
      for (const def of resources.values()) {
        const max = def.pagination.maxPageSize;
        if (def.pagination.kind !== 'static' && src.pageSize > max) {
          problems.push(`${at}.pageSize: ${src.pageSize} is over the maximum ${max} of ${vendor.vendor} ${def.name}`);
          break;
        }
      }
    }
    if (typeof src.maxDeleteShare === 'object') {
      for (const name of Object.keys(src.maxDeleteShare)) {
        if (name !== 'default' && !known.has(name)) problems.push(`${at}.maxDeleteShare.${name}: unknown resource for vendor ${vendor.vendor} (known: default, ${[...known.keys()].join(', ')})`);
      }
    }
    for (const p of vendor.validateSource?.(src) ?? []) problems.push(`${at}.${p}`);
    if (creds.success) out.set(src.id, { id: src.id, config: src, vendor, credentials: creds.data, resources, lanes });
  });
  if (problems.length > 0) throw new ConfigError(`invalid configuration:\n${problems.map((p) => `  ${p}`).join('\n')}`);
  return out;
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
