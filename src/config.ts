import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { CronExpressionParser } from 'cron-parser';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ConfigError, formatPath } from './config-errors.js';
import { substituteEnv, withCredentialsKept } from './config-env.js';
import { DATA_TABLES, type DataTableName } from './warehouse/tables.js';
import { notificationsSchema } from './notify/config.js';
import { webhooksSchema } from './webhooks/config.js';

export { ConfigError, formatKeyPath } from './config-errors.js';
export { substituteEnv } from './config-env.js';

/** A request-rate window: at most `max` requests in any `durationMs`. */
export const rateWindowSchema = z
  .object({
    max: z.number().int().positive(),
    durationMs: z.number().int().positive(),
  })
  .strict();
export type RateWindow = z.infer<typeof rateWindowSchema>;

/**
 * A token bucket: `capacity` requests may go at once (the burst), then `refillPerMinute` tokens
 * come back per minute, continuously. The partner API template's "100/min with a burst of 200".
 */
export const tokenBucketSchema = z
  .object({
    capacity: z.number().int().positive(),
    refillPerMinute: z.number().positive(),
  })
  .strict();
export type TokenBucket = z.infer<typeof tokenBucketSchema>;

/**
 * A lane's limit: the first window is BullMQ's limiter, all windows and the token bucket are
 * enforced exactly in Redis. At least one window or a token bucket is required.
 */
export const laneLimitSchema = z
  .object({
    windows: z.array(rateWindowSchema).min(1).optional(),
    tokenBucket: tokenBucketSchema.optional(),
    concurrency: z.number().int().positive().max(64).optional(),
  })
  .strict()
  .refine((l) => (l.windows?.length ?? 0) > 0 || l.tokenBucket !== undefined, { message: 'needs `windows` or `tokenBucket`' });
export type LaneLimit = z.infer<typeof laneLimitSchema>;

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** Parses a duration like `90s`, `15m`, `12h`, `7d`, `2w` (or a number of ms) into milliseconds; null when malformed. */
export function parseDuration(value: string | number): number | null {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? Math.round(value) : null;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)\s*$/.exec(value);
  if (!m) return null;
  return Math.round(Number(m[1]) * (DURATION_UNITS[m[2] ?? ''] ?? Number.NaN));
}

/** A duration in config: `7d`, `12h`, `30m`, `90s`, `500ms`, `2w`, or a number of milliseconds. */
export const durationSchema = z
  .union([z.string(), z.number()])
  .transform((v, ctx) => {
    const ms = parseDuration(v);
    if (ms === null || ms <= 0) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'must be a positive duration like "7d", "12h", "30m", "90s" or a number of milliseconds' });
      return z.NEVER;
    }
    return ms;
  });

/** Default of a schedule's `maxRunsPerMinute`: 1,000 sources start within a minute. */
export const DEFAULT_MAX_RUNS_PER_MINUTE = 1200;

/** A share of a scope's rows, more than 0 and at most 1. */
const deleteShareSchema = z.number().gt(0).max(1);

/** Default of a source's `maxDeleteShare`: hold a sweep that would delete more than half a scope. */
export const DEFAULT_MAX_DELETE_SHARE = 0.5;

/** Default of a source's `fullWalkEvery`: an incremental run walks a resource fully once a week. */
export const DEFAULT_FULL_WALK_EVERY_MS = 7 * 86_400_000;

/** A source's tags: labels schedules select sources by (`select: { tags: [...] }`). */
const tagSchema = z.string().regex(/^[a-z0-9][a-z0-9_.:-]{0,62}$/i, 'must be 1-63 letters, digits, ".", ":", "-" or "_", starting with a letter or digit');

export const sourceConfigSchema = z
  .object({
    id: z
      .string()
      .regex(/^[a-z0-9][a-z0-9_-]{0,62}$/i, 'must be 1-63 letters, digits, "-" or "_", starting with a letter or digit'),
    vendor: z.string().min(1),
    baseUrl: z.string().url(),
    /** Values or references (`${VAR}`, `${file:/path}`), resolved when a request needs them (src/secret-refs.ts). */
    credentials: z.record(z.string(), z.string()).default({}),
    tags: z.array(tagSchema).optional(),
    resources: z.array(z.string().min(1)).min(1).optional(),
    rateLimits: z.record(z.string(), laneLimitSchema).optional(),
    pageSize: z.number().int().positive().optional(),
    /**
     * Incremental runs turn into a full walk (which detects deletes) for a resource whose last
     * succeeded full walk started longer ago than this. Default 7d.
     */
    fullWalkEvery: durationSchema.optional(),
    /**
     * How a full walk's misses become deletes: `confirm` (default) marks a row missed by one
     * complete full walk `missing_since` and `deleted_at` only when a later one misses it too;
     * `immediate` marks it deleted at once (for vendors whose lists are stable snapshots).
     */
    deletes: z.enum(['confirm', 'immediate']).optional(),
    /**
     * Mass-delete guard: a sweep that would mark more than this share of a scope's present rows
     * is held (default 0.5). A number for every resource, or `{default, <resource>: share}`.
     */
    maxDeleteShare: z.union([deleteShareSchema, z.record(z.string(), deleteShareSchema)]).optional(),
    /**
     * Data tables whose change history (`<table>_history`, docs/warehouse.md) this source keeps
     * besides devices and packages, which always keep it; e.g. `[users]`.
     */
    history: z.array(z.enum(Object.keys(DATA_TABLES) as [DataTableName, ...DataTableName[]])).optional(),
    /**
     * How recently each resource must have succeeded before it counts as stale (alert, dashboard,
     * `stale` notification; src/freshness.ts): a duration, or `{default, <resource>: duration}`. Default 24h.
     */
    freshness: z.union([durationSchema, z.record(z.string(), durationSchema)]).optional(),
    /** Lane pause after a 429 that names no wait (no Retry-After/X-RateLimit-Reset); default: the vendor's. */
    rateLimitBackoffMs: z.number().int().min(0).optional(),
    /**
     * The account's hourly request quota, kept by every lane of the source as one more window: a
     * plan name of the vendor (Toggl: free, starter, premium) or requests per hour (src/queue/quota.ts).
     */
    quota: z.union([z.string().min(1), z.number().int().positive()]).optional(),
    /**
     * Vendor events between walks (docs/freshness.md): `every` polls the vendor's event feed
     * (Automox `/events`) on a schedule of its own; off when left out.
     */
    events: z.object({ every: durationSchema.refine((ms) => ms >= 1000, 'must be at least 1s').optional() }).strict().optional(),
    /** Resource definitions of a `vendor: rest` source; validated in full by jobs/rest.ts. */
    rest: z.record(z.string(), z.unknown()).optional(),
    options: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();
export type SourceConfig = z.infer<typeof sourceConfigSchema>;

const workerSchema = z
  .object({
    /** How long a job lock lives; a killed worker's page is picked up again after about this long. */
    lockDurationMs: z.number().int().min(1000).default(30_000),
    /** Attempts a page job gets for retryable failures (network, 5xx) before its walk fails. */
    attempts: z.number().int().min(1).max(50).default(8),
    /** Base of BullMQ's exponential backoff between those attempts. */
    backoffMs: z.number().int().min(10).default(5_000),
    /**
     * Longest wait axios-retry may spend in-process on one request; longer waits go to the lane.
     * Also the longest an in-process retry waits for its own gate slot before the failure goes to the job's attempts.
     */
    maxInProcessWaitMs: z.number().int().min(0).default(30_000),
    /** Longest a vendor's connection may stay silent: before the answer's headers, or between two chunks of its body. */
    requestTimeoutMs: z.number().int().min(100).default(60_000),
    /** Longest one request may take in all, headers and body; default 2 x requestTimeoutMs. */
    requestDeadlineMs: z.number().int().min(100).optional(),
    /**
     * In-process retries of one request (network errors, 5xx, bodies that are not JSON) before the
     * page job's attempt fails; a timeout or a passed deadline is not retried in process.
     * What the retry budget costs: docs/reliability.md, Retry budget.
     */
    requestRetries: z.number().int().min(0).max(10).default(3),
    /** Largest response body read (after decompression); a bigger one is refused and fails its walk. */
    maxResponseBytes: z.number().int().min(1024).default(32 * 1024 * 1024),
    /** Port of the Prometheus /metrics endpoint of `fleetsync worker`; 0 = off (FLEETSYNC_METRICS_PORT overrides). */
    metricsPort: z.number().int().min(0).max(65535).default(0),
    /** Longest a SIGTERM may wait for the pages in hand before the worker exits anyway (non-zero). */
    shutdownTimeoutMs: z.number().int().min(100).default(30_000),
    /** How often every worker gives running walks that lost their page job (a Redis restart) their job back and re-creates missing schedules. */
    reconcileIntervalMs: z.number().int().min(100).default(30_000),
    /**
     * How long a walk's first request may keep failing to connect (host not found, connection
     * refused) before the run fails as a wrong baseUrl; later failures keep the attempts schedule.
     */
    connectFailureTimeoutMs: z.number().int().min(0).default(120_000),
    /**
     * Fetch the next page of a walk while its page commits (docs/performance.md), in a free slot of
     * the lane (never for a lane of concurrency 1, nor while its jobs fill it) and never for a
     * source whose lists depend on a session; the gate counts every request. A page fetched ahead
     * has the page after it requested as soon as it is parsed, while the lane has room. A job
     * whose page came that way also writes the next page while its own commits
     * (src/queue/write-ahead.ts).
     */
    fetchAhead: z.boolean().default(true),
    /** Page jobs of one vendor's queue this process runs at once, over all its sources; each lane still keeps its own limit. */
    concurrency: z.number().int().min(1).max(256).default(16),
    /** How often a worker reads the sources stored in Postgres (`fleetsync sources`) to pick up added, changed and removed ones. */
    sourceRefreshMs: z.number().int().min(200).default(10_000),
  })
  .strict();

function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/**
 * The message for a cron pattern cron-parser refused, quoting the pattern: its own messages name
 * only a fragment (`"every day"` gives `cannot resolve alias "eve"`).
 */
export function cronProblem(cron: string, err: unknown): string {
  const fields = cron.trim().split(/\s+/).length;
  const why = fields === 5 || fields === 6 ? (err instanceof Error ? err.message.replace(/^Validation error, /, '') : String(err)) : `has ${fields} field${fields === 1 ? '' : 's'}, needs 5 or 6`;
  return `invalid cron pattern "${cron}": ${why} (5 fields: minute hour day-of-month month day-of-week, e.g. "0 2 * * *" for 02:00 daily; 6 with seconds first)`;
}

/**
 * One cron schedule: which sources and resources to start a run of, and how.
 * `sources`/`resources` left out mean all of them; names are checked against the sources at start.
 */
export const scheduleSchema = z
  .object({
    name: z.string().regex(/^[a-z0-9][a-z0-9_.-]{0,62}$/i, 'must be 1-63 letters, digits, ".", "-" or "_", starting with a letter or digit'),
    /** Cron pattern (5 fields, or 6 with seconds first), evaluated in `timeZone`. */
    cron: z.string().min(1),
    timeZone: z.string().default('UTC').refine(isTimeZone, 'is not an IANA time zone (e.g. Europe/Berlin)'),
    sources: z.array(z.string().min(1)).min(1).optional(),
    /** Sources chosen when the schedule fires: by vendor and/or tag (every tag must match); combines with `sources`. */
    select: z
      .object({
        vendor: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).optional(),
        tags: z.array(tagSchema).min(1).optional(),
      })
      .strict()
      .optional(),
    resources: z.array(z.string().min(1)).min(1).optional(),
    mode: z.enum(['full', 'incremental']).default('full'),
    /** At most this many runs start per minute of a firing (the rest start spread over the following minutes). */
    maxRunsPerMinute: z.number().int().min(1).default(DEFAULT_MAX_RUNS_PER_MINUTE),
  })
  .strict()
  .superRefine((s, ctx) => {
    try {
      CronExpressionParser.parse(s.cron, { tz: isTimeZone(s.timeZone) ? s.timeZone : 'UTC', strict: false }).next();
    } catch (err) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['cron'], message: cronProblem(s.cron, err) });
    }
  });
export type ScheduleConfig = z.infer<typeof scheduleSchema>;

export const configSchema = z
  .object({
    sources: z.array(sourceConfigSchema).default([]),
    worker: workerSchema.default({}),
    schedules: z.array(scheduleSchema).default([]),
    notifications: notificationsSchema.default({}),
    /** The receiver of vendor events (src/webhooks/config.ts). */
    webhooks: webhooksSchema.default({}),
  })
  .strict()
  .superRefine((cfg, ctx) => {
    const seen = new Set<string>();
    cfg.sources.forEach((s, i) => {
      if (seen.has(s.id)) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['sources', i, 'id'], message: `duplicate source id "${s.id}"` });
      }
      seen.add(s.id);
    });
    const names = new Set<string>();
    cfg.schedules.forEach((sch, i) => {
      if (names.has(sch.name)) ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['schedules', i, 'name'], message: `duplicate schedule name "${sch.name}"` });
      names.add(sch.name);
    });
  });
export type FleetsyncConfig = z.infer<typeof configSchema>;
export type WorkerSettings = FleetsyncConfig['worker'];

/**
 * Validates an already-parsed configuration object.
 * Throws ConfigError listing every problem with its key path; never returns a partial config.
 */
export function parseConfig(raw: unknown, env: NodeJS.ProcessEnv = process.env): FleetsyncConfig {
  const substituted = withCredentialsKept(raw, (tree) => substituteEnv(tree, env));
  const result = configSchema.safeParse(substituted);
  if (!result.success) {
    const lines = result.error.issues.map((i) => `  ${formatPath(i.path)}: ${i.message}`);
    throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
  }
  return result.data;
}

/**
 * Reads and validates a YAML config file (`--config`, else FLEETSYNC_CONFIG, else ./fleetsync.yaml).
 * Throws ConfigError when the file is missing, is not YAML, or does not validate.
 */
export async function loadConfig(file?: string, env: NodeJS.ProcessEnv = process.env): Promise<FleetsyncConfig> {
  const path = file ?? env.FLEETSYNC_CONFIG ?? 'fleetsync.yaml';
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // A docker bind mount of a host file that does not exist creates an empty directory in its place.
    if (code === 'EISDIR') throw new ConfigError(`config file ${path} is a directory: docker creates one when a bind-mounted ${basename(path)} does not exist on the host; create ./${basename(path)} (see fleetsync.example.yaml) and remove the directory`);
    // The first thing a new user meets after `npm run demo`: say how to get a config, not only that there is none.
    if (code === 'ENOENT') throw new ConfigError(`cannot read config file ${path}: ENOENT (no such file): write one (see fleetsync.example.yaml, or \`fleetsync simulate VENDOR\` prints one for a trial) or name one with --config FILE or FLEETSYNC_CONFIG`);
    throw new ConfigError(`cannot read config file ${path}: ${code ?? String(err)}`);
  }
  // `{ apiKey: ${KEY} }` is how people write it, but `${` is not valid inside a YAML flow map:
  // swap each reference for a plain-scalar token, parse, then swap back and substitute.
  const nonce = Math.random().toString(36).slice(2, 10);
  const token = (name: string) => `fsenv${nonce}x${name}x${nonce}`;
  const masked = text.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_m, name: string) => token(name));
  const unmask = (v: unknown): unknown => {
    if (typeof v === 'string') return v.replace(new RegExp(`fsenv${nonce}x([A-Za-z_][A-Za-z0-9_]*?)x${nonce}`, 'g'), (_m, n: string) => `\${${n}}`);
    if (Array.isArray(v)) return v.map(unmask);
    if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, unmask(x)]));
    return v;
  };
  let raw: unknown;
  try {
    // Many sources written with a shared anchor (`- <<: *tenant`) are one alias each: allowed well past
    // the parser's default of 100, still bounded against exponential expansion.
    raw = unmask(parseYaml(masked, { merge: true, maxAliasCount: 100_000 }));
  } catch (err) {
    throw new ConfigError(`config file ${path} is not valid YAML: ${(err as Error).message}`);
  }
  try {
    return parseConfig(raw, env);
  } catch (err) {
    if (err instanceof ConfigError) throw new ConfigError(`${path}: ${err.message}`);
    throw err;
  }
}
