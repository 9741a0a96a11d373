import { sourceConfigSchema, type FleetsyncConfig, type SourceConfig } from '../config.js';
import { configProblems, formatKeyPath } from '../config-errors.js';
import type { VendorDefinition } from '../connector.js';
import { credentialReferences, type CredentialReference } from '../secret-refs.js';
import { resolveSource, type ResolvedSource } from '../sources.js';
import type { StoredSource } from '../warehouse/source-configs.js';

// The first stage of `fleetsync check`: every source's definition checked without its
// credentials, the references in its credentials named with whether they resolve here, and the
// source resolved with them where they do. No I/O beyond reading the secret files named.

/** One source as the check's first stage found it. */
export interface SourceEntry {
  id: string;
  vendor: string;
  origin: 'config' | 'database';
  /** What is wrong with its definition (key paths); a YAML source with any ends the check (exit 2). */
  problems: string[];
  references: CredentialReference[];
  /** Unset variables, unreadable files, credentials the vendor's schema refuses (never a value). */
  credentialProblems: string[];
  /** The source with its credentials, when they resolve and the definition holds. Holds secrets: never print it. */
  resolved: ResolvedSource | null;
}

type Vendors = Readonly<Record<string, VendorDefinition>>;

/** Checks one source's definition without credentials, then resolves it with them. */
function entryOf(cfg: SourceConfig, at: string, origin: SourceEntry['origin'], ctx: { vendors: Vendors; env: NodeJS.ProcessEnv }): SourceEntry {
  const references = credentialReferences(cfg.credentials, ctx.env);
  const problems = resolveSource(cfg, at, ctx.vendors, 'skip').problems;
  const entry = { id: cfg.id, vendor: cfg.vendor, origin, problems, references };
  if (problems.length > 0) return { ...entry, credentialProblems: [], resolved: null };
  const withCreds = resolveSource(cfg, at, ctx.vendors, { env: ctx.env });
  return { ...entry, credentialProblems: withCreds.problems, resolved: withCreds.source };
}

/** The config file's sources. Throws ConfigError listing every definition problem (the config is invalid). */
export function configEntries(config: FleetsyncConfig, ctx: { vendors: Vendors; env: NodeJS.ProcessEnv }): SourceEntry[] {
  const entries = config.sources.map((cfg, i) => entryOf(cfg, `sources[${i}]`, 'config', ctx));
  const problems = entries.flatMap((e) => e.problems);
  if (problems.length > 0) throw configProblems(problems);
  return entries;
}

/**
 * The sources stored in Postgres that the config file does not shadow (its source of the same id
 * wins, as in the workers). A stored source that does not validate is an entry with its problems.
 */
export function storedEntries(stored: readonly StoredSource[], yamlIds: ReadonlySet<string>, ctx: { vendors: Vendors; env: NodeJS.ProcessEnv }): SourceEntry[] {
  return stored
    .filter((row) => !yamlIds.has(row.id))
    .map((row) => {
      const at = `source "${row.id}"`;
      const parsed = sourceConfigSchema.safeParse(row.config);
      if (parsed.success) return entryOf(parsed.data, at, 'database', ctx);
      const problems = parsed.error.issues.map((i) => `${at}${i.path.length ? `.${formatKeyPath(i.path)}` : ''}: ${i.message}`);
      return { id: row.id, vendor: row.vendor, origin: 'database' as const, problems, references: [], credentialProblems: [], resolved: null };
    });
}
