import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

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

const sourceSchema = z
  .object({
    id: z
      .string()
      .regex(/^[a-z0-9][a-z0-9_-]{0,62}$/i, 'must be 1-63 letters, digits, "-" or "_", starting with a letter or digit'),
    vendor: z.string().min(1),
    baseUrl: z.string().url(),
    credentials: z.record(z.string(), z.string()).default({}),
    resources: z.array(z.string().min(1)).min(1).optional(),
    rateLimits: z.record(z.string(), laneLimitSchema).optional(),
    pageSize: z.number().int().positive().optional(),
    /** Lane pause after a 429 that names no wait (no Retry-After/X-RateLimit-Reset); default: the vendor's. */
    rateLimitBackoffMs: z.number().int().min(0).optional(),
    /** Resource definitions of a `vendor: rest` source; validated in full by jobs/rest.ts. */
    rest: z.record(z.string(), z.unknown()).optional(),
    options: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();
export type SourceConfig = z.infer<typeof sourceSchema>;

const workerSchema = z
  .object({
    /** How long a job lock lives; a killed worker's page is picked up again after about this long. */
    lockDurationMs: z.number().int().min(1000).default(30_000),
    /** Attempts a page job gets for retryable failures (network, 5xx) before its walk fails. */
    attempts: z.number().int().min(1).max(50).default(8),
    /** Base of BullMQ's exponential backoff between those attempts. */
    backoffMs: z.number().int().min(10).default(5_000),
    /** Longest wait axios-retry may spend in-process on one request; longer waits go to the lane. */
    maxInProcessWaitMs: z.number().int().min(0).default(30_000),
    requestTimeoutMs: z.number().int().min(100).default(60_000),
  })
  .strict();

export const configSchema = z
  .object({
    sources: z.array(sourceSchema).min(1),
    worker: workerSchema.default({}),
    schedules: z.array(z.record(z.string(), z.unknown())).optional(),
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
  });
export type FleetsyncConfig = z.infer<typeof configSchema>;
export type WorkerSettings = FleetsyncConfig['worker'];

/** Thrown for any configuration that cannot be used; the message names the key path. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

function formatPath(path: ReadonlyArray<string | number>): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out === '' ? p : `.${p}`;
  return out === '' ? '(top level)' : out;
}

/**
 * Replaces `${VAR}` in every string of a parsed YAML tree from `env`.
 * Substitution happens after parsing so a secret can never change the YAML structure.
 * Throws ConfigError naming the key path when a variable is not set.
 */
export function substituteEnv(value: unknown, env: NodeJS.ProcessEnv, path: Array<string | number> = []): unknown {
  if (typeof value === 'string') {
    return value.replace(/\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (m, name: string | undefined) => {
      if (m === '$$') return '$';
      const v = name === undefined ? undefined : env[name];
      if (v === undefined) {
        throw new ConfigError(`${formatPath(path)}: environment variable ${name ?? ''} is not set`);
      }
      return v;
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => substituteEnv(v, env, [...path, i]));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = substituteEnv(v, env, [...path, k]);
    return out;
  }
  return value;
}

/**
 * Validates an already-parsed configuration object.
 * Throws ConfigError listing every problem with its key path; never returns a partial config.
 */
export function parseConfig(raw: unknown, env: NodeJS.ProcessEnv = process.env): FleetsyncConfig {
  const substituted = substituteEnv(raw, env);
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
    throw new ConfigError(`cannot read config file ${path}: ${code ?? String(err)}`);
  }
  let raw: unknown;
  try {
    raw = parseYaml(text);
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

/** Connection settings from the environment, with the local services as defaults. */
export function serviceUrls(env: NodeJS.ProcessEnv = process.env): { databaseUrl: string; redisUrl: string; queuePrefix: string } {
  return {
    databaseUrl: env.DATABASE_URL ?? `postgres://${encodeURIComponent(env.PGUSER ?? 'postgres')}@127.0.0.1:5432/fleetsync`,
    redisUrl: env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    queuePrefix: env.FLEETSYNC_QUEUE_PREFIX ?? 'fleetsync',
  };
}
