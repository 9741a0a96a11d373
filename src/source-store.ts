import type { Kysely } from 'kysely';
import { parse as parseYaml } from 'yaml';
import { sourceConfigSchema, type SourceConfig } from './config.js';
import { ConfigError, formatKeyPath } from './config-errors.js';
import type { VendorDefinition } from './connector.js';
import { literalCredentialKeys } from './secret-refs.js';
import { resolveSource } from './sources.js';
import type { Database } from './warehouse/db.js';
import { putStoredSource } from './warehouse/source-configs.js';

/**
 * Checks a source before it is stored in Postgres: a valid source definition (as in the YAML file),
 * credentials that are references only (`${VAR}`, `${file:/path}`, so Postgres never holds a
 * secret), and an id the config file does not use. Returns the problems, each with its key path.
 */
export function checkStoredSource(raw: unknown, at: string, ctx: { vendors: Readonly<Record<string, VendorDefinition>>; yamlIds: ReadonlySet<string> }): { source: SourceConfig | null; problems: string[] } {
  const parsed = sourceConfigSchema.safeParse(raw);
  if (!parsed.success) return { source: null, problems: parsed.error.issues.map((i) => `${at}${i.path.length ? `.${formatKeyPath(i.path)}` : ''}: ${i.message}`) };
  const src = parsed.data;
  const problems = resolveSource(src, at, ctx.vendors, 'skip').problems;
  for (const key of literalCredentialKeys(src.credentials)) problems.push(`${at}.credentials.${key}: must be a reference such as \${ENV_VAR} or \${file:/run/secrets/name}: a source stored in Postgres never holds a secret itself`);
  if (ctx.yamlIds.has(src.id)) problems.push(`${at}.id: source "${src.id}" is in the config file; change it there`);
  return { source: problems.length ? null : src, problems };
}

/** The sources of a YAML text: a `sources:` list (as in the config file) or a bare list. Throws ConfigError when it is neither. */
export function sourcesFromText(text: string, file: string): unknown[] {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new ConfigError(`${file} is not valid YAML: ${(err as Error).message}`);
  }
  const list = Array.isArray(doc) ? doc : doc !== null && typeof doc === 'object' && Array.isArray((doc as { sources?: unknown }).sources) ? (doc as { sources: unknown[] }).sources : null;
  if (!list) throw new ConfigError(`${file}: expected a list of sources, or a \`sources:\` list as in the config file`);
  return list;
}

/**
 * Checks every source first and stores them all only when none has a problem (one transaction), so
 * an import never half-applies. Returns the ids added and updated; throws ConfigError listing every problem.
 */
export async function storeSources(db: Kysely<Database>, raws: readonly unknown[], ctx: { vendors: Readonly<Record<string, VendorDefinition>>; yamlIds: ReadonlySet<string> }): Promise<{ added: string[]; updated: string[] }> {
  const checked = raws.map((raw, i) => checkStoredSource(raw, raws.length === 1 ? 'source' : `sources[${i}]`, ctx));
  const problems = checked.flatMap((c) => c.problems);
  const ids = checked.map((c) => c.source?.id);
  ids.forEach((id, i) => {
    if (id !== undefined && ids.indexOf(id) !== i) problems.push(`sources[${i}].id: duplicate source id "${id}"`);
  });
  if (problems.length > 0) throw new ConfigError(`not stored:\n${problems.map((p) => `  ${p}`).join('\n')}`);
  const added: string[] = [];
  const updated: string[] = [];
  await db.transaction().execute(async (trx) => {
    for (const { source } of checked) {
      const existed = await putStoredSource(trx, { id: source!.id, vendor: source!.vendor, tags: source!.tags ?? [], config: source });
      (existed ? updated : added).push(source!.id);
    }
  });
  return { added, updated };
}
