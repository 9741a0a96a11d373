import { readFileSync } from 'node:fs';
import { parseEnv } from 'node:util';

/**
 * The one place fleetsync reads its environment variables. Credentials referenced as `${VAR}` in
 * the config are not read here: the config substitutes them from whatever env it is given.
 */

/** Settings fleetsync takes from the environment, with the local services as defaults. */
export interface FleetsyncEnv {
  /** DATABASE_URL, else the local `fleetsync` database as $PGUSER (default postgres). */
  databaseUrl: string;
  /** REDIS_URL, else the local Redis. */
  redisUrl: string;
  /** FLEETSYNC_QUEUE_PREFIX, else `fleetsync`: the BullMQ key prefix. */
  queuePrefix: string;
  /**
   * FLEETSYNC_METRICS_PORT as given (undefined when unset or empty). Only the worker uses it, so it is
   * checked there by metricsPort(): a bad value must not stop the other commands.
   */
  metricsPortText: string | undefined;
  /** FLEETSYNC_METRICS_HOST: interface of the metrics server (undefined: 127.0.0.1). */
  metricsHost: string | undefined;
  /** FLEETSYNC_LOG_LEVEL, else `info`. */
  logLevel: string;
  /** FLEETSYNC_LOG_FORMAT: `json`, `pretty` or `auto` (undefined: auto, pretty exactly when stderr is a terminal). */
  logFormat: string | undefined;
  /** FLEETSYNC_DASHBOARD_TOKEN: the dashboard's access token when --token is not given (undefined: none). */
  dashboardToken: string | undefined;
  /** FLEETSYNC_CONFIG: the config file when --config is not given (undefined: the loader's default). */
  configFile: string | undefined;
  /** NODE_OPTIONS, else empty. */
  nodeOptions: string;
}

/** Thrown for an environment variable with a value fleetsync cannot use. */
export class EnvError extends Error {
  override name = 'EnvError';
}

/** Reads the fleetsync settings from `env`. Never throws: values are checked where they are used. */
export function readEnv(env: NodeJS.ProcessEnv = process.env): FleetsyncEnv {
  return {
    databaseUrl: env.DATABASE_URL ?? `postgres://${encodeURIComponent(env.PGUSER ?? 'postgres')}@127.0.0.1:5432/fleetsync`,
    redisUrl: env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    queuePrefix: env.FLEETSYNC_QUEUE_PREFIX ?? 'fleetsync',
    metricsPortText: env.FLEETSYNC_METRICS_PORT || undefined,
    metricsHost: env.FLEETSYNC_METRICS_HOST,
    logLevel: env.FLEETSYNC_LOG_LEVEL ?? 'info',
    logFormat: env.FLEETSYNC_LOG_FORMAT || undefined,
    configFile: env.FLEETSYNC_CONFIG,
    dashboardToken: env.FLEETSYNC_DASHBOARD_TOKEN || undefined,
    nodeOptions: env.NODE_OPTIONS ?? '',
  };
}

/**
 * The metrics port: FLEETSYNC_METRICS_PORT when set (it wins), else the config's; 0 means off.
 * Throws EnvError when the variable is not a port number.
 */
export function metricsPort(env: Pick<FleetsyncEnv, 'metricsPortText'>, configured: number): number {
  const port = env.metricsPortText !== undefined ? Number(env.metricsPortText) : configured;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new EnvError('FLEETSYNC_METRICS_PORT must be a port number');
  return port;
}

/**
 * Loads `file` (default `./.env`) into `env` when it exists: variables already set are never
 * overridden (the shell and docker's env_file win), and values are never logged or returned.
 * Returns the names it set (empty when there is no file). Throws EnvError when the file exists
 * but cannot be read.
 */
export function loadDotEnv(file = '.env', env: NodeJS.ProcessEnv = process.env): string[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return [];
    throw new EnvError(`cannot read ${file}: ${code ?? 'unknown error'}`);
  }
  const set: string[] = [];
  for (const [name, value] of Object.entries(parseEnv(text))) {
    if (value === undefined || env[name] !== undefined) continue;
    env[name] = value;
    set.push(name);
  }
  return set;
}
