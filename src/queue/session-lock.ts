import { randomBytes } from 'node:crypto';
import type { RedisClient } from '../redis.js';
import type { Kysely } from 'kysely';
import { VendorError } from '../http/errors.js';
import type { SessionScoping } from '../connector.js';
import type { Logger } from '../logger.js';
import type { ResolvedSource } from '../sources.js';
import type { Database } from '../warehouse/db.js';
import { runningScopes } from '../warehouse/walks.js';
import type { Lane } from './lanes.js';

/** The walk a page of a session-scoped source belongs to: its source, lane and scope. */
export interface SessionWalk {
  src: ResolvedSource;
  lane: Pick<Lane, 'request'>;
  scope: string;
}

const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

/** The vendor may forget an idle session: the active state is re-activated after this long. */
const ACTIVE_TTL_MS = 5 * 60_000;

/** What the session lock needs. */
export interface SessionDeps {
  db: Kysely<Database>;
  redis: RedisClient;
  prefix: string;
  log: Logger;
  /** Longest a request may take; the lock outlives it so a killed holder's lock frees itself. */
  requestTimeoutMs: number;
}

/** How the caller makes a page wait: `defer` re-schedules this job only, `holdLane` holds the lane (gate). Both throw. */
export interface SessionWaits {
  defer(ms: number): Promise<never>;
  holdLane(ms: number): Promise<never>;
}

/**
 * Whether a failed page request of a session-scoped walk may come from the vendor no longer
 * holding the walk's state (a restart or an expiry on its side, or another client of the account
 * switching it): 409 (the partner API's `no_active_ou`: no state, or a conflicting one) and 403
 * (a record outside the active state). Other 4xx say the request itself is wrong and are never
 * asked twice.
 */
export function sessionMayBeLost(err: unknown): boolean {
  return err instanceof VendorError && (err.status === 409 || err.status === 403);
}

/**
 * Activates the walk's state again, unconditionally, while the caller holds the session lock
 * (enterSession returned its release): the state Redis remembers may be one the vendor forgot.
 * The request goes through the lane's gate; `waits.holdLane` (which throws) when it has no room.
 */
export async function reactivateSession(deps: SessionDeps, walk: SessionWalk, waits: SessionWaits): Promise<void> {
  const { src } = walk;
  const session = src.vendor.session;
  const state = session?.stateOf(walk.scope) ?? null;
  if (!session || state === null) return;
  const activeKey = activeKeyOf(deps, src);
  // Forgotten even when the gate makes this job wait: its next attempt then activates first.
  await deps.redis.del(activeKey);
  const wait = await activate(deps, walk.lane, { session, state, activeKey });
  if (wait > 0) return await waits.holdLane(wait);
  deps.log.info({ source: src.id, state }, 'session state activated again: the vendor refused a page of it');
  await deps.redis.set(activeKey, state, 'PX', ACTIVE_TTL_MS);
}

function activeKeyOf(deps: SessionDeps, src: ResolvedSource): string {
  return `${deps.prefix}:fleetsync-session:${src.id}:active`;
}

/** A state to make active, and the Redis key that remembers the active one. */
interface Activation {
  session: SessionScoping;
  state: string;
  activeKey: string;
}

/**
 * Sends the activation of a state through the lane, having forgotten the remembered state first
 * (after a failed switch we no longer know which one is active). Returns the gate's wait when it
 * had no room (nothing sent, nothing forgotten), else 0. The caller holds the session lock and
 * records the state on success.
 */
async function activate(deps: SessionDeps, lane: Pick<Lane, 'request'>, a: Activation): Promise<number> {
  const req = a.session.activate(a.state);
  const reply = await lane.request({ method: req.method, path: req.path, body: req.body }, { beforeSend: async () => void (await deps.redis.del(a.activeKey)) });
  return reply.sent ? 0 : reply.waitMs;
}

/**
 * For vendors with session state (the partner API's active OU): takes the source's session
 * lock, makes the walk's state active if it is not (one request through the lane's gate) and
 * returns the release function; the caller makes its page request while holding the lock.
 * Returns null for walks that need no state. Waits (through `waits`, which throw) while another
 * page of the source is in flight, or while walks of the active state still run, so that states
 * are switched once per set of walks rather than once per page.
 */
export async function enterSession(deps: SessionDeps, walk: SessionWalk, waits: SessionWaits): Promise<(() => Promise<void>) | null> {
  const { src } = walk;
  const session = src.vendor.session;
  const state = session?.stateOf(walk.scope) ?? null;
  if (!session || state === null) return null;
  const { redis } = deps;
  const lockKey = `${deps.prefix}:fleetsync-session:${src.id}:lock`;
  const activeKey = activeKeyOf(deps, src);
  const mine = randomBytes(8).toString('hex');
  const release = async () => {
    await redis.eval(RELEASE, 1, lockKey, mine);
  };
  if ((await redis.set(lockKey, mine, 'PX', deps.requestTimeoutMs * 2 + 5_000, 'NX')) !== 'OK') return await waits.defer(100);
  try {
    const active = await redis.get(activeKey);
    if (active !== state) {
      if (active !== null && (await runningScopes(deps.db, src.id)).some((s) => session.stateOf(s) === active)) {
        await release();
        return await waits.defer(200);
      }
      const wait = await activate(deps, walk.lane, { session, state, activeKey });
      if (wait > 0) {
        await release();
        return await waits.holdLane(wait);
      }
      deps.log.debug({ source: src.id, state }, 'session state activated');
    }
    await redis.set(activeKey, state, 'PX', ACTIVE_TTL_MS);
    return release;
  } catch (err) {
    await release();
    throw err;
  }
}
