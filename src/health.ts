import type { RedisClient } from './redis.js';
import { sql, type Kysely } from 'kysely';
import type { Readiness } from './metrics.js';
import type { Database } from './warehouse/db.js';

/** How long one readiness probe may take before its dependency counts as down. */
export const READY_TIMEOUT_MS = 3_000;

async function probe(what: string, check: () => Promise<unknown>, timeoutMs: number): Promise<{ ok: true } | { ok: false; error: string }> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      check(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} did not answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    return { ok: true };
  } catch (err) {
    // Message and code only: driver errors can carry the connection string.
    const e = err as Error & { code?: string };
    return { ok: false, error: `${e.code ? `${e.code} ` : ''}${e.message}` };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Asks Postgres (`select 1`) and Redis (`PING`) at once; each gets `timeoutMs`. Never throws:
 * a dependency that errors or does not answer in time is reported down with the reason.
 */
export async function checkReadiness(deps: { db: Kysely<Database>; redis: RedisClient }, timeoutMs = READY_TIMEOUT_MS): Promise<Readiness> {
  const [postgres, redis] = await Promise.all([
    probe('Postgres', () => sql`select 1`.execute(deps.db), timeoutMs),
    // ioredis queues commands while it reconnects (the app's client never gives up on them), so
    // a Redis that is down shows up as a probe that does not answer.
    probe('Redis', () => deps.redis.ping(), timeoutMs),
  ]);
  return { postgres, redis };
}
