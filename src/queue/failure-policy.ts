import { VendorError } from '../http/errors.js';
import { UNREACHABLE_CODES } from '../infra-errors.js';
import { PageShapeError, PaginationLoopError } from '../pagination/types.js';
import { classifyPostgresError, postgresErrorMessage } from '../warehouse/postgres-errors.js';
import { formatQuota } from './quota.js';

/** What is recorded on the walks (and the run) a failure ends: message, HTTP status, vendor request id. */
export interface FailureRecord {
  message: string;
  status: number | null;
  requestId: string | null;
}

/**
 * What a page job does about an error. Every variant carries the text to log or throw:
 * - pass: a BullMQ control error (rate limit, delay) that must be rethrown as it is;
 * - retry: throw `message` so BullMQ retries; `giveUp` is set on the last attempt, and the walk is then failed with it;
 * - fail-walk: fail this walk, throw UnrecoverableError;
 * - pause-lane: the vendor said wait: hold the whole lane `waitMs`, no attempt spent;
 * - wait: Postgres is out of resources: log `message` (what to free), the job waits `waitMs`, no attempt spent;
 * - fail-run: refused credentials: fail every running walk of the run;
 * - pause-source: 402 of a vendor whose 402 stops the whole account: pause the source until someone resumes it (the failure message is the reason);
 * - pause-resource: 402 of a vendor whose 402 is a plan restriction of one endpoint (Toggl): pause that resource of the source until resumed and fail its running walks; the others go on;
 * - disable-resource: 410: disable the resource for the source and fail its running walks.
 */
export type FailureAction =
  | { action: 'pass' }
  | { action: 'retry'; message: string; giveUp: FailureRecord | null; status: number | null; requestId: string | null }
  | { action: 'fail-walk'; failure: FailureRecord }
  | { action: 'pause-lane'; waitMs: number; reason: string; failure: FailureRecord }
  | { action: 'wait'; waitMs: number; message: string }
  | { action: 'fail-run'; failure: FailureRecord }
  | { action: 'pause-source'; failure: FailureRecord }
  | { action: 'pause-resource'; failure: FailureRecord }
  | { action: 'disable-resource'; failure: FailureRecord };

/** What the decision depends on besides the error. */
export interface FailureContext {
  /** "source/resource scope page" of the page. */
  where: string;
  sourceId: string;
  resource: string;
  /** This attempt, from 1. */
  attempt: number;
  maxAttempts: number;
  /** Lane pause after a 429 that names no wait (the source's setting, else the vendor's). */
  rateLimitBackoffMs: number;
  /**
   * What a 402 that is not a spent quota stops (VendorDefinition.paymentRequired): the whole
   * source (default), or only this resource (a plan restriction of one endpoint).
   */
  paymentRequired?: 'source' | 'resource';
  /** The source's hourly request quota (src/queue/quota.ts), for the text of a spent quota's 402; null or absent without one. */
  quotaPerHour?: number | null;
  /** Whether the run has yet to get any answer from the vendor (no walk of it committed a page): a connection failure then points at a wrong baseUrl. */
  firstRequest: boolean;
  /** Base of the job's exponential backoff between attempts (worker.backoffMs). */
  backoffMs: number;
  /** How long a first request may keep failing to connect before the run fails (worker.connectFailureTimeoutMs). */
  connectFailureTimeoutMs: number;
}

/**
 * Longest time the attempts up to and including the next one have waited in backoff, for
 * BullMQ's exponential backoff (attempt n waits backoffMs * 2^(n-1), jitter only shortens it):
 * backoffMs * (2^attempt - 1).
 */
export function backoffThroughNextAttempt(backoffMs: number, attempt: number): number {
  return backoffMs * (2 ** attempt - 1);
}

/**
 * Decides what a page job's error means. Pure and total: any thrown value gives an action.
 * Transport errors and unknown errors (bugs, a database hiccup) retry through BullMQ attempts;
 * a page of the wrong shape, a pagination loop, or a Postgres integrity (23) or data (22) error
 * fails the walk at once; Postgres out of resources (53) waits and tries again for as long as it
 * takes, without spending attempts, saying what to free (src/warehouse/postgres-errors.ts). A walk's first request
 * that cannot connect (host not found, connection refused) retries only while the backoff
 * stays within connectFailureTimeoutMs, then fails the run: the baseUrl is most likely wrong,
 * and the full attempts schedule would take many minutes to say so. Once the run has had an
 * answer, connection failures keep the full schedule (a vendor restarting mid-run).
 */
export function decideFailure(err: unknown, ctx: FailureContext): FailureAction {
  if (err instanceof Error && (err.name === 'RateLimitError' || err.name === 'DelayedError')) return { action: 'pass' };
  const last = ctx.attempt >= ctx.maxAttempts;
  if (err instanceof PageShapeError || err instanceof PaginationLoopError) {
    return { action: 'fail-walk', failure: { message: `${ctx.where}: ${err.message}`, status: null, requestId: null } };
  }
  if (!(err instanceof VendorError)) {
    const pg = classifyPostgresError(err);
    if (pg !== null) {
      const message = `${ctx.where}: ${postgresErrorMessage(pg)}`;
      // Out of resources: wait for someone to free them, however long, without spending attempts.
      if (pg.kind === 'resources') return { action: 'wait', waitMs: Math.min(5_000, Math.max(1_000, ctx.backoffMs)), message };
      return { action: 'fail-walk', failure: { message, status: null, requestId: null } };
    }
    const message = `${ctx.where}: ${err instanceof Error ? err.message : String(err)}`;
    return { action: 'retry', message, giveUp: last ? { message, status: null, requestId: null } : null, status: null, requestId: null };
  }
  const base: FailureRecord = { message: `${ctx.where}: ${err.message}`, status: err.status, requestId: err.requestId };
  const requestNote = err.requestId ? ` (request ${err.requestId})` : '';
  switch (err.kind) {
    case 'rate_limited': {
      const waitMs = err.retryAfterMs ?? ctx.rateLimitBackoffMs;
      // A 402 that is a spent quota (its headers or its text): "quota: 0 of 30 requests left this hour, resumes 14:00".
      const what = err.status === 402 ? `402 ${formatQuota({ left: 0, max: ctx.quotaPerHour ?? null, resumesAt: Date.now() + waitMs })}` : `${err.status ?? 429} from vendor`;
      return { action: 'pause-lane', waitMs, reason: `${what}${requestNote}`, failure: base };
    }
    case 'retryable':
      if (ctx.firstRequest && err.code !== null && UNREACHABLE_CODES.has(err.code) && (last || backoffThroughNextAttempt(ctx.backoffMs, ctx.attempt) > ctx.connectFailureTimeoutMs)) {
        return {
          action: 'fail-run',
          failure: { ...base, message: `${base.message}; check the baseUrl of source ${ctx.sourceId} (gave up after ${ctx.attempt} attempts)` },
        };
      }
      return {
        action: 'retry',
        message: base.message,
        giveUp: last ? { ...base, message: `${base.message} (gave up after ${ctx.attempt} attempts)` } : null,
        status: err.status,
        requestId: err.requestId,
      };
    case 'auth':
      return { action: 'fail-run', failure: { ...base, message: `${base.message}: check the credentials of source ${ctx.sourceId}` } };
    case 'payment_required':
      return paymentRequired(base, ctx);
    case 'gone':
      return {
        action: 'disable-resource',
        failure: {
          ...base,
          message: `${base.message}: endpoint gone; ${ctx.resource} is disabled for ${ctx.sourceId} until \`fleetsync enable --source ${ctx.sourceId} --resource ${ctx.resource}\``,
        },
      };
    case 'invalid_request':
    case 'unsafe':
    default:
      return { action: 'fail-walk', failure: base };
  }
}

/**
 * A 402 that is not a spent quota (a spent one is rate_limited): a plan restriction of this
 * resource's endpoint pauses the resource, other vendors' 402 (the account is not paid) the
 * source. The message says which and how to resume.
 */
function paymentRequired(base: FailureRecord, ctx: Pick<FailureContext, 'sourceId' | 'resource' | 'paymentRequired'>): FailureAction {
  const why = `${base.message}: payment required, not a spent quota: the plan lacks what ${ctx.resource} needs`;
  if (ctx.paymentRequired === 'resource') {
    const resume = `fleetsync resume --source ${ctx.sourceId} --resource ${ctx.resource}`;
    return { action: 'pause-resource', failure: { ...base, message: `${why}; ${ctx.resource} is paused for ${ctx.sourceId} (its other resources go on); resume with \`${resume}\` once it is upgraded` } };
  }
  return { action: 'pause-source', failure: { ...base, message: `${why}; resume with \`fleetsync resume --source ${ctx.sourceId}\` once it is upgraded` } };
}
