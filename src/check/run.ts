import { VENDORS } from '../../jobs/index.js';
import { connectRedis } from '../app.js';
import type { FleetsyncConfig } from '../config.js';
import type { FleetsyncEnv } from '../env.js';
import { keepAliveAgents } from '../http/agents.js';
import { describeInfraError, endpointOf, postgresMessage } from '../infra-errors.js';
import type { Logger } from '../logger.js';
import { describePostgresError } from '../postgres-messages.js';
import { prefixFor } from '../redis.js';
import { createDb } from '../warehouse/db.js';
import { storedSources, type StoredSource } from '../warehouse/source-configs.js';
import { probeSource } from './probe.js';
import type { CheckReport, SourceResult } from './report.js';
import { storedEntries, type SourceEntry } from './sources.js';

/** Sources probed at once: a check of many sources still ends in a few timeouts. */
const PROBES_AT_ONCE = 8;

/** What one check runs with. */
export interface CheckRun {
  config: FleetsyncConfig;
  file: string;
  /** The config file's sources, checked already (src/check/sources.ts). */
  entries: SourceEntry[];
  env: FleetsyncEnv;
  /** Where credential references resolve. */
  processEnv: NodeJS.ProcessEnv;
  logger: Logger;
  /** --source: only these (empty: all). Returns the unknown ones instead of checking. */
  only: readonly string[];
  /** False with --config-only. */
  requests: boolean;
  timeoutMs: number;
}

function within<T>(p: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(onTimeout()), ms)));
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

/** The sources stored in Postgres, or why they could not be read (never throws, never names a password). */
export async function readStored(env: FleetsyncEnv, timeoutMs: number): Promise<{ rows: StoredSource[] | null; problem: string | null }> {
  let db: ReturnType<typeof createDb> | null = null;
  try {
    db = createDb(env.databaseUrl, { max: 1, applicationName: 'fleetsync check' });
    const rows = await within(storedSources(db), timeoutMs, () => new Error(postgresMessage(endpointOf(env.databaseUrl, 5432), `no answer within ${timeoutMs} ms`)));
    return { rows, problem: null };
  } catch (err) {
    const why = describeInfraError(err, { databaseUrl: env.databaseUrl, redisUrl: env.redisUrl }) ?? describePostgresError(err, env.databaseUrl) ?? (err instanceof Error ? err.message : String(err));
    return { rows: null, problem: why };
  } finally {
    // Not awaited: a connection attempt that never answers would hold the pool's end.
    void db?.destroy().catch(() => undefined);
  }
}

function resultOf(e: SourceEntry, skipped: string | null): SourceResult {
  return { id: e.id, vendor: e.vendor, origin: e.origin, references: e.references, problems: e.problems, credentialProblems: e.credentialProblems, probe: null, skipped };
}

/** Why an entry gets no request, or null when it gets one. */
function skipReason(e: SourceEntry, run: CheckRun, redis: string | null): string | null {
  if (!run.requests) return null;
  if (e.resolved === null) return 'no request: the source does not resolve';
  return redis === null ? null : 'no request: Redis is unreachable';
}

/** Probes the entries that resolve, a few at once, through one Redis connection. */
async function probeAll(entries: SourceEntry[], run: CheckRun): Promise<{ results: SourceResult[]; redis: string | null }> {
  const results = entries.map((e) => resultOf(e, null));
  const todo = entries.map((e, i) => ({ e, i })).filter(({ e }) => run.requests && e.resolved !== null);
  if (todo.length === 0) return { results: entries.map((e) => resultOf(e, skipReason(e, run, null))), redis: null };
  let conn: Awaited<ReturnType<typeof connectRedis>>;
  try {
    conn = await connectRedis({ config: run.config, logger: run.logger, whenDown: 'fail' }, run.env.redisUrl);
  } catch (err) {
    const why = describeInfraError(err, { databaseUrl: run.env.databaseUrl, redisUrl: run.env.redisUrl }) ?? (err instanceof Error ? err.message : String(err));
    return { results: entries.map((e) => resultOf(e, skipReason(e, run, why))), redis: why };
  }
  const agents = keepAliveAgents();
  const deps = { redis: conn.redis, prefix: prefixFor(conn.display, run.env.queuePrefix), worker: run.config.worker, timeoutMs: run.timeoutMs, agents };
  try {
    for (let at = 0; at < todo.length; at += PROBES_AT_ONCE) {
      await Promise.all(todo.slice(at, at + PROBES_AT_ONCE).map(async ({ e, i }) => (results[i] = { ...results[i]!, probe: await probeSource(e.resolved!, deps) })));
    }
  } finally {
    agents.http.destroy();
    agents.https.destroy();
    conn.redis.disconnect();
  }
  entries.forEach((e, i) => (results[i] = { ...results[i]!, skipped: results[i]!.probe ? null : skipReason(e, run, null) }));
  return { results, redis: null };
}

/**
 * The check after its config stage: adds the sources stored in Postgres, narrows to --source,
 * and (unless --config-only) probes every source whose credentials resolve. Returns the report,
 * or the --source ids that name no source (with the ids known).
 */
export async function runCheck(run: CheckRun): Promise<{ report: CheckReport } | { unknown: string[]; known: string[]; stored: string | null }> {
  const stored = await readStored(run.env, run.timeoutMs);
  const yamlIds = new Set(run.entries.map((e) => e.id));
  const all = [...run.entries, ...storedEntries(stored.rows ?? [], yamlIds, { vendors: VENDORS, env: run.processEnv })];
  const unknown = run.only.filter((id) => !all.some((e) => e.id === id));
  if (unknown.length > 0) return { unknown, known: all.map((e) => e.id), stored: stored.problem };
  const entries = run.only.length > 0 ? all.filter((e) => run.only.includes(e.id)) : all;
  const { results, redis } = await probeAll(entries, run);
  const storedCount = (stored.rows ?? []).filter((r) => !yamlIds.has(r.id)).length;
  return { report: { file: run.file, inFile: run.entries.length, requests: run.requests, stored: { read: stored.rows !== null, count: storedCount, problem: stored.problem }, redis, sources: results } };
}
