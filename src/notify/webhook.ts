import type { WebhookConfig } from './config.js';
import type { NotifyEvent } from './events.js';

/** How long a webhook may take to answer. */
export const WEBHOOK_TIMEOUT_MS = 10_000;

/**
 * The body a webhook gets: Slack's `{"text": "fleetsync: ..."}`, or fleetsync's JSON
 * `{"event": "run_failed", "source": ..., "text": ..., ...facts}`. Pure.
 */
export function webhookBody(format: WebhookConfig['format'], event: NotifyEvent): Record<string, unknown> {
  if (format === 'slack') return { text: `fleetsync: ${event.text}` };
  return { event: event.kind, source: event.source, text: event.text, ...event.data };
}

/** The host of a webhook URL: all a log line or an error may show of it (the URL itself is a secret). */
export function webhookHost(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return '(invalid URL)';
  }
}

/** POSTs one event to a webhook. Resolves when it answered 2xx; rejects with an Error naming only its host otherwise. */
export async function sendWebhook(hook: WebhookConfig, event: NotifyEvent, fetchImpl: typeof fetch = fetch): Promise<void> {
  let res: Response;
  try {
    res = await fetchImpl(hook.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(webhookBody(hook.format, event)),
      redirect: 'error',
      signal: AbortSignal.timeout(WEBHOOK_TIMEOUT_MS),
    });
  } catch (err) {
    const code = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).name;
    throw new Error(`webhook at ${webhookHost(hook.url)} unreachable (${code})`);
  }
  await res.arrayBuffer().catch(() => undefined);
  if (!res.ok) throw new Error(`webhook at ${webhookHost(hook.url)} answered ${res.status}`);
}
