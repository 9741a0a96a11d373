/**
 * Toggl Track Webhooks API v1 of the Toggl simulator, below its origin at /webhooks/api/v1:
 *   GET    /event_filters                               entities and their actions
 *   GET    /subscriptions/{ws}                          the workspace's subscriptions (secrets included, as Toggl lists them)
 *   POST   /subscriptions/{ws}                          {url_callback, event_filters, enabled, description, secret?}
 *   PUT    /subscriptions/{ws}/{id}                     the same body; a new URL needs validating again
 *   PATCH  /subscriptions/{ws}/{id}                     {enabled}
 *   DELETE /subscriptions/{ws}/{id}
 *   POST   /ping/{ws}/{id}                              a PING event now, with `validation_code` while not validated
 *   GET    /validate/{ws}/{id}/{code}                   validates without the ping's answer
 * Limits per workspace by `plan` (free 1 webhook of 3 events, starter 2 of 6, premium 3 of 12),
 * descriptions unique per workspace. A change (`emit`) goes to every enabled, validated
 * subscription whose filters match, POSTed signed (X-Webhook-Signature-256: sha256=HMAC of the
 * body) with a fresh `timestamp` on every attempt, retried with backoff until a 2xx.
 */
import { createHmac, randomBytes } from 'node:crypto';
import type { SimRequest, SimResponse } from './http-sim.js';
import { WebhookSender, type RetrySchedule } from './webhook-sender.js';

/** Entities and actions the simulator's filters accept (the entities fleetsync keeps, and the workspace's users). */
export const TOGGL_EVENT_FILTERS: Readonly<Record<string, string[]>> = {
  client: ['created', 'updated', 'deleted'],
  project: ['created', 'updated', 'deleted'],
  tag: ['created', 'updated', 'deleted'],
  task: ['created', 'updated', 'deleted'],
  time_entry: ['created', 'updated', 'deleted'],
  workspace_user: ['created', 'updated', 'deleted'],
};

const LIMITS: Record<string, { subscriptions: number; events: number }> = { free: { subscriptions: 1, events: 3 }, starter: { subscriptions: 2, events: 6 }, premium: { subscriptions: 3, events: 12 } };

export interface SimSubscription {
  subscription_id: number;
  workspace_id: number;
  user_id: number;
  enabled: boolean;
  description: string;
  event_filters: Array<{ entity: string; action: string }>;
  url_callback: string;
  secret: string;
  validated_at: string | null;
  has_pending_events: boolean;
  created_at: string;
  updated_at: string | null;
}

type Route = (method: string, pattern: RegExp, handler: (req: SimRequest, params: string[]) => SimResponse | Promise<SimResponse>) => void;

const USER_ID = 9_000_001;

/** The webhooks of one simulated Toggl account. */
export class TogglWebhooks {
  readonly subscriptions: SimSubscription[] = [];
  /** Limits of every workspace. */
  plan: keyof typeof LIMITS = 'premium';
  readonly sender: WebhookSender;
  private nextId = 1;
  private nextEvent = 1;

  constructor(
    private readonly now: () => number,
    private readonly hasWorkspace: (ws: number) => boolean,
    // Toggl documents no schedule; this one doubles from 1 s up to 10 min and gives up after a week (events are kept a week).
    schedule: RetrySchedule = { firstDelayMs: 1_000, maxDelayMs: 600_000, giveUpAfterMs: 7 * 86_400_000 },
  ) {
    this.sender = new WebhookSender(schedule, now);
  }

  private iso(): string {
    return new Date(this.now()).toISOString();
  }

  /** Adds the routes under /webhooks/api/v1. */
  install(route: Route): void {
    const base = '^/webhooks/api/v1';
    route('GET', new RegExp(`${base}/event_filters/?$`), () => ({ status: 200, body: TOGGL_EVENT_FILTERS }));
    route('GET', new RegExp(`${base}/subscriptions/([^/]+)/?$`), (_r, [ws]) => this.inWorkspace(ws, (w) => ({ status: 200, body: this.subscriptions.filter((s) => s.workspace_id === w) })));
    route('POST', new RegExp(`${base}/subscriptions/([^/]+)/?$`), (r, [ws]) => this.inWorkspace(ws, (w) => this.create(r, w)));
    route('PUT', new RegExp(`${base}/subscriptions/([^/]+)/(\\d+)/?$`), (r, [ws, id]) => this.withSubscription(ws, id, (s) => this.update(r, s)));
    route('PATCH', new RegExp(`${base}/subscriptions/([^/]+)/(\\d+)/?$`), (r, [ws, id]) => this.withSubscription(ws, id, (s) => this.patch(r, s)));
    route('DELETE', new RegExp(`${base}/subscriptions/([^/]+)/(\\d+)/?$`), (_r, [ws, id]) => this.withSubscription(ws, id, (s) => this.remove(s)));
    route('POST', new RegExp(`${base}/ping/([^/]+)/(\\d+)/?$`), (_r, [ws, id]) => this.withSubscription(ws, id, (s) => this.ping(s)));
    route('GET', new RegExp(`${base}/validate/([^/]+)/(\\d+)/([^/]+)/?$`), (_r, [ws, id, code]) =>
      this.withSubscription(ws, id, (s) => (code === validationCode(s) ? ((s.validated_at = this.iso()), { status: 200, body: 'OK' }) : { status: 400, body: 'invalid validation code' })),
    );
  }

  private inWorkspace(ws: string | undefined, fn: (ws: number) => SimResponse | Promise<SimResponse>): SimResponse | Promise<SimResponse> {
    const w = Number(ws);
    return Number.isInteger(w) && this.hasWorkspace(w) ? fn(w) : { status: 403, body: 'User not found/accessible for workspace' };
  }

  private withSubscription(ws: string | undefined, id: string | undefined, fn: (s: SimSubscription) => SimResponse | Promise<SimResponse>): SimResponse | Promise<SimResponse> {
    return this.inWorkspace(ws, (w) => {
      const s = this.subscriptions.find((x) => x.workspace_id === w && String(x.subscription_id) === id);
      return s ? fn(s) : { status: 404, body: `subscription ${id ?? ''} for workspace ${w} was not found` };
    });
  }

  /** The body of a create or update, checked like Toggl checks it; a 400 text otherwise. */
  private body(req: SimRequest, ws: number, self: SimSubscription | null): Omit<SimSubscription, 'subscription_id' | 'workspace_id' | 'user_id' | 'validated_at' | 'has_pending_events' | 'created_at' | 'updated_at'> | SimResponse {
    let b: Record<string, unknown>;
    try {
      b = JSON.parse(req.body || '{}') as Record<string, unknown>;
    } catch {
      return { status: 400, body: 'Invalid JSON' };
    }
    const url = typeof b.url_callback === 'string' ? b.url_callback : '';
    if (!/^https?:\/\/\S+$/.test(url)) return { status: 400, body: 'url_callback must be a valid URL' };
    const filters = Array.isArray(b.event_filters) ? (b.event_filters as Array<{ entity?: unknown; action?: unknown }>) : [];
    if (filters.length === 0) return { status: 400, body: 'at least one event filter is required' };
    for (const f of filters) {
      const entity = String(f.entity);
      if (entity !== '*' && !TOGGL_EVENT_FILTERS[entity]) return { status: 400, body: `unknown entity ${entity}` };
      if (f.action !== '*' && !['created', 'updated', 'deleted'].includes(String(f.action))) return { status: 400, body: `unknown action ${String(f.action)}` };
    }
    const limit = LIMITS[this.plan]!;
    if (filters.length > limit.events) return { status: 400, body: `Maximum number of events per webhook (${limit.events}) exceeded for your plan` };
    const description = typeof b.description === 'string' ? b.description : '';
    if (this.subscriptions.some((s) => s.workspace_id === ws && s !== self && s.description === description)) return { status: 400, body: 'description must be unique within the workspace' };
    const secret = typeof b.secret === 'string' && b.secret !== '' ? b.secret : (self?.secret ?? randomBytes(10).toString('hex'));
    return { url_callback: url, event_filters: filters.map((f) => ({ entity: String(f.entity), action: String(f.action) })), enabled: b.enabled !== false, description, secret };
  }

  private create(req: SimRequest, ws: number): SimResponse {
    if (this.subscriptions.filter((s) => s.workspace_id === ws).length >= LIMITS[this.plan]!.subscriptions) return { status: 400, body: `Maximum number of webhooks (${LIMITS[this.plan]!.subscriptions}) reached for this workspace` };
    const b = this.body(req, ws, null);
    if ('status' in b) return b;
    const s: SimSubscription = { subscription_id: this.nextId++, workspace_id: ws, user_id: USER_ID, ...b, validated_at: null, has_pending_events: false, created_at: this.iso(), updated_at: null };
    this.subscriptions.push(s);
    return { status: 200, body: s };
  }

  private update(req: SimRequest, s: SimSubscription): SimResponse {
    const b = this.body(req, s.workspace_id, s);
    if ('status' in b) return b;
    if (b.url_callback !== s.url_callback) s.validated_at = null;
    Object.assign(s, b, { updated_at: this.iso() });
    return { status: 200, body: s };
  }

  private patch(req: SimRequest, s: SimSubscription): SimResponse {
    const b = JSON.parse(req.body || '{}') as { enabled?: unknown };
    if (typeof b.enabled !== 'boolean') return { status: 400, body: 'enabled must be a boolean' };
    s.enabled = b.enabled;
    return { status: 200, body: s };
  }

  private remove(s: SimSubscription): SimResponse {
    this.subscriptions.splice(this.subscriptions.indexOf(s), 1);
    return { status: 200, body: { ...s, deleted_at: this.iso() } };
  }

  /** A PING, sent once now; a 2xx answering the validation code validates the subscription. */
  private async ping(s: SimSubscription): Promise<SimResponse> {
    const code = s.validated_at === null ? validationCode(s) : null;
    const event = { event_id: 0, created_at: this.iso(), creator_id: USER_ID, metadata: { request_type: 'POST', event_user_id: USER_ID }, payload: 'ping', subscription_id: s.subscription_id, url_callback: s.url_callback, ...(code ? { validation_code: code } : {}) };
    const answer = await this.sender.deliver(`ping:${s.subscription_id}:${this.nextEvent++}`, () => this.request(s, event), undefined);
    if (code !== null && answer && typeof answer.status === 'number' && answer.status < 300) {
      try {
        if ((JSON.parse(answer.text) as { validation_code?: unknown }).validation_code === code) s.validated_at = this.iso();
      } catch {
        // Not the synchronous validation: the subscription stays unvalidated (GET /validate does it).
      }
    }
    return { status: 200, body: { status: 'ok' } };
  }

  /** The request of one attempt: the event with this attempt's `timestamp`, signed with the subscription's secret. */
  private request(s: SimSubscription, event: Record<string, unknown>): { url: string; method: 'POST'; headers: Record<string, string>; body: string } {
    const body = JSON.stringify({ ...event, timestamp: this.iso() });
    return { url: s.url_callback, method: 'POST', headers: { 'content-type': 'application/json', 'user-agent': 'Toggl Webhooks (simulator)', 'x-webhook-signature-256': `sha256=${createHmac('sha256', s.secret).update(body).digest('hex')}` }, body };
  }

  /**
   * A change at Toggl: an event to every enabled, validated subscription of the workspace whose
   * filters match, each delivered until a 2xx. Returns the events' keys.
   */
  emit<T extends { id: number }>(ws: number, model: string, action: 'created' | 'updated' | 'deleted', entity: T): string[] {
    const keys: string[] = [];
    const matching = this.subscriptions.filter((s) => s.workspace_id === ws && s.enabled && s.validated_at !== null && s.event_filters.some((f) => (f.entity === '*' || f.entity === model) && (f.action === '*' || f.action === action)));
    for (const s of matching) {
      const eventId = this.nextEvent++;
      const event = {
        event_id: eventId,
        created_at: this.iso(),
        creator_id: USER_ID,
        metadata: { action, event_user_id: String(USER_ID), model, path: `/api/v9/workspaces/${ws}/${model}s`, request_type: action === 'created' ? 'POST' : action === 'updated' ? 'PUT' : 'DELETE', workspace_id: String(ws), [`${model}_id`]: String(entity.id) },
        payload: structuredClone(entity),
        subscription_id: s.subscription_id,
        url_callback: s.url_callback,
      };
      const key = `${s.subscription_id}:${eventId}`;
      s.has_pending_events = true;
      void this.sender.deliver(key, () => (this.subscriptions.includes(s) ? this.request(s, event) : null), () => (s.has_pending_events = this.sender.pending > 0));
      keys.push(key);
    }
    return keys;
  }
}

/** A subscription's validation code (stable, so GET /validate can check it). */
function validationCode(s: SimSubscription): string {
  return `vc-${s.subscription_id}-${s.secret.length}-${s.created_at.replace(/\D/g, '').slice(-6)}`;
}
