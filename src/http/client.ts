import http from 'node:http';
import https from 'node:https';
import axios, { AxiosError, type AxiosInstance, type AxiosResponse, type InternalAxiosRequestConfig } from 'axios';
import type { ErrorBodyReader, VendorQuota } from '../connector.js';
import { endpointOf, errorCode, formatEndpoint, vendorUnreachableMessage, type Endpoint } from '../infra-errors.js';
import type { PageRequest } from '../pagination/types.js';
import { DEADLINE, enforceDeadline, installRetries, isTooLarge, NOT_JSON } from './attempts.js';
import { rememberBodyText } from './body-text.js';
import { classifyStatus, parseRateLimitReset, parseRetryAfter, redirectMessage, VendorError } from './errors.js';
import { isLoopbackHost } from './loopback.js';
import { header, quotaWait, spentQuotaWait, throttleOf } from './throttle.js';
import { encodeDotSegments, exactPathTransport, hasDotSegment, type PathTransport } from './request-path.js';

/** Options of createHttpClient(). */
export interface HttpClientOptions {
  baseUrl: string;
  /** Secret headers (Authorization). Never logged, never part of an error. */
  authHeaders: Record<string, string>;
  readError: ErrorBodyReader;
  /** Longest the connection may stay silent (before the headers, or between two chunks of the body). */
  timeoutMs: number;
  /**
   * Longest one request may take in all, headers and body (a vendor sending a byte at a time
   * never trips `timeoutMs`); default 2 x timeoutMs. Passing it is a retryable failure that is
   * not retried in process.
   */
  deadlineMs?: number;
  /**
   * Largest response body read, counted after decompression; default 32 MiB. A bigger body is
   * refused as soon as it passes the limit (never read whole) and fails the walk.
   */
  maxResponseBytes?: number;
  /**
   * In-process retries of network errors, 5xx and bodies that are not JSON before the job's own
   * attempts take over (default 3); a timeout or a passed deadline is never retried in process.
   */
  retries?: number;
  /** Cap of any single in-process retry wait; a longer Retry-After goes to the lane. */
  maxInProcessWaitMs: number;
  /** Vendor quota headers (Toggl) read like X-RateLimit-Remaining/Reset; see VendorDefinition.quotaHeaders. */
  quotaHeaders?: VendorQuota;
  /** Called for every HTTP response or network failure (metrics, request counting). */
  onResponse?: (status: number | 'network') => void;
  /** Keep-alive agents to share (keepAliveAgents()); default: this client's own. */
  agents?: import('./agents.js').HttpAgents;
}


export { keepAliveAgents, type HttpAgents } from './agents.js';

/** A successful page response. throttleMs > 0 when the vendor said its window is spent. */
export interface HttpPage {
  status: number;
  body: unknown;
  requestId: string | null;
  throttleMs: number;
  /** Response headers, names lower-case, first value only (pagination styles read their cursor here). */
  headers: Record<string, string>;
}

/** What a caller adds to one request. */
export interface HttpCall {
  /** Aborts the request, every attempt of it. */
  signal?: AbortSignal;
  /**
   * Asked before each in-process retry is sent, once the failed attempt's answer is in: resolves
   * true when the retry may go (the lane took a gate slot of its own for it), false (or rejects)
   * to hand the failure on as it is. Without it, retries go as they come.
   */
  admitRetry?: () => Promise<boolean>;
}

/** A request against one source (GET unless `req.method` says otherwise): resolves to the page or rejects with a VendorError, nothing else. */
export type HttpGet = (req: PageRequest, call?: HttpCall) => Promise<HttpPage>;

/**
 * Checks a URL may be requested for a source: same origin as its base URL, and HTTPS unless
 * the host is loopback. Throws VendorError(kind 'unsafe') otherwise, without the credentials
 * ever having been sent.
 */
export function assertSafeUrl(url: string, baseUrl: string): URL {
  let u: URL;
  try {
    u = new URL(url, baseUrl);
  } catch {
    throw new VendorError({ kind: 'unsafe', message: `refused to follow an unparseable link ${JSON.stringify(url.slice(0, 200))}` });
  }
  const base = new URL(baseUrl);
  if (u.origin !== base.origin) {
    throw new VendorError({ kind: 'unsafe', message: `refused to follow a link to ${u.origin}, off the source's origin ${base.origin}` });
  }
  if (u.protocol !== 'https:' && !(u.protocol === 'http:' && isLoopbackHost(u.hostname))) {
    throw new VendorError({ kind: 'unsafe', message: `refused plain ${u.protocol} to ${u.hostname}: only loopback may use http` });
  }
  return u;
}


/** A response's headers as plain strings (names lower-case, first value of a repeated one). */
function headersOf(res: AxiosResponse): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries((res.headers ?? {}) as Record<string, unknown>)) {
    if (typeof v === 'string') out[k.toLowerCase()] = v;
    else if (typeof v === 'number') out[k.toLowerCase()] = String(v);
    else if (Array.isArray(v) && typeof v[0] === 'string') out[k.toLowerCase()] = v[0];
  }
  return out;
}

function requestIdOf(res: AxiosResponse | undefined, fromBody?: string): string | null {
  return header(res, 'x-request-id') ?? header(res, 'request-id') ?? fromBody ?? null;
}

function bodyRequestId(body: unknown): string | undefined {
  if (body !== null && typeof body === 'object' && 'request_id' in body) {
    const r = (body as { request_id: unknown }).request_id;
    if (typeof r === 'string') return r;
  }
  return undefined;
}

function truncate(s: string, n = 500): string {
  return s.length > n ? `${s.slice(0, n)}…` : s;
}

/**
 * The text of an error body the vendor's reader did not recognise: a text body as it is, a JSON
 * body of another shape (a proxy's, a framework's `{"detail": ...}`) compacted, so the message
 * says more than the status. null for an empty body.
 */
function bodyText(body: unknown): string | null {
  if (typeof body === 'string') return body.trim() === '' ? null : truncate(body.trim(), 300);
  if (body === null || body === undefined || typeof body !== 'object') return body === null || body === undefined ? null : String(body);
  const json = JSON.stringify(body);
  return json === '{}' || json === '[]' ? null : truncate(json, 300);
}

/**
 * Parses a response body read as text. A 2xx answer to a GET must be JSON: a cut-off, HTML or
 * empty body is a transport fault (a proxy's error page, a connection cut mid-body) and throws
 * an AxiosError that the retries see; any other body that is not JSON stays text (error bodies,
 * session requests without a body). Bound to axios' config as transformResponse.
 */
function parseBody(this: InternalAxiosRequestConfig & { response?: AxiosResponse }, data: unknown, _headers: unknown, status?: number): unknown {
  if (typeof data !== 'string') return data;
  try {
    const body: unknown = JSON.parse(data);
    rememberBodyText(body, data);
    return body;
  } catch {
    const page = status !== undefined && status >= 200 && status < 300 && (this.method ?? 'get').toLowerCase() === 'get';
    if (!page) return data;
    const shown = data.length === 0 ? '(empty body)' : data.slice(0, 200);
    // The config lets axios-retry repeat the request; the response carries the status and request id.
    throw new AxiosError(`${status} but the body was not JSON: ${shown}`, NOT_JSON, this, null, this.response);
  }
}


/** The vendor's host and port as messages name it: the base URL's, with the scheme's default port. */
function vendorEndpoint(baseUrl: string): Endpoint | null {
  return endpointOf(baseUrl, baseUrl.startsWith('http:') ? 80 : 443);
}

/**
 * The message of a request that got no response, naming the vendor's host and port:
 * `cannot reach the vendor at api.example.com:443: ECONNREFUSED`, or for a timeout
 * `no answer from the vendor at api.example.com:443 within 60000 ms (ECONNABORTED)`.
 */
export function networkErrorMessage(baseUrl: string, code: string, timeoutMs: number, deadlineMs?: number): string {
  const endpoint = vendorEndpoint(baseUrl);
  if (code === DEADLINE) return `no complete answer from the vendor${endpoint ? ` at ${formatEndpoint(endpoint)}` : ''} within the request deadline of ${deadlineMs ?? 2 * timeoutMs} ms (headers and body; worker.requestDeadlineMs)`;
  if (code === 'ECONNABORTED' || code === 'ETIMEDOUT') return `no answer from the vendor${endpoint ? ` at ${formatEndpoint(endpoint)}` : ''} within ${timeoutMs} ms (${code})`;
  return vendorUnreachableMessage(endpoint, code);
}

/** Converts anything axios threw into a VendorError, dropping the request config (it holds the secret). */
function toVendorError(err: unknown, readError: ErrorBodyReader, quota: HttpClientOptions['quotaHeaders'], where: { baseUrl: string; timeoutMs: number; deadlineMs: number; maxBytes?: number; asked?: string }): VendorError {
  if (err instanceof VendorError) return err;
  if (err instanceof AxiosError && err.code === NOT_JSON) {
    return new VendorError({ kind: 'retryable', status: err.response?.status ?? null, requestId: requestIdOf(err.response), message: err.message });
  }
  if (err instanceof AxiosError && isTooLarge(err)) {
    return new VendorError({ kind: 'invalid_request', message: `the response body is larger than maxResponseBytes (${where.maxBytes} bytes): refused without reading the rest` });
  }
  if (err instanceof AxiosError) {
    const res = err.response;
    if (res) {
      const body: unknown = res.data;
      const read = readError(body);
      const requestId = requestIdOf(res, read.requestId ?? bodyRequestId(body));
      const vendorMessage = read.message ?? bodyText(body);
      let kind = classifyStatus(res.status);
      let retryAfterMs: number | null = null;
      // A 402 with a spent quota (Toggl's hourly quota) ends when the quota resets: a lane pause,
      // not a plan problem that needs someone to resume the source.
      const quotaMs = res.status === 402 ? (quotaWait(res, quota) ?? spentQuotaWait(vendorMessage, quota)) : null;
      if (quotaMs !== null) {
        kind = 'rate_limited';
        retryAfterMs = quotaMs;
      }
      if (quotaMs === null && (kind === 'rate_limited' || res.status === 503)) {
        retryAfterMs = parseRetryAfter(header(res, 'retry-after')) ?? parseRateLimitReset(header(res, 'x-ratelimit-reset'));
      }
      const redirect = res.status >= 300 && res.status < 400 ? redirectMessage(res.status, header(res, 'location'), where.baseUrl) : null;
      return new VendorError({
        kind,
        status: res.status,
        vendorMessage: vendorMessage === null ? null : truncate(vendorMessage),
        requestId,
        retryAfterMs,
        // A 404 says which path was asked: a wrong baseUrl or endpoint option is then plain to see.
        message: redirect ?? `${res.status}${vendorMessage ? ` ${truncate(vendorMessage)}` : ''}${res.status === 404 && where.asked ? ` (${where.asked})` : ''}`,
      });
    }
    // No response: a network failure or a timeout. Only the code is kept, with where it went.
    const code = errorCode(err) ?? 'unknown';
    return new VendorError({ kind: 'retryable', code, message: networkErrorMessage(where.baseUrl, code, where.timeoutMs, where.deadlineMs) });
  }
  return new VendorError({ kind: 'retryable', message: `request failed: ${err instanceof Error ? err.name : 'unknown error'}` });
}

/** The axios instance of one source: base URL, auth headers, keep-alive agents, text bodies up to `maxBytes`, no redirects. */
function axiosFor(opts: HttpClientOptions, maxBytes: number): AxiosInstance {
  return axios.create({
    baseURL: opts.baseUrl.replace(/\/+$/, ''),
    timeout: opts.timeoutMs,
    headers: { Accept: 'application/json', 'Accept-Encoding': 'gzip, deflate', ...opts.authHeaders },
    httpAgent: opts.agents?.http ?? new http.Agent({ keepAlive: true, maxSockets: 16 }),
    httpsAgent: opts.agents?.https ?? new https.Agent({ keepAlive: true, maxSockets: 16 }),
    maxRedirects: 0,
    // Text, parsed by parseBody: axios' own JSON parsing hands a broken body over as a string.
    responseType: 'text',
    transformResponse: [parseBody],
    maxContentLength: maxBytes,
    transitional: { silentJSONParsing: true, forcedJSONParsing: false, clarifyTimeoutError: false },
  });
}

/**
 * Builds the HTTP client of one source: keep-alive, gzip, auth headers, a bounded body
 * (maxResponseBytes), and in-process retries of network errors, 5xx and 2xx bodies that are not
 * JSON, with exponential backoff and full jitter (axios-retry). 429 is never retried here: it is
 * handed to the lane. Every failure comes out as a VendorError.
 */
export function createHttpClient(opts: HttpClientOptions): HttpGet {
  const maxBytes = opts.maxResponseBytes ?? 32 * 1024 * 1024;
  const instance = axiosFor(opts, maxBytes);
  const deadlineMs = opts.deadlineMs ?? 2 * opts.timeoutMs;
  // Before axios-retry: its retry condition must see a passed deadline as such.
  enforceDeadline(instance, deadlineMs);
  installRetries(instance, opts);

  return async (req: PageRequest, call: HttpCall = {}): Promise<HttpPage> => {
    let target: string;
    // A path with a `.` or `..` segment (a vendor id) is sent encoded and as it is (request-path.ts).
    let transport: PathTransport | undefined;
    let asked: URL;
    if (req.url !== undefined) {
      asked = assertSafeUrl(req.url, opts.baseUrl);
      target = asked.toString();
    } else {
      target = req.path ?? '';
      asked = assertSafeUrl(`${opts.baseUrl.replace(/\/+$/, '')}${target}`, opts.baseUrl);
      if (hasDotSegment(target)) transport = exactPathTransport(`${new URL(opts.baseUrl).pathname.replace(/\/+$/, '')}${encodeDotSegments(target.split('?')[0]!)}`);
    }
    try {
      const method = req.method ?? 'GET';
      const res = await instance.request<unknown>({
        method,
        url: target,
        params: req.params,
        fleetsyncCaller: call.signal,
        fleetsyncAdmitRetry: call.admitRetry,
        ...(transport ? { transport } : {}),
        ...(method === 'GET' ? {} : { data: req.body ?? {}, headers: { 'Content-Type': 'application/json' } }),
      });
      opts.onResponse?.(res.status);
      return { status: res.status, body: res.data, requestId: requestIdOf(res, bodyRequestId(res.data)), throttleMs: throttleOf(res, opts.quotaHeaders), headers: headersOf(res) };
    } catch (err) {
      opts.onResponse?.(err instanceof AxiosError && err.response ? err.response.status : 'network');
      // The path only: a query string may carry a token.
      throw toVendorError(err, opts.readError, opts.quotaHeaders, { baseUrl: opts.baseUrl, timeoutMs: opts.timeoutMs, deadlineMs, maxBytes, asked: `${(req.method ?? 'GET')} ${asked.pathname}` });
    }
  };
}
