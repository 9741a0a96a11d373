import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import type { Kysely } from 'kysely';
import pg from 'pg';
import { openApp, type App } from '../src/app.js';
import { parseConfig } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { createDb, ensureDatabase, migrateToLatest, type Database } from '../src/warehouse/db.js';

export const PG_ADMIN_URL = process.env.TEST_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** An isolated database and queue prefix for one test file; `cleanup()` drops both. */
export interface TestEnv {
  databaseUrl: string;
  prefix: string;
  db: Kysely<Database>;
  /** Opens an app (engine, db, redis) over this env for a config object; closed by cleanup(). */
  open(config: unknown, env?: NodeJS.ProcessEnv, prefix?: string, redisUrl?: string): Promise<App>;
  cleanup(): Promise<void>;
}

/**
 * Creates a fresh, migrated database `fleetsync_t_<random>` and a unique BullMQ prefix, on the
 * shared Postgres or on the server of `adminUrl` (a test's own).
 */
export async function createTestEnv(opts: { adminUrl?: string } = {}): Promise<TestEnv> {
  const id = randomBytes(5).toString('hex');
  const adminUrl = opts.adminUrl ?? PG_ADMIN_URL;
  const url = new URL(adminUrl);
  url.pathname = `/fleetsync_t_${id}`;
  const databaseUrl = url.toString();
  await ensureDatabase(databaseUrl);
  const db = createDb(databaseUrl, { max: 4 });
  await migrateToLatest(db);
  const prefix = `fst-${id}`;
  const apps: App[] = [];
  return {
    databaseUrl,
    prefix,
    db,
    open: async (config, env = process.env, prefixOverride, redisUrl = REDIS_URL) => {
      const app = await openApp({
        config: parseConfig(config, env),
        env,
        logger: createLogger({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }),
        databaseUrl,
        redisUrl,
        prefix: prefixOverride ?? prefix,
      });
      apps.push(app);
      return app;
    },
    cleanup: async () => {
      for (const a of apps) await a.close().catch(() => undefined);
      await db.destroy();
      await dropDatabase(databaseUrl, adminUrl);
      await deleteRedisPrefix(prefix);
    },
  };
}

/** Drops a test database, disconnecting leftovers (a killed child process) first. */
export async function dropDatabase(databaseUrl: string, adminUrl = PG_ADMIN_URL): Promise<void> {
  const name = new URL(databaseUrl).pathname.slice(1);
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  } finally {
    await admin.end();
  }
}

/** Deletes every Redis key under a BullMQ prefix. */
export async function deleteRedisPrefix(prefix: string): Promise<void> {
  const redis = new Redis(REDIS_URL);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

/** Polls `fn` until it returns a truthy value or `timeoutMs` passes (then throws with `what`). */
export async function waitFor<T>(fn: () => Promise<T | null | undefined | false> | T | null | undefined | false, what: string, timeoutMs = 60_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Fast-retry worker settings for tests: short locks so a killed worker's job comes back quickly. */
export const TEST_WORKER = { lockDurationMs: 2000, backoffMs: 50, attempts: 6, maxInProcessWaitMs: 200 };
