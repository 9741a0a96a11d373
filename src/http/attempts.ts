import { AxiosError, type AxiosInstance } from 'axios';
import axiosRetry from 'axios-retry';
import type { HttpClientOptions } from './client.js';
import { parseRetryAfter } from './errors.js';
import { header } from './throttle.js';

// Every attempt of one request: its own deadline, whether it is retried in process, after how
// long, and only once the caller admitted the retry (the lane's gate slot of its own).

/** axios error code of a 2xx page whose body is not JSON: a transport fault, retried like a 5xx. */
export const NOT_JSON = 'ERR_FLEETSYNC_NOT_JSON';

/** Error code of a request that passed its deadline (headers and body), set on the axios error. */
export const DEADLINE = 'ERR_FLEETSYNC_DEADLINE';

/** Codes of a request that got no (complete) answer in time: already a whole timeout spent, so not retried in process. */
const TIMED_OUT: ReadonlySet<string> = new Set(['ECONNABORTED', 'ETIMEDOUT', DEADLINE]);

declare module 'axios' {
  interface AxiosRequestConfig {
    /** The caller's abort signal; each attempt's `signal` combines it with the attempt's deadline. */
    fleetsyncCaller?: AbortSignal | undefined;
    /** The deadline of the current attempt. */
    fleetsyncDeadline?: AbortSignal;
    /** HttpCall.admitRetry of the request. */
    fleetsyncAdmitRetry?: (() => Promise<boolean>) | undefined;
  }
}

/**
 * Gives every attempt of a request (axios-retry repeats go through the request interceptors
 * again) its own total deadline, and turns an abort by that deadline into an error with code
 * DEADLINE (the caller's own abort stays ERR_CANCELED, which nothing retries).
 */
export function enforceDeadline(instance: AxiosInstance, deadlineMs: number): void {
  instance.interceptors.request.use((config) => {
    const deadline = AbortSignal.timeout(deadlineMs);
    config.fleetsyncDeadline = deadline;
    config.signal = config.fleetsyncCaller ? AbortSignal.any([config.fleetsyncCaller, deadline]) : deadline;
    return config;
  });
  instance.interceptors.response.use(undefined, (err: unknown) => {
    if (err instanceof AxiosError && err.code === AxiosError.ERR_CANCELED && err.config?.fleetsyncDeadline?.aborted && !err.config.fleetsyncCaller?.aborted) {
      err.code = DEADLINE;
      err.message = `deadline of ${deadlineMs} ms passed`;
    }
    throw err;
  });
}

/** True for axios' refusal of a body over maxContentLength. */
export function isTooLarge(err: AxiosError): boolean {
  return err.code === AxiosError.ERR_BAD_RESPONSE && err.response === undefined && err.message.startsWith('maxContentLength');
}

/** Failures worth another attempt in process: network errors (not timeouts), 5xx but 501, bodies that are not JSON. */
function isRetryable(err: AxiosError): boolean {
  if (err.code === NOT_JSON) return true;
  if (isTooLarge(err)) return false;
  const status = err.response?.status;
  if (status === undefined) return err.code !== 'ERR_CANCELED' && !TIMED_OUT.has(err.code ?? '');
  return status >= 500 && status !== 501;
}

/**
 * In-process retries (axios-retry) of what isRetryable() accepts, each admitted by the caller
 * first (HttpCall.admitRetry); full jitter, at most maxInProcessWaitMs.
 */
export function installRetries(instance: AxiosInstance, opts: Pick<HttpClientOptions, 'retries' | 'maxInProcessWaitMs' | 'onResponse'>): void {
  axiosRetry(instance, {
    retries: opts.retries ?? 3,
    shouldResetTimeout: true,
    // Asked only while retries are left. A retry is a request the vendor counts: it goes only once
    // the caller admitted it (a gate slot of its own), so what the vendor counts stays within the
    // lane's limit; not admitted (or the admission failed), the failure is handed on as it is.
    retryCondition: (err) => (isRetryable(err) ? (err.config?.fleetsyncAdmitRetry?.() ?? true) : false),
    retryDelay: (retryCount, err) => {
      const fromVendor = parseRetryAfter(header(err.response, 'retry-after'));
      const exp = Math.min(opts.maxInProcessWaitMs, 250 * 2 ** retryCount);
      const jittered = Math.random() * exp; // full jitter
      return Math.min(opts.maxInProcessWaitMs, Math.max(jittered, fromVendor ?? 0));
    },
    onRetry: (_count, err) => opts.onResponse?.(err.response?.status ?? 'network'),
  });
}
