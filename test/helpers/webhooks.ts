import { createHmac } from 'node:crypto';
import { Writable } from 'node:stream';
import { openApp, type App } from '../../src/app.js';
import { parseConfig } from '../../src/config.js';
import { createLogger, type Logger } from '../../src/logger.js';
import { REDIS_URL, type TestEnv } from '../helpers.js';

/** A logger that keeps every line (JSON, debug and up) for a test to search. */
export function capturingLogger(): { logger: Logger; text(): string } {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  return { logger: createLogger({ level: 'debug', destination, format: 'json' }), text: () => lines.join('') };
}

/** Opens an app over a test env with a given logger (env.open logs nothing); the caller closes it. */
export async function openAppWith(env: TestEnv, config: unknown, vars: NodeJS.ProcessEnv, logger: Logger, redisUrl = REDIS_URL): Promise<App> {
  return openApp({ config: parseConfig(config, vars), env: vars, logger, databaseUrl: env.databaseUrl, redisUrl, prefix: env.prefix });
}

/** Sends one delivery to the receiver as a vendor would; resolves with its status and body text. */
export async function deliver(url: string, body: string, headers: Record<string, string>, method: 'POST' | 'PUT' = 'POST'): Promise<{ status: number; text: string }> {
  const res = await fetch(url, { method, headers: { 'content-type': 'application/json', ...headers }, body });
  return { status: res.status, text: await res.text() };
}

/** A Toggl event delivery as Toggl sends it: its body, sent now unless `sentAt` says otherwise, and its signature. */
export function togglDelivery<P extends { id: number }>(secret: string, e: { eventId: number; subscriptionId: number; workspace: number; model: string; action: string; payload: P; sentAt?: string }): { body: string; headers: Record<string, string> } {
  const now = new Date().toISOString();
  const body = JSON.stringify({
    event_id: e.eventId,
    created_at: e.sentAt ?? now,
    creator_id: 9000001,
    metadata: { action: e.action, event_user_id: '9000001', model: e.model, workspace_id: String(e.workspace), [`${e.model}_id`]: String(e.payload.id) },
    payload: e.payload,
    subscription_id: e.subscriptionId,
    timestamp: e.sentAt ?? now,
    url_callback: 'http://127.0.0.1/',
  });
  return { body, headers: { 'x-webhook-signature-256': `sha256=${createHmac('sha256', secret).update(body).digest('hex')}` } };
}
