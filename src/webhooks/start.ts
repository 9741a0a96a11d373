import type { App } from '../app.js';
import { EventRefused } from '../events/enqueue.js';
import type { Listening } from '../listening.js';
import { handleDelivery, type DeliveryDeps } from './handle.js';
import { startReceiver } from './receiver.js';
import { webhookRoute } from './route.js';
import { SeenDeliveries } from './seen.js';

/**
 * Longest a delivery's answer waits for Redis (the replay check and the queueing): vendors give
 * up on slow endpoints (and Izuma retries them), and a 503 makes them send it again.
 */
export const ANSWER_WITHIN_MS = 5_000;

/** The delivery handler's dependencies over an open app. */
export function deliveryDeps(app: Pick<App, 'config' | 'sources' | 'engine' | 'events' | 'redis' | 'prefix'>): DeliveryDeps {
  const maxAgeMs = app.config.webhooks.maxAgeSeconds * 1000;
  return {
    route: (id) => webhookRoute(app.sources, id, (ids) => app.engine.sourcesChanged(ids)),
    enqueue: async (events) => {
      try {
        return await app.events.enqueue(events);
      } catch (err) {
        // An event the core can never apply is the sender's problem (400), not Redis's (503).
        if (err instanceof EventRefused) return { refused: err.message };
        throw err;
      }
    },
    // Keys outlive the tolerance on both sides of the clock: an older copy is refused as stale.
    seen: new SeenDeliveries(app.redis, app.prefix, 2 * maxAgeMs + 60_000),
    redisReady: () => app.redis.status === 'ready',
    maxAgeMs,
    answerWithinMs: ANSWER_WITHIN_MS,
  };
}

/**
 * Starts the webhook receiver of an app on `host:port` (`webhooks serve`, or the worker with
 * `webhooks.listen`). It only queues: the page workers apply the events on the sources' lanes.
 */
export async function startWebhookReceiver(app: App, at: { host: string; port: number }): Promise<Listening> {
  const deps = deliveryDeps(app);
  const server = await startReceiver({ ...at, maxBodyBytes: app.config.webhooks.maxBodyBytes, handle: (d) => handleDelivery(deps, d), logger: app.logger });
  app.logger.info({ component: 'webhooks', host: at.host, port: server.port }, `webhook receiver listening on ${at.host}:${server.port} (POST/PUT /webhooks/<source id>)`);
  return server;
}
