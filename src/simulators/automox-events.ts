import type { AutomoxServer } from './automox.js';
import { parseIntParam, type SimRequest, type SimResponse } from './http-sim.js';

// The Automox simulator's event log and its `GET /api/events` (the published definition's
// getEvents): `o`, `eventName` (one of the documented names), `startDate`/`endDate` (YYYY-MM-DD),
// `limit` 1..500 (default 500), `page` from 0, `countOnly=1` ({size, results: []}). A bare array of
// Event objects (id, name, user_id, server_id, organization_id, policy_id, data {ip, os,
// systemname}, server_name, create_time). The definition fixes no order: the simulator answers
// newest first. It reads startDate as "on or after that day" and endDate as "before that day"
// (UTC); the definition says only "after" and "before" a date.

/** The documented event names (`eventName` enum of getEvents). */
export const AUTOMOX_EVENT_NAMES = [
  'org.exceeded_endpoint_limit',
  'saml.user.create',
  'slack.app.added',
  'slack.app.reinstalled',
  'system.add',
  'system.delete',
  'system.group.action',
  'system.notification.response',
  'system.notification.sent',
  'system.patch.applied',
  'system.patch.failed',
  'system.patch.uninstall',
  'system.policy.action',
  'user.create',
  'user.removed',
] as const;

/** The published `Event` with `SystemEventData` (device additions and removals). */
export interface AutomoxEvent {
  id: number;
  name: string;
  user_id: number;
  server_id: number;
  organization_id: number;
  policy_id: number | null;
  data: { ip: string; os: string; systemname: string };
  server_name: string;
  /** date-time, e.g. `2021-07-01T00:00:00Z`. */
  create_time: string;
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;

/** An account's event log: what the console records when devices are added and removed. */
export class AutomoxEventLog {
  readonly events: AutomoxEvent[] = [];
  private nextId = 250_001;

  /** Records a `system.add` or `system.delete` of a device at `atMs`. Returns the event. */
  record(name: 'system.add' | 'system.delete', server: AutomoxServer, atMs: number): AutomoxEvent {
    const ev: AutomoxEvent = {
      id: this.nextId++,
      name,
      user_id: 754_125,
      server_id: server.id,
      organization_id: server.organization_id,
      policy_id: null,
      data: { ip: server.ip_addrs_private[0] ?? '', os: server.os_family, systemname: server.name },
      server_name: server.display_name,
      create_time: new Date(atMs).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    };
    this.events.push(ev);
    return ev;
  }

  /** The answer to `GET /api/events` for the organizations `orgIds` of the request's `o`. */
  answer(req: SimRequest, orgIds: ReadonlySet<number>): SimResponse {
    const q = req.query;
    const name = q.get('eventName');
    if (name !== null && !(AUTOMOX_EVENT_NAMES as readonly string[]).includes(name)) return bad(`eventName must be one of ${AUTOMOX_EVENT_NAMES.join(', ')}`);
    const start = q.get('startDate');
    const end = q.get('endDate');
    if ((start !== null && !DATE.test(start)) || (end !== null && !DATE.test(end))) return bad('startDate and endDate must be dates (YYYY-MM-DD)');
    const from = start === null ? Number.NEGATIVE_INFINITY : Date.parse(`${start}T00:00:00Z`);
    const to = end === null ? Number.POSITIVE_INFINITY : Date.parse(`${end}T00:00:00Z`);
    const matching = this.events.filter((e) => orgIds.has(e.organization_id) && (name === null || e.name === name) && inRange(Date.parse(e.create_time), from, to));
    if (q.get('countOnly') === '1') return { status: 200, body: { size: matching.length, results: [] } };
    const limit = parseIntParam(q.get('limit')) ?? 500;
    if (!Number.isInteger(limit) || limit < 1 || limit > 500) return bad('limit must be between 1 and 500');
    const page = parseIntParam(q.get('page')) ?? 0;
    if (!Number.isInteger(page) || page < 0) return bad('page must be a non-negative integer');
    const newestFirst = [...matching].sort((a, b) => b.id - a.id);
    return { status: 200, body: newestFirst.slice(page * limit, (page + 1) * limit) };
  }
}

function inRange(t: number, from: number, to: number): boolean {
  return t >= from && t < to;
}

function bad(message: string): SimResponse {
  return { status: 400, body: { errors: [message] } };
}
