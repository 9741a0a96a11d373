import { describe, expect, it } from 'vitest';
import { callbackUrl, sourceOfPath } from '../../src/webhooks/config.js';
import { callbackProblem } from '../../src/webhooks/izuma-setup.js';
import { IZUMA_SECRET_HEADER, izumaWebhooks } from '../../src/webhooks/izuma.js';
import { filtersText, planSubscriptionSteps, plannedFilters, TOGGL_WEBHOOK_LIMITS, type TogglSubscription } from '../../src/webhooks/toggl-plan.js';
import { togglWebhooks } from '../../src/webhooks/toggl.js';
import type { Delivery, DeliverySource } from '../../src/webhooks/vendor.js';

const togglSource: DeliverySource = { id: 'tg', resources: new Set(['workspaces', 'projects', 'time_entries', 'clients', 'tags', 'tasks']) };
const at = Date.parse('2026-12-07T12:00:00Z');

function delivery(body: unknown, headers: Record<string, string> = {}): Delivery {
  return { sourceId: 'tg', method: 'POST', headers, body: Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)), receivedAt: at };
}

function togglEvent(model: string, action: string, payload: unknown, extra: Record<string, unknown> = {}) {
  return { event_id: 41, subscription_id: 3, created_at: '2026-12-07T11:59:58.123456Z', creator_id: 9, timestamp: '2026-12-07T11:59:59Z', metadata: { action, model, workspace_id: '7000001', [`${model}_id`]: '77', ...extra }, payload };
}

describe('Toggl webhook payloads to vendor events', () => {
  it('a time entry carries its whole record, read under the report names the time_entries resource reads', () => {
    const entry = { id: 4000000123, workspace_id: 7000001, project_id: 190000001, task_id: null, user_id: 9000001, description: 'Standup', billable: true, tag_ids: [20000001], tags: ['meeting'], start: '2026-12-07T09:00:00+00:00', stop: '2026-12-07T09:15:00+00:00', duration: 900, at: '2026-12-07T11:59:58+00:00' };
    const read = togglWebhooks.read(delivery(togglEvent('time_entry', 'updated', entry)), togglSource);
    expect(read).toEqual({
      kind: 'events',
      ignored: 0,
      sentAt: '2026-12-07T11:59:59Z',
      replayKey: 'toggl:3:41',
      events: [{ source: 'tg', resource: 'time_entries', id: '4000000123', scope: '7000001', action: 'updated', occurredAt: '2026-12-07T11:59:58.123Z', eventKey: 'toggl:3:41', record: { ...entry, seconds: 900, tag_names: ['meeting'] } }],
    });
  });

  it('projects, clients, tags and tasks carry the entity as it is; a deletion carries no record', () => {
    const project = { id: 190000001, workspace_id: 7000001, name: 'Relaunch', active: true, at: '2026-12-07T11:59:58+00:00' };
    const created = togglWebhooks.read(delivery(togglEvent('project', 'created', project)), togglSource);
    expect(created.kind === 'events' && created.events[0]).toMatchObject({ resource: 'projects', id: '190000001', scope: '7000001', action: 'created', record: project });
    const client = togglWebhooks.read(delivery(togglEvent('client', 'deleted', { id: 60000002, wid: 7000001, name: 'Gone' }, { workspace_id: undefined })), togglSource);
    expect(client.kind === 'events' && client.events[0]).toEqual({ source: 'tg', resource: 'clients', id: '60000002', scope: '7000001', action: 'deleted', occurredAt: '2026-12-07T11:59:58.123Z', eventKey: 'toggl:3:41' });
    const tag = togglWebhooks.read(delivery(togglEvent('tag', 'updated', { id: 20000001, workspace_id: 7000001, name: 'x' })), togglSource);
    expect(tag.kind === 'events' && tag.events[0]?.resource).toBe('tags');
    const task = togglWebhooks.read(delivery(togglEvent('task', 'created', { id: 30000001, workspace_id: 7000001, project_id: 190000001, name: 't' })), togglSource);
    expect(task.kind === 'events' && task.events[0]?.resource).toBe('tasks');
  });

  it('an entity fleetsync does not keep, or a resource the source does not sync, is ignored; a malformed event says what is wrong', () => {
    expect(togglWebhooks.read(delivery(togglEvent('workspace_user', 'created', { id: 5 })), togglSource)).toMatchObject({ kind: 'events', events: [], ignored: 1 });
    expect(togglWebhooks.read(delivery(togglEvent('tag', 'created', { id: 5, workspace_id: 1 })), { id: 'tg', resources: new Set(['projects']) })).toMatchObject({ kind: 'events', events: [], ignored: 1 });
    expect(togglWebhooks.read(delivery(togglEvent('project', 'archived', { id: 5 })), togglSource)).toEqual({ kind: 'invalid', reason: 'tg: Toggl event 41 of subscription 3: metadata.action "archived" is not one of created, updated, deleted' });
    expect(togglWebhooks.read(delivery(togglEvent('project', 'updated', {}, { project_id: undefined })), togglSource)).toEqual({ kind: 'invalid', reason: 'tg: Toggl event 41 of subscription 3 (project updated): no id in payload.id or metadata.project_id' });
    expect(togglWebhooks.read(delivery({ ...togglEvent('project', 'updated', { id: 1 }), timestamp: undefined }), togglSource)).toMatchObject({ kind: 'invalid', reason: expect.stringMatching(/^tg: Toggl delivery field timestamp: /) });
    expect(togglWebhooks.read(delivery('not json'), togglSource)).toEqual({ kind: 'invalid', reason: 'tg: Toggl delivery is not JSON' });
  });

  it("a ping is answered with its validation code (Toggl's synchronous validation)", () => {
    const ping = { event_id: 0, subscription_id: 3, created_at: '2026-12-07T11:59:58Z', timestamp: '2026-12-07T11:59:58Z', metadata: { request_type: 'POST', event_user_id: 6 }, payload: 'ping', validation_code: 'vc-123' };
    expect(togglWebhooks.read(delivery(ping), togglSource)).toEqual({ kind: 'reply', status: 200, body: { validation_code: 'vc-123' } });
    expect(togglWebhooks.read(delivery({ ...ping, validation_code: undefined }), togglSource)).toEqual({ kind: 'reply', status: 200, body: { status: 'ok' } });
  });
});

describe('Izuma notification batches to vendor events', () => {
  const izuma: DeliverySource = { id: 'iz', resources: new Set(['organizations', 'devices']) };
  const put = (body: string, headers: Record<string, string> = {}): Delivery => ({ sourceId: 'iz', method: 'PUT', headers, body: Buffer.from(body), receivedAt: at });

  it('every registration kind is an update of the device, fetched by id: a de-registration is no deletion', () => {
    const batch = { registrations: [{ ep: 'dev-a', ept: 'Light', q: false, resources: [] }], 'reg-updates': [{ ep: 'dev-b' }], 'de-registrations': ['dev-c'], 'registrations-expired': ['dev-d'], notifications: [{ ep: 'dev-a', path: '/3/0/0', payload: 'MTI=' }] };
    const read = izumaWebhooks.read(put(JSON.stringify(batch)), izuma);
    expect(read.kind).toBe('events');
    if (read.kind !== 'events') return;
    expect(read.events.map((e) => [e.resource, e.id, e.scope, e.action, e.record])).toEqual([
      ['devices', 'dev-a', null, 'updated', undefined],
      ['devices', 'dev-b', null, 'updated', undefined],
      ['devices', 'dev-c', null, 'updated', undefined],
      ['devices', 'dev-d', null, 'updated', undefined],
    ]);
    expect(read.events.every((e) => e.occurredAt === '2026-12-07T12:00:00.000Z')).toBe(true);
    expect(new Set(read.events.map((e) => e.eventKey)).size).toBe(4);
    // A resource value notification is no warehouse data; Izuma signs no time and numbers no event.
    expect([read.ignored, read.sentAt, read.replayKey]).toEqual([1, null, null]);
  });

  it('the empty PUT Izuma tests a callback with is answered 204; a malformed batch says what is wrong', () => {
    expect(izumaWebhooks.read(put(''), izuma)).toEqual({ kind: 'reply', status: 204 });
    expect(izumaWebhooks.read(put('{"de-registrations": [42]}'), izuma)).toMatchObject({ kind: 'invalid', reason: expect.stringMatching(/^iz: Izuma notification batch field de-registrations\.0: /) });
    expect(izumaWebhooks.read(put('{'), izuma)).toEqual({ kind: 'invalid', reason: 'iz: Izuma notification batch is not JSON' });
  });

  it('the secret header must match', () => {
    expect(izumaWebhooks.verify(put('', { [IZUMA_SECRET_HEADER]: 'izuma-secret-0123456789' }), 'izuma-secret-0123456789')).toEqual({ ok: true });
    expect(izumaWebhooks.verify(put('', { [IZUMA_SECRET_HEADER]: 'izuma-secret-012345678' }), 'izuma-secret-0123456789')).toEqual({ ok: false, reason: 'x-fleetsync-secret does not match the source\'s webhookSecret' });
    expect(izumaWebhooks.verify(put(''), 'izuma-secret-0123456789')).toEqual({ ok: false, reason: 'no x-fleetsync-secret header' });
  });

  it("callback URL and header within Izuma's 400 characters", () => {
    expect(callbackProblem('https://hooks.example.com/webhooks/iz', { [IZUMA_SECRET_HEADER]: 'x'.repeat(32) })).toBeNull();
    expect(callbackProblem(`https://hooks.example.com/${'p'.repeat(350)}`, { [IZUMA_SECRET_HEADER]: 'x'.repeat(32) })).toMatch(/^the callback URL and its header come to 426 characters, over Izuma's 400/);
  });
});

describe('Toggl subscriptions a source needs, within its plan', () => {
  it('time entries first, three actions each, spread over the plan\'s webhooks; what does not fit is named', () => {
    const all = new Set(['projects', 'time_entries', 'clients', 'tags', 'tasks']);
    const free = plannedFilters(all, TOGGL_WEBHOOK_LIMITS.free!);
    expect(free.subscriptions.map(filtersText)).toEqual(['time_entry deleted/updated/created']);
    expect(filtersText(free.left)).toBe('project deleted/updated/created, client deleted/updated/created, task deleted/updated/created, tag deleted/updated/created');
    const starter = plannedFilters(all, TOGGL_WEBHOOK_LIMITS.starter!);
    expect(starter.subscriptions.map(filtersText)).toEqual(['time_entry deleted/updated/created, project deleted/updated/created', 'client deleted/updated/created, task deleted/updated/created']);
    expect(filtersText(starter.left)).toBe('tag deleted/updated/created');
    const premium = plannedFilters(all, TOGGL_WEBHOOK_LIMITS.premium!);
    expect([premium.subscriptions.map((s) => s.length), premium.left]).toEqual([[12, 3], []]);
    expect(plannedFilters(new Set(['workspaces', 'users']), TOGGL_WEBHOOK_LIMITS.premium!).subscriptions).toEqual([]);
  });

  it('keeps a matching subscription, updates a changed one, creates the missing, deletes the surplus, never touches others', () => {
    const want = plannedFilters(new Set(['time_entries', 'projects', 'clients', 'tags', 'tasks']), TOGGL_WEBHOOK_LIMITS.premium!).subscriptions;
    const target = { url: 'https://hooks.example.com/webhooks/tg', secret: 's'.repeat(20) };
    const mine = (id: number, i: number, over: Partial<TogglSubscription> = {}): TogglSubscription => ({ subscription_id: id, description: `fleetsync tg ${i + 1}`, url_callback: target.url, event_filters: want[i] ?? [], enabled: true, validated_at: '2026-12-01T00:00:00Z', secret: target.secret, ...over });
    const other: TogglSubscription = { subscription_id: 1, description: 'Zapier', url_callback: 'https://hooks.zapier.com/x', event_filters: [{ entity: '*', action: '*' }], enabled: true };
    expect(planSubscriptionSteps([other], 'tg', want, target).map((s) => s.op)).toEqual(['create', 'create']);
    expect(planSubscriptionSteps([other, mine(5, 0), mine(6, 1)], 'tg', want, target)).toEqual([{ op: 'keep', id: 5 }, { op: 'keep', id: 6 }]);
    const steps = planSubscriptionSteps([mine(5, 0, { secret: 'old-secret-0123456789' }), mine(6, 1, { url_callback: 'https://old.example.com/webhooks/tg' }), mine(7, 2), { ...mine(8, 0), description: 'fleetsync tg-other 1' }], 'tg', want, target);
    expect(steps.map((s) => [s.op, 'id' in s ? s.id : null])).toEqual([['update', 5], ['update', 6], ['delete', 7]]);
  });
});

describe('receiver paths', () => {
  it('are /webhooks/<source id> below the public URL', () => {
    expect(callbackUrl('https://hooks.example.com/fleetsync/', 'toggl-prod')).toBe('https://hooks.example.com/fleetsync/webhooks/toggl-prod');
    expect(sourceOfPath('/webhooks/toggl-prod')).toBe('toggl-prod');
    expect(sourceOfPath('/webhooks/toggl-prod/')).toBe('toggl-prod');
    expect(sourceOfPath('/webhooks/../etc')).toBeNull();
    expect(sourceOfPath('/webhooks/a/b')).toBeNull();
    expect(sourceOfPath('/metrics')).toBeNull();
  });
});
