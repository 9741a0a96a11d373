import { z } from 'zod/v4';
import { TOGGL_ENTITY_RESOURCES } from './toggl.js';

// What `fleetsync webhooks register` asks Toggl for (pure): the event filters a source needs,
// spread over the subscriptions its plan allows, and the steps from the subscriptions that exist.

/** Webhooks per workspace and event filters per webhook, by Toggl plan (Toggl's limits, 2025). */
export const TOGGL_WEBHOOK_LIMITS: Readonly<Record<string, { subscriptions: number; events: number }>> = {
  free: { subscriptions: 1, events: 3 },
  starter: { subscriptions: 2, events: 6 },
  premium: { subscriptions: 3, events: 12 },
};

export const TOGGL_PLANS = Object.keys(TOGGL_WEBHOOK_LIMITS);

/** One event filter: an entity and an action. */
export interface EventFilter {
  entity: string;
  action: string;
}

/** A subscription as Toggl lists it; the secret is read only to compare it, never shown. */
export const subscriptionSchema = z.object({
  subscription_id: z.number().int(),
  workspace_id: z.number().int().nullish(),
  description: z.string().nullish(),
  url_callback: z.string().nullish(),
  event_filters: z.array(z.object({ entity: z.string(), action: z.string() })).nullish(),
  enabled: z.boolean().nullish(),
  validated_at: z.string().nullish(),
  has_pending_events: z.boolean().nullish(),
  secret: z.string().nullish(),
});
export type TogglSubscription = z.infer<typeof subscriptionSchema>;

// Deletes and edits of time entries matter most: without them a row waits for two full walks.
const ENTITY_ORDER = ['time_entry', 'project', 'client', 'task', 'tag'];
const ACTIONS = ['deleted', 'updated', 'created'];

/**
 * The event filters of a source's resources, spread over at most the plan's subscriptions of at
 * most its events each, time entries first; `left` holds the filters the plan has no room for.
 */
export function plannedFilters(resources: ReadonlySet<string>, limits: { subscriptions: number; events: number }): { subscriptions: EventFilter[][]; left: EventFilter[] } {
  const all = ENTITY_ORDER.filter((e) => resources.has(TOGGL_ENTITY_RESOURCES[e]!)).flatMap((entity) => ACTIONS.map((action) => ({ entity, action })));
  const subscriptions: EventFilter[][] = [];
  for (let i = 0; i < all.length && subscriptions.length < limits.subscriptions; i += limits.events) subscriptions.push(all.slice(i, i + limits.events));
  return { subscriptions, left: all.slice(subscriptions.length * limits.events) };
}

/** The description of a source's n-th subscription (unique per workspace, as Toggl requires). */
export function subscriptionDescription(sourceId: string, index: number): string {
  return `fleetsync ${sourceId} ${index + 1}`;
}

/** Whether a subscription was made by register for this source. */
export function isOurs(sub: TogglSubscription, sourceId: string): boolean {
  return /^fleetsync (\S+) \d+$/.exec(sub.description ?? '')?.[1] === sourceId;
}

/** The body of a subscription fleetsync wants. */
export interface SubscriptionBody {
  url_callback: string;
  event_filters: EventFilter[];
  enabled: true;
  description: string;
  secret: string;
}

/** One step of register in a workspace. */
export type SubscriptionStep = { op: 'create'; body: SubscriptionBody } | { op: 'update'; id: number; body: SubscriptionBody } | { op: 'keep'; id: number } | { op: 'delete'; id: number };

const filterKey = (f: EventFilter) => `${f.entity}:${f.action}`;
const sameFilters = (a: readonly EventFilter[], b: readonly EventFilter[]) => a.length === b.length && a.map(filterKey).sort().join() === b.map(filterKey).sort().join();

function matches(sub: TogglSubscription, body: SubscriptionBody): boolean {
  // Toggl lists the secret; when it does not, the one it has is taken to be ours.
  const secretOk = typeof sub.secret !== 'string' || sub.secret === body.secret;
  return sub.url_callback === body.url_callback && sub.enabled === true && sub.description === body.description && sameFilters(sub.event_filters ?? [], body.event_filters) && secretOk;
}

/**
 * The steps from a workspace's subscriptions to the ones a source needs: its own (by
 * description) kept when they match, updated when not, deleted when surplus; the missing
 * created. Other subscriptions are never touched.
 */
export function planSubscriptionSteps(existing: readonly TogglSubscription[], sourceId: string, want: readonly EventFilter[][], target: { url: string; secret: string }): SubscriptionStep[] {
  const ours = existing.filter((s) => isOurs(s, sourceId)).sort((a, b) => a.subscription_id - b.subscription_id);
  const steps: SubscriptionStep[] = [];
  want.forEach((filters, i) => {
    const body: SubscriptionBody = { url_callback: target.url, event_filters: filters, enabled: true, description: subscriptionDescription(sourceId, i), secret: target.secret };
    const sub = ours[i];
    if (!sub) steps.push({ op: 'create', body });
    else steps.push(matches(sub, body) ? { op: 'keep', id: sub.subscription_id } : { op: 'update', id: sub.subscription_id, body });
  });
  for (const sub of ours.slice(want.length)) steps.push({ op: 'delete', id: sub.subscription_id });
  return steps;
}

/** "time_entry deleted/updated/created, project deleted" for a list of filters. */
export function filtersText(filters: readonly EventFilter[]): string {
  const by = new Map<string, string[]>();
  for (const f of filters) by.set(f.entity, [...(by.get(f.entity) ?? []), f.action]);
  return [...by].map(([e, a]) => `${e} ${a.join('/')}`).join(', ');
}
