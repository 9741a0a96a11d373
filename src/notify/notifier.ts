import { sql, type Kysely } from 'kysely';
import type { SourceConfig } from '../config.js';
import type { Logger } from '../logger.js';
import type { Database } from '../warehouse/db.js';
import type { NotificationsConfig, NotifyEventKind } from './config.js';
import { claimNotification, failedRunEvents, heldSweepEvents, releaseNotification, staleEvents, type NotifyEvent } from './events.js';
import { sendWebhook, webhookHost } from './webhook.js';

/** What a notifier reads and tells. */
export interface NotifierOptions {
  db: Kysely<Database>;
  config: NotificationsConfig;
  /** The sources this worker serves. */
  sourceIds: () => string[];
  configOf: (sourceId: string) => SourceConfig | undefined;
  logger: Logger;
  fetchImpl?: typeof fetch;
}

/** Claims older than this are forgotten (their events are past the lookback long since). */
const CLAIMS_KEPT_MS = 7 * 86_400_000;

/**
 * Tells the configured webhooks about failed runs, held sweeps and stale resources, from a
 * worker: every `checkEveryMs` it reads what happened in Postgres, claims each event per webhook
 * (so of all workers exactly one sends it) and POSTs it; a send that fails gives its claim back
 * and is tried again at the next check. Never throws; a failure is one warning naming the
 * webhook's host, never its URL.
 */
export class Notifier {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> = Promise.resolve();

  constructor(private readonly opts: NotifierOptions) {}

  /** Checks now, then every checkEveryMs. */
  start(): void {
    const tick = () => {
      this.running = this.running.then(async () => {
        await this.check().catch((err: unknown) => this.opts.logger.warn({ component: 'notifications', err: err instanceof Error ? err.message : String(err) }, 'notification check failed'));
      });
    };
    tick();
    this.timer = setInterval(tick, this.opts.config.checkEveryMs).unref();
  }

  /** Looks once for news and sends it. Returns the events sent (key and webhook host). */
  async check(now = Date.now()): Promise<Array<{ key: string; host: string }>> {
    const { db, config } = this.opts;
    const wanted = new Set<NotifyEventKind>(config.webhooks.flatMap((w) => w.events));
    const ids = this.opts.sourceIds();
    const events: NotifyEvent[] = [
      ...(wanted.has('run_failed') ? await failedRunEvents(db, ids) : []),
      ...(wanted.has('sweep_held') ? await heldSweepEvents(db, ids) : []),
      ...(wanted.has('stale') ? await staleEvents(db, ids, this.opts.configOf, now) : []),
    ];
    const sent: Array<{ key: string; host: string }> = [];
    for (const [i, hook] of config.webhooks.entries()) {
      for (const event of events.filter((e) => hook.events.includes(e.kind))) {
        const key = `${event.key}@${i}`;
        if (!(await claimNotification(db, key))) continue;
        try {
          await sendWebhook(hook, event, this.opts.fetchImpl);
          sent.push({ key, host: webhookHost(hook.url) });
          this.opts.logger.info({ component: 'notifications', event: event.kind, source: event.source, webhook: webhookHost(hook.url) }, `notified: ${event.text}`);
        } catch (err) {
          await releaseNotification(db, key);
          this.opts.logger.warn({ component: 'notifications', event: event.kind, source: event.source }, `notification not sent, tried again in ${this.opts.config.checkEveryMs} ms: ${(err as Error).message}`);
        }
      }
    }
    await sql`DELETE FROM sync_notifications WHERE sent_at < now() - make_interval(secs => ${CLAIMS_KEPT_MS / 1000})`.execute(db);
    return sent;
  }

  /** Stops checking after the check in hand. */
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }
}

/** A notifier for a worker when the config has webhooks; null otherwise. */
export function notifierFor(app: { db: Kysely<Database>; config: { notifications: NotificationsConfig }; sources: { configOf(id: string): SourceConfig | undefined } }, logger: Logger, sourceIds: () => string[]): Notifier | null {
  const config = app.config.notifications;
  if (config.webhooks.length === 0) return null;
  return new Notifier({ db: app.db, config, sourceIds, configOf: (id) => app.sources.configOf(id), logger });
}
