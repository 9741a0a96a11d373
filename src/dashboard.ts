import type { Server } from 'node:http';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import type { Queue } from 'bullmq';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Kysely } from 'kysely';
import { dashboardAccessProblem, hostIsLoopback, newToken, parseCookies, sameOrigin, secretsEqual } from './dashboard-access.js';
import { renderOverview, renderPage, renderRun } from './dashboard-pages.js';
import { listening, type Listening } from './listening.js';
import type { SourceConfig } from './config.js';
import type { Logger } from './logger.js';
import type { OverdueJob } from './overdue-jobs.js';
import { cancelRun, retryRun, RunControlError, type RunControlDeps } from './run-control.js';
import type { Database } from './warehouse/db.js';

/** Options of startDashboard(). */
export interface DashboardOptions {
  db: Kysely<Database>;
  /** The real queues to show in Bull Board: every lane, plus the schedules control queue. */
  queues: ReadonlyArray<Queue>;
  logger: Logger;
  port: number;
  /** Interface to listen on; default 127.0.0.1. Anything else requires `token`. */
  host?: string;
  /** Access token: when set, every request must carry it (cookie, bearer header, or ?token= once). */
  token?: string;
  /** Runs listed on the front page. */
  recentRuns?: number;
  /** Seconds between the pages' refreshes (default 5). */
  refreshSeconds?: number;
  /** The configured sources, each with a "sync now" button. */
  sources?: ReadonlyArray<{ id: string; vendor: string }>;
  /** Starts (or joins) a full run of a source: what "sync now" does. Without it there are no buttons. */
  startRun?: (sourceId: string) => Promise<{ runId: string; resumed: boolean }>;
  /** "servers lane (100/min)" for a resource of a source, for the waiting text. */
  laneOf?: (sourceId: string, resource: string) => string | undefined;
  /** Page jobs active far past their request deadline, shown on the overview (src/overdue-jobs.ts). */
  overdue?: () => Promise<OverdueJob[]>;
  /** Cancelling and retrying runs from the run page (src/run-control.ts). Without it there are no such buttons. */
  runControl?: RunControlDeps;
  /** A source's config, for its freshness thresholds (default 24h everywhere). */
  configOf?: (sourceId: string) => Pick<SourceConfig, 'freshness'> | undefined;
}

/** Thrown when the dashboard is asked to listen beyond loopback without a token. */
export class DashboardConfigError extends Error {
  override name = 'DashboardConfigError';
}

const AUTH_COOKIE = 'fleetsync_dashboard';
/**
 * The policy every response carries (pages add their script nonce): Bull Board's UI loads its
 * scripts and styles from /queues/static and sets inline styles; nothing from elsewhere.
 */
const CSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'";
const CSRF_COOKIE = 'fleetsync_csrf';

/**
 * Serves the dashboard: `/` the overview (sources with "sync now", live progress of running
 * walks, held sweeps, recent runs), `/runs/:id` a run (walks with durations, failures with the
 * vendor's message and request id, sweeps, held sweeps, quarantine samples), both refreshing
 * themselves; `POST /sources/:id/sync` starts a run; `/queues` Bull Board over the given queues;
 * `/healthz` answers `ok` to anyone (no token, any Host): the process serves.
 *
 * Access: listens on 127.0.0.1 by default and then accepts only loopback Host names (no DNS
 * rebinding); on any other interface it refuses to start without `token` (DashboardConfigError),
 * and with one every request must carry it (compared in constant time). Without a token Bull
 * Board is read-only (its actions refused, 403). Every response carries a Content-Security-Policy.
 * State-changing requests
 * must come from this dashboard's own pages: same Origin, plus, for "sync now", the per-process
 * CSRF token both in a SameSite=Strict cookie and in the form.
 * Resolves once listening; close() stops it without closing the queues or db.
 */
export async function startDashboard(opts: DashboardOptions): Promise<Listening> {
  const host = opts.host ?? '127.0.0.1';
  const token = checkedToken(opts.token, host);
  const csrf = newToken();
  const sources = opts.sources ?? [];
  const site: Site = {
    opts,
    csrf,
    sources,
    pageCtx: {
      db: opts.db,
      logger: opts.logger,
      sources,
      csrf: opts.startRun || opts.runControl ? csrf : null,
      runControl: opts.runControl !== undefined,
      ...(opts.laneOf ? { laneOf: opts.laneOf } : {}),
      ...(opts.overdue ? { overdue: opts.overdue } : {}),
      ...(opts.configOf ? { configOf: opts.configOf } : {}),
    },
  };
  const app = express();
  app.disable('x-powered-by');
  // Liveness for a container's healthcheck: answers before the access rules (it tells nothing
  // but "this process serves"), so a token-protected dashboard can be checked without the token.
  app.get('/healthz', (_req: Request, res: Response) => {
    res.setHeader('Cache-Control', 'no-store');
    res.type('text').send('ok\n');
  });
  app.use(accessGuard(token));
  app.get('/', (req, res) => overview(site, req, res));
  app.get('/runs/:id', (req, res) => runPage(site, req, res));
  app.post('/sources/:id/sync', express.urlencoded({ extended: false, limit: '4kb' }), (req, res) => syncNow(site, req, res));
  app.post('/runs/:id/:action', express.urlencoded({ extended: false, limit: '4kb' }), (req, res) => runAction(site, req, res));
  // Without a token anyone on the machine reaches the dashboard: Bull Board only shows then.
  app.use('/queues', bullBoard(opts.queues, token === null));

  const server = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(opts.port, host, (err?: Error) => (err ? reject(err) : resolve(s)));
  });
  return listening(server);
}

/** What the routes share: the options, this process's CSRF token, the sources, the pages' context. */
interface Site {
  opts: DashboardOptions;
  csrf: string;
  sources: ReadonlyArray<{ id: string; vendor: string }>;
  pageCtx: Parameters<typeof renderOverview>[0];
}

/** The token to require, or null on loopback without one; refuses a missing token beyond loopback and a short one. */
function checkedToken(given: string | undefined, host: string): string | null {
  const token = given === undefined || given === '' ? null : given;
  const problem = dashboardAccessProblem(host, token);
  if (problem !== null) throw new DashboardConfigError(problem);
  return token;
}

/** Security headers on every answer; loopback Host names only without a token, the token with one; same Origin for anything but GET and HEAD. */
function accessGuard(token: string | null) {
  return (req: Request, res: Response, next: NextFunction) => {
    res.setHeader('X-Frame-Options', 'DENY');
    res.setHeader('Referrer-Policy', 'same-origin');
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Content-Security-Policy', CSP);
    if (token === null) {
      if (!hostIsLoopback(req.headers.host)) {
        res.status(403).type('text').send('this dashboard answers on loopback names only (localhost, 127.0.0.1, [::1]); give it a --token to serve other names');
        return;
      }
    } else if (!authorized(req, res, token)) {
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD' && !sameOrigin(req.headers)) {
      res.status(403).type('text').send('refused: this request does not come from a page of this dashboard (Origin)');
      return;
    }
    if (token === null && req.method !== 'GET' && req.method !== 'HEAD' && (req.path === '/queues' || req.path.startsWith('/queues/'))) {
      res.status(403).type('text').send('refused: the lanes (Bull Board) are read-only on a dashboard without a token; start it with --token or FLEETSYNC_DASHBOARD_TOKEN to pause, retry, clean or empty queues');
      return;
    }
    next();
  };
}

/** Bull Board over the given queues, mounted at /queues; `readOnly`: no actions (accessGuard refuses them too). */
function bullBoard(queues: ReadonlyArray<Queue>, readOnly: boolean): express.Router {
  const serverAdapter = new ExpressAdapter();
  serverAdapter.setBasePath('/queues');
  createBullBoard({
    queues: queues.map((q) => new BullMQAdapter(q, { readOnlyMode: readOnly })),
    serverAdapter,
    // The default menu cuts lane names ("automox-prod.ser…"); lanes are "<source>.<class>".
    options: { uiConfig: { boardTitle: 'fleetsync lanes', menu: { width: '22rem' } } },
  });
  return serverAdapter.getRouter() as express.Router;
}

/** A whole page around its live part, with its own script nonce and the CSRF cookie. */
function sendPage(site: Site, res: Response, title: string, live: string, flash?: string): void {
  const nonce = newToken().slice(0, 24);
  res.setHeader('Content-Security-Policy', `default-src 'self'; script-src 'nonce-${nonce}'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'`);
  res.setHeader('Cache-Control', 'no-store');
  // SameSite=Strict: another site's form never carries it, so its POST fails the CSRF check.
  res.cookie(CSRF_COOKIE, site.csrf, { httpOnly: true, sameSite: 'strict', path: '/' });
  res.type('html').send(renderPage(title, live, { refreshSeconds: site.opts.refreshSeconds ?? 5, nonce, ...(flash ? { flash } : {}) }));
}

function failed(site: Site, res: Response, what: string) {
  return (err: unknown) => {
    site.opts.logger.error({ err: err instanceof Error ? err.message : 'unknown' }, `dashboard ${what} failed`);
    if (!res.headersSent) res.status(500).type('text').send(`${what} failed; see the dashboard log`);
  };
}

function overview(site: Site, req: Request, res: Response): void {
  renderOverview(site.pageCtx, site.opts.recentRuns ?? 30)
    .then((live) => (req.query.fragment ? res.setHeader('Cache-Control', 'no-store').type('html').send(live) : sendPage(site, res, 'fleetsync', live)))
    .catch(failed(site, res, 'overview'));
}

function runPage(site: Site, req: Request, res: Response): void {
  const id = String(req.params.id);
  if (!/^\d{1,18}$/.test(id)) {
    res.status(404).type('text').send(`no run "${id}"`);
    return;
  }
  renderRun(site.pageCtx, id)
    .then((live) => {
      if (live === null) res.status(404).type('text').send(`no run ${id}`);
      else if (req.query.fragment) res.setHeader('Cache-Control', 'no-store').type('html').send(live);
      else sendPage(site, res, `fleetsync run ${id}`, live, flashOf(id, req.query));
    })
    .catch(failed(site, res, 'run page'));
}

/** "sync now": the CSRF token in form and cookie, a configured source, then the run's page. */
function syncNow(site: Site, req: Request, res: Response): void {
  const { opts, csrf, sources } = site;
  const id = String(req.params.id);
  if (!opts.startRun || !formOk(req, csrf)) {
    res.status(403).type('text').send(STALE_FORM);
    return;
  }
  if (!sources.some((s) => s.id === id)) {
    res.status(404).type('text').send(`unknown source "${id}" (configured: ${sources.map((s) => s.id).join(', ')})`);
    return;
  }
  opts
    .startRun(id)
    .then(({ runId, resumed }) => {
      opts.logger.info({ source: id, runId, resumed }, 'dashboard: sync now');
      res.redirect(303, `/runs/${runId}?started=${resumed ? 'joined' : 'new'}`);
    })
    .catch(failed(site, res, `sync of ${id}`));
}

const STALE_FORM = 'refused: the form is stale or did not come from this dashboard (CSRF token); reload the page and try again';

/** Whether a posted form carries this process's CSRF token both in its body and in its cookie. */
function formOk(req: Request, csrf: string): boolean {
  const given = typeof req.body?.csrf === 'string' ? (req.body.csrf as string) : '';
  const cookie = parseCookies(req.headers.cookie)[CSRF_COOKIE] ?? '';
  return secretsEqual(given, csrf) && secretsEqual(cookie, csrf);
}

/** The run page's buttons: `POST /runs/:id/cancel` and `/runs/:id/retry`, then the run's (or the retry's) page. */
function runAction(site: Site, req: Request, res: Response): void {
  const id = String(req.params.id);
  const action = String(req.params.action);
  const control = site.opts.runControl;
  if (!control || (action !== 'cancel' && action !== 'retry') || !formOk(req, site.csrf)) {
    res.status(403).type('text').send(STALE_FORM);
    return;
  }
  const done = action === 'cancel' ? cancelRun(control, id, 'dashboard').then(() => `/runs/${id}?done=cancelled`) : retryRun(control, id).then((r) => `/runs/${r.runId}?done=retry-of-${id}`);
  done
    .then((to) => res.redirect(303, to))
    .catch((err: unknown) => {
      if (err instanceof RunControlError) res.status(err.kind === 'unknown' ? 404 : 409).type('text').send(err.message);
      else failed(site, res, `${action} of run ${id}`)(err);
    });
}

/** The line a run page shows after a button took the browser there. */
function flashOf(runId: string, query: Request['query']): string | undefined {
  if (query.started === 'new') return `started run ${runId}`;
  if (query.started === 'joined') return `a run was going on: joined run ${runId}`;
  if (query.done === 'cancelled') return `cancelled run ${runId}: its walks stopped; what committed stays`;
  const retry = typeof query.done === 'string' ? /^retry-of-(\d+)$/.exec(query.done) : null;
  return retry ? `started run ${runId}: retrying the failed walks of run ${retry[1]}` : undefined;
}

/**
 * Whether a request carries the token: a bearer header, the auth cookie, or `?token=` (then the
 * cookie is set and the browser sent on to the same URL without the token, out of its history).
 * Answers 401 itself when not.
 */
function authorized(req: Request, res: Response, token: string): boolean {
  const header = req.headers.authorization;
  if (header?.startsWith('Bearer ') && secretsEqual(header.slice(7), token)) return true;
  const cookie = parseCookies(req.headers.cookie)[AUTH_COOKIE];
  if (cookie !== undefined && secretsEqual(cookie, token)) return true;
  const query = req.query.token;
  if ((req.method === 'GET' || req.method === 'HEAD') && typeof query === 'string' && secretsEqual(query, token)) {
    res.cookie(AUTH_COOKIE, token, { httpOnly: true, sameSite: 'strict', path: '/' });
    const url = new URL(req.originalUrl, 'http://dashboard.invalid');
    url.searchParams.delete('token');
    res.redirect(303, `${url.pathname}${url.search}`);
    return false;
  }
  res.status(401).type('text').send('this dashboard needs its token: open it once as /?token=<token> (or send Authorization: Bearer <token>)');
  return false;
}
