import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Logger } from '../logger.js';
import { listening, type Listening } from '../listening.js';
import { sourceOfPath } from './config.js';
import type { Answer } from './handle.js';
import type { Delivery } from './vendor.js';

/** Options of startReceiver(). */
export interface ReceiverOptions {
  host: string;
  port: number;
  /** Largest body read; a bigger one is answered 413 without reading it whole. */
  maxBodyBytes: number;
  /** Answers one delivery (handleDelivery with its deps); never throws. */
  handle(d: Delivery): Promise<Answer>;
  logger: Logger;
}

/** At most one warning per source and status a minute: a flood of forged requests is one line plus a count. */
export class RefusalLog {
  private readonly last = new Map<string, { at: number; suppressed: number }>();

  constructor(private readonly everyMs = 60_000) {}

  /** Whether to log now, and how many refusals of the key went unlogged since the last line. */
  take(key: string, now: number): { log: boolean; suppressed: number } {
    const seen = this.last.get(key);
    if (seen && now - seen.at < this.everyMs) {
      seen.suppressed++;
      return { log: false, suppressed: 0 };
    }
    if (this.last.size > 10_000) this.last.clear();
    this.last.set(key, { at: now, suppressed: 0 });
    return { log: true, suppressed: seen?.suppressed ?? 0 };
  }
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) return;
  const text = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, { ...(text ? { 'content-type': 'application/json' } : {}), 'content-length': String(Buffer.byteLength(text)), 'cache-control': 'no-store', ...headers });
  res.end(text);
}

/**
 * Reads a body up to `max` bytes; null once it is bigger: reading stops there (the stream is
 * paused, not destroyed, so the 413 still goes out before the connection is closed).
 */
function readBody(req: IncomingMessage, max: number): Promise<Buffer | null> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > max) return Promise.resolve(null);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= max) return void chunks.push(chunk);
      req.off('data', onData);
      req.pause();
      resolve(null);
    };
    req.on('data', onData);
    req.once('end', () => resolve(Buffer.concat(chunks)));
    req.once('error', reject);
  });
}

function logAnswer(opts: ReceiverOptions, refusals: RefusalLog, sourceId: string, answer: Answer): void {
  const fields = { component: 'webhooks', source: sourceId, status: answer.status };
  if (answer.level !== 'warn') {
    opts.logger[answer.level](fields, answer.note);
    return;
  }
  const turn = refusals.take(`${sourceId}:${answer.status}`, Date.now());
  if (turn.log) opts.logger.warn({ ...fields, ...(turn.suppressed ? { alsoRefused: turn.suppressed } : {}) }, turn.suppressed ? `${answer.note} (and ${turn.suppressed} more like it in the last minute)` : answer.note);
}

async function serve(opts: ReceiverOptions, refusals: RefusalLog, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const receivedAt = Date.now();
  const path = new URL(req.url ?? '/', 'http://receiver.invalid').pathname;
  const sourceId = sourceOfPath(path);
  // Anything but /webhooks/<source> is not ours: no body is read, nothing is logged.
  if (sourceId === null) return send(res, 404, { error: 'not found' });
  if (req.method !== 'POST' && req.method !== 'PUT') return send(res, 405, { error: 'method not allowed' }, { allow: 'POST, PUT' });
  const body = await readBody(req, opts.maxBodyBytes);
  if (body === null) {
    logAnswer(opts, refusals, sourceId, { status: 413, level: 'warn', note: `${sourceId}: webhook refused: body over webhooks.maxBodyBytes (${opts.maxBodyBytes} bytes)` });
    send(res, 413, { error: 'body too large' }, { connection: 'close' });
    // The rest of an oversized body is never read: the connection goes.
    res.once('finish', () => req.destroy());
    return;
  }
  const answer = await opts.handle({ sourceId, method: req.method, headers: req.headers, body, receivedAt });
  logAnswer(opts, refusals, sourceId, answer);
  send(res, answer.status, answer.body, answer.headers);
}

/**
 * Serves the webhook receiver: `POST|PUT /webhooks/<source id>` only, bodies up to
 * `maxBodyBytes`, every delivery answered by `handle`. Slow clients are cut off (headers within
 * 10 s, the whole request within 30 s). Resolves once listening; rejects with a message naming the
 * address when it cannot listen.
 */
export async function startReceiver(opts: ReceiverOptions): Promise<Listening> {
  const refusals = new RefusalLog();
  const server = createServer((req, res) => {
    serve(opts, refusals, req, res).catch((err: unknown) => {
      opts.logger.error({ component: 'webhooks', err: err instanceof Error ? err.message : String(err) }, 'webhook receiver failed to answer');
      send(res, 500, { error: 'internal error' });
    });
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  server.keepAliveTimeout = 5_000;
  server.maxHeadersCount = 100;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      const where = `${opts.host}:${opts.port}`;
      const why = err.code === 'EADDRINUSE' ? `${where} is already in use (set webhooks.listen.port or --port to a free port)` : err.code === 'EADDRNOTAVAIL' ? `${opts.host} is not an address of this machine` : `${where}: ${err.code ?? err.message}`;
      reject(new Error(`webhook receiver cannot listen: ${why}`));
    });
    server.listen(opts.port, opts.host, () => resolve());
  });
  return listening(server);
}
