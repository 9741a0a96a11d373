import { ConfigError } from '../config-errors.js';
import type { SourceRegistry } from '../source-registry.js';
import type { ResolvedSource } from '../sources.js';
import type { WebhookRoute } from './handle.js';
import { WEBHOOK_VENDORS } from './vendors.js';

/**
 * Where a resolved source's deliveries go (pure): its vendor's reader and its webhookSecret, or
 * why it receives none (a vendor without events, no secret configured).
 */
export function routeOfSource(src: Pick<ResolvedSource, 'id' | 'config' | 'credentials' | 'resources'>): WebhookRoute {
  const hooks = WEBHOOK_VENDORS[src.config.vendor];
  if (!hooks) return { ok: false, reason: `${src.id} is a source of vendor ${src.config.vendor}: events are received from ${Object.keys(WEBHOOK_VENDORS).join(' and ')} sources only` };
  const secret = src.credentials.webhookSecret;
  if (!secret) return { ok: false, reason: `${src.id} has no credentials.webhookSecret, so nothing it receives can be verified` };
  return { ok: true, hooks, secret, source: { id: src.id, resources: new Set(src.resources.keys()) } };
}

/**
 * The route of a source named by a receiver path, resolved with its credentials. A source this
 * process does not know yet (stored in Postgres a moment ago) is looked for once more, and the
 * sources that read found changed are handed to `changed` (the engine forgets their lanes, as
 * when a page job meets an unknown source).
 */
export async function webhookRoute(sources: Pick<SourceRegistry, 'has' | 'get' | 'refreshSoon'>, sourceId: string, changed: (ids: string[]) => void = () => undefined): Promise<WebhookRoute> {
  if (!sources.has(sourceId)) changed(await sources.refreshSoon());
  if (!sources.has(sourceId)) return { ok: false, reason: `no source ${sourceId}` };
  try {
    const src = sources.get(sourceId);
    return src ? routeOfSource(src) : { ok: false, reason: `no source ${sourceId}` };
  } catch (err) {
    // A credential that does not resolve here: named, never its value.
    if (err instanceof ConfigError) return { ok: false, reason: `${sourceId}: ${err.message.split('\n')[0]}` };
    throw err;
  }
}
