import { setTimeout as sleep } from 'node:timers/promises';
import type { App } from '../app.js';
import type { HttpPage } from '../http/client.js';
import type { PageRequest } from '../pagination/types.js';
import type { ResolvedSource } from '../sources.js';

/** One vendor request of a set-up command; resolves to the answer or rejects with a VendorError. */
export type VendorCall = (req: PageRequest) => Promise<HttpPage>;

/** Longest a set-up command waits, over all its requests, for room in the source's lane. */
const MAX_LANE_WAIT_MS = 120_000;

/**
 * Requests of a set-up command (`webhooks register|list|remove`) through the source's lane, so
 * they count against the same limits and quota as its page jobs in every process, and a 429
 * pauses the lane for them too. Waits for the gate up to two minutes in all, then throws naming
 * the lane.
 */
export function vendorCaller(app: Pick<App, 'engine'>, src: ResolvedSource, laneClass: string): VendorCall {
  // The engine's lane of the source (opened if it is not): the page and event jobs' own.
  const { lane } = app.engine.openLane(src.id, laneClass);
  let waited = 0;
  return async (req) => {
    for (;;) {
      const reply = await lane.request(req);
      if (reply.sent) return reply.page;
      if (waited + reply.waitMs > MAX_LANE_WAIT_MS) throw new Error(`${src.id}: the ${lane.name} lane has no room for ${Math.ceil(reply.waitMs / 1000)} s (its rate limit or quota is spent); try again later`);
      waited += reply.waitMs;
      await sleep(reply.waitMs);
    }
  };
}
