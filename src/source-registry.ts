import type { Kysely } from 'kysely';
import { sourceConfigSchema, type FleetsyncConfig, type SourceConfig } from './config.js';
import { ConfigError, formatKeyPath } from './config-errors.js';
import type { VendorDefinition } from './connector.js';
import type { Logger } from './logger.js';
import { missingMessage } from './secret-refs.js';
import { resolveSource, type ResolvedSource } from './sources.js';
import type { Database } from './warehouse/db.js';
import { lastSourceChange, storedSources } from './warehouse/source-configs.js';

/** A source as lists show it, without resolving it. */
export interface SourceInfo {
  id: string;
  vendor: string;
  tags: string[];
  /** Where it is configured: the YAML file or Postgres (`fleetsync sources`). */
  origin: 'config' | 'database';
}

interface Entry {
  cfg: SourceConfig;
  /** Its key path in messages: `sources[3]` (YAML) or `source "acme"` (Postgres). */
  at: string;
  origin: SourceInfo['origin'];
  /** When a stored source last changed (0 for YAML). */
  version: number;
}

/** What a SourceRegistry reads from. */
export interface SourceRegistryOptions {
  config: FleetsyncConfig;
  vendors: Readonly<Record<string, VendorDefinition>>;
  /** Where credential references resolve. */
  env: NodeJS.ProcessEnv;
  /** Where stored sources are read by refresh(); none: the YAML file's only. */
  db?: Kysely<Database>;
  logger: Logger;
}

/**
 * The sources this process knows: the YAML file's and the ones stored in Postgres (read by
 * refresh()). A source is resolved only when something asks for it (get/describe), and each
 * resolution is kept until the source changes, so a command that touches one source resolves one
 * and an idle worker holds nothing per source beyond its configuration. A YAML source wins over a
 * stored one of the same id.
 */
export class SourceRegistry {
  private readonly entries = new Map<string, Entry>();
  private readonly resolved = new Map<string, ResolvedSource>();
  private readonly described = new Map<string, ResolvedSource>();
  private readonly warned = new Set<string>();
  /** The stored sources' latest change and count at the last read: an unchanged table is not read again. */
  private seenChange: string | null = null;
  private reading: Promise<string[]> | null = null;
  private readAt = 0;

  constructor(private readonly opts: SourceRegistryOptions) {
    opts.config.sources.forEach((cfg, i) => this.entries.set(cfg.id, { cfg, at: `sources[${i}]`, origin: 'config', version: 0 }));
  }

  /** Ids of every known source, in order (YAML first, then stored ones by id). */
  ids(): string[] {
    return [...this.entries.keys()];
  }

  has(id: string): boolean {
    return this.entries.has(id);
  }

  /** How many sources are known. */
  get size(): number {
    return this.entries.size;
  }

  /** Every vendor a source may use (page queues exist per vendor; a source added later may use any). */
  vendorNames(): string[] {
    return Object.keys(this.opts.vendors);
  }

  /** The source's configuration, unresolved; undefined when unknown. */
  configOf(id: string): SourceConfig | undefined {
    return this.entries.get(id)?.cfg;
  }

  /** Id, vendor, tags and origin of every known source, without resolving any. */
  list(): SourceInfo[] {
    return [...this.entries.values()].map((e) => ({ id: e.cfg.id, vendor: e.cfg.vendor, tags: e.cfg.tags ?? [], origin: e.origin }));
  }

  /** The source with its credentials resolved; undefined when unknown. Throws ConfigError naming what does not resolve (a missing variable, a bad field). */
  get(id: string): ResolvedSource | undefined {
    return this.resolveInto(this.resolved, id, { env: this.opts.env });
  }

  /** The source without its credentials (for commands that send no request); undefined when unknown. Throws ConfigError for a bad definition. */
  describe(id: string): ResolvedSource | undefined {
    return this.resolved.get(id) ?? this.resolveInto(this.described, id, 'skip');
  }

  private resolveInto(cache: Map<string, ResolvedSource>, id: string, credentials: { env: NodeJS.ProcessEnv } | 'skip'): ResolvedSource | undefined {
    const hit = cache.get(id);
    if (hit) return hit;
    const e = this.entries.get(id);
    if (!e) return undefined;
    const { source, problems } = resolveSource(e.cfg, e.at, this.opts.vendors, credentials);
    if (!source) {
      const missing = problems.filter((p) => /: (environment variable|secret file) /.test(p));
      throw new ConfigError(missing.length === problems.length ? `source ${id}: ${missingMessage(missing)}` : `source ${id} is misconfigured:\n${problems.map((p) => `  ${p}`).join('\n')}`);
    }
    cache.set(id, source);
    return source;
  }

  /**
   * Reads the sources stored in Postgres and applies what changed. Returns the ids added, changed
   * or removed (their resolutions are dropped, so the next get() sees the new configuration). A
   * stored source that does not validate is skipped with one warning.
   */
  async refresh(): Promise<string[]> {
    if (!this.opts.db) return [];
    const mark = await lastSourceChange(this.opts.db);
    if (mark === this.seenChange) return [];
    const stored = await storedSources(this.opts.db);
    this.seenChange = mark;
    const changed: string[] = [];
    const seen = new Set<string>();
    for (const row of stored) {
      seen.add(row.id);
      const current = this.entries.get(row.id);
      if (current?.origin === 'config') {
        this.warnOnce(`shadow:${row.id}`, { source: row.id }, `source ${row.id} is in both the config file and Postgres; the config file's is used`);
        continue;
      }
      const version = row.updatedAt.getTime();
      if (current && current.version === version) continue;
      const parsed = sourceConfigSchema.safeParse(row.config);
      if (!parsed.success) {
        const why = parsed.error.issues.map((i) => `${formatKeyPath(i.path) || '(top level)'}: ${i.message}`).join('; ');
        this.warnOnce(`bad:${row.id}:${version}`, { source: row.id }, `stored source ${row.id} is not a valid source (${why}); skipped until fixed with fleetsync sources update`);
        continue;
      }
      this.entries.set(row.id, { cfg: parsed.data, at: `source "${row.id}"`, origin: 'database', version });
      changed.push(row.id);
    }
    for (const [id, e] of this.entries) {
      if (e.origin === 'database' && !seen.has(id)) {
        this.entries.delete(id);
        changed.push(id);
      }
    }
    for (const id of changed) {
      this.resolved.delete(id);
      this.described.delete(id);
    }
    return changed;
  }

  /**
   * refresh() for a page job of a source this process does not know (added a moment ago by another
   * process): at most once a second, joining a read in flight; a failed read changes nothing.
   */
  async refreshSoon(): Promise<string[]> {
    if (this.reading) return await this.reading;
    if (Date.now() - this.readAt < 1_000) return [];
    this.readAt = Date.now();
    this.reading = this.refresh()
      .catch((err: unknown) => (this.opts.logger.debug({ err: (err as Error).message }, 'reading the stored sources failed'), []))
      .finally(() => (this.reading = null));
    return await this.reading;
  }

  private warnOnce(key: string, fields: Record<string, string>, message: string): void {
    if (this.warned.has(key)) return;
    this.warned.add(key);
    this.opts.logger.warn(fields, message);
  }
}

/** "unknown source "x" (configured: a, b, …)": at most 20 names, then how many more. */
export function unknownSourceText(id: string, known: readonly string[]): string {
  if (known.length === 0) return `unknown source "${id}" (configured: none)`;
  const shown = known.slice(0, 20).join(', ');
  return `unknown source "${id}" (configured: ${shown}${known.length > 20 ? `, and ${known.length - 20} more: fleetsync sources list` : ''})`;
}
