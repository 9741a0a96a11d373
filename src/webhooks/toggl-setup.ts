import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod/v4';
import type { ResolvedSource } from '../sources.js';
import { filtersText, isOurs, planSubscriptionSteps, plannedFilters, subscriptionSchema, TOGGL_WEBHOOK_LIMITS, type SubscriptionStep, type TogglSubscription } from './toggl-plan.js';
import type { VendorCall } from './vendor-call.js';

// Toggl's subscriptions API (https://engineering.toggl.com/docs/webhooks/subscriptions), below the
// source's origin: the Webhooks API lives at /webhooks/api/v1 beside /api/v9.
const API = '/webhooks/api/v1';

/** What a Toggl set-up command works with. */
export interface TogglSetup {
  src: ResolvedSource;
  call: VendorCall;
  /** Prints one line of the command's output. */
  out: (line: string) => void;
}

/** A row of `webhooks list`: never the secret. */
export interface SubscriptionRow {
  workspace: string;
  id: number;
  description: string;
  url: string;
  enabled: boolean;
  validated: boolean;
  pending: boolean;
  events: string;
  ours: boolean;
}

const workspacesSchema = z.array(z.object({ id: z.union([z.number().int(), z.string().min(1)]) }));

/** The workspaces to set up: those given, else every workspace of the token (GET /me/workspaces). */
async function workspacesOf(s: TogglSetup, given: readonly string[]): Promise<string[]> {
  if (given.length > 0) return [...given];
  const r = workspacesSchema.safeParse((await s.call({ path: '/me/workspaces' })).body);
  if (!r.success) throw new Error(`${s.src.id}: GET /me/workspaces did not answer a list of workspaces`);
  return r.data.map((w) => String(w.id));
}

async function listIn(s: TogglSetup, ws: string): Promise<TogglSubscription[]> {
  const body = (await s.call({ url: `${API}/subscriptions/${encodeURIComponent(ws)}` })).body;
  // An empty list may come as null.
  const r = z.array(subscriptionSchema).nullable().safeParse(body);
  if (!r.success) throw new Error(`${s.src.id}: the subscriptions of workspace ${ws} are not a list of subscriptions (${r.error.issues[0]?.message ?? ''})`);
  return r.data ?? [];
}

async function apply(s: TogglSetup, ws: string, step: SubscriptionStep): Promise<string> {
  const at = `${API}/subscriptions/${encodeURIComponent(ws)}`;
  if (step.op === 'keep') return `subscription ${step.id} unchanged`;
  if (step.op === 'delete') {
    await s.call({ url: `${at}/${step.id}`, method: 'DELETE' });
    return `subscription ${step.id} deleted (more than needed)`;
  }
  if (step.op === 'update') {
    await s.call({ url: `${at}/${step.id}`, method: 'PUT', body: step.body });
    return `subscription ${step.id} updated: ${filtersText(step.body.event_filters)}`;
  }
  const created = subscriptionSchema.safeParse((await s.call({ url: at, method: 'POST', body: step.body })).body);
  return `subscription ${created.success ? created.data.subscription_id : '(new)'} created: ${filtersText(step.body.event_filters)}`;
}

/**
 * Pings the source's subscriptions of a workspace that are not validated (the receiver answers the
 * ping's validation code) and reads them again until all are, a few times. Returns the ids still
 * not validated.
 */
async function validate(s: TogglSetup, ws: string): Promise<number[]> {
  const pending = () => listIn(s, ws).then((l) => l.filter((x) => isOurs(x, s.src.id) && !x.validated_at).map((x) => x.subscription_id));
  const first = await pending();
  for (const id of first) await s.call({ url: `${API}/ping/${encodeURIComponent(ws)}/${id}`, method: 'POST' });
  let left = first;
  for (let i = 0; i < 4 && left.length > 0; i++) {
    if (i > 0) await sleep(2_000);
    left = await pending();
  }
  return left;
}

/**
 * `webhooks register` for a Toggl source: in each workspace, the subscriptions the source's
 * resources need (time entries, projects, clients, tasks, tags; created, updated, deleted) within
 * the plan's limits, pointing at `url` and signed with the source's webhookSecret, then validated
 * by a ping. Returns the problems (a subscription the receiver did not validate).
 */
export async function registerToggl(s: TogglSetup, opts: { url: string; secret: string; plan: string; workspaces: readonly string[] }): Promise<string[]> {
  const limits = TOGGL_WEBHOOK_LIMITS[opts.plan]!;
  const { subscriptions: want, left } = plannedFilters(new Set(s.src.resources.keys()), limits);
  if (want.length === 0) return [`${s.src.id} syncs none of time_entries, projects, clients, tags or tasks: nothing to subscribe to`];
  if (left.length > 0) s.out(`plan ${opts.plan} allows ${limits.subscriptions} webhook${limits.subscriptions === 1 ? '' : 's'} of ${limits.events} events per workspace: ${filtersText(left)} not subscribed (those wait for the walks)`);
  const problems: string[] = [];
  for (const ws of await workspacesOf(s, opts.workspaces)) {
    const steps = planSubscriptionSteps(await listIn(s, ws), s.src.id, want, { url: opts.url, secret: opts.secret });
    for (const step of steps) s.out(`workspace ${ws}: ${await apply(s, ws, step)}`);
    const unvalidated = await validate(s, ws);
    if (unvalidated.length === 0) s.out(`workspace ${ws}: validated, events go to ${opts.url}`);
    else problems.push(`workspace ${ws}: subscription ${unvalidated.join(', ')} not validated: Toggl's ping did not reach the receiver at ${opts.url} (is \`fleetsync webhooks serve\` or a worker with webhooks.listen running behind that URL?); run register again to ping again`);
  }
  return problems;
}

/** `webhooks list` for a Toggl source: every subscription of its workspaces (the source's marked). */
export async function listToggl(s: TogglSetup, workspaces: readonly string[]): Promise<SubscriptionRow[]> {
  const rows: SubscriptionRow[] = [];
  for (const ws of await workspacesOf(s, workspaces)) {
    for (const x of await listIn(s, ws)) {
      rows.push({ workspace: ws, id: x.subscription_id, description: x.description ?? '', url: x.url_callback ?? '', enabled: x.enabled === true, validated: Boolean(x.validated_at), pending: x.has_pending_events === true, events: filtersText(x.event_filters ?? []), ours: isOurs(x, s.src.id) });
    }
  }
  return rows;
}

/** `webhooks remove` for a Toggl source: deletes its subscriptions (only its own) in each workspace. Returns how many. */
export async function removeToggl(s: TogglSetup, workspaces: readonly string[]): Promise<number> {
  let n = 0;
  for (const ws of await workspacesOf(s, workspaces)) {
    for (const x of (await listIn(s, ws)).filter((y) => isOurs(y, s.src.id))) {
      await s.call({ url: `${API}/subscriptions/${encodeURIComponent(ws)}/${x.subscription_id}`, method: 'DELETE' });
      s.out(`workspace ${ws}: subscription ${x.subscription_id} deleted`);
      n++;
    }
  }
  return n;
}
