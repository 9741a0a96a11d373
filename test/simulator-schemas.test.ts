import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { z } from 'zod/v4';
import { AutomoxSimulator, generateAutomoxData } from '../src/simulators/automox.js';
import { FamocoSimulator, generateFamocoData } from '../src/simulators/famoco.js';
import type { HttpSimulator } from '../src/simulators/http-sim.js';
import { IzumaSimulator, generateIzumaData } from '../src/simulators/izuma.js';
import { PartnerSimulator, generatePartnerData } from '../src/simulators/partner.js';
import { TogglSimulator, generateTogglData } from '../src/simulators/toggl.js';
import * as ax from './vendor-schemas/automox.js';
import * as fm from './vendor-schemas/famoco.js';
import * as iz from './vendor-schemas/izuma.js';
import * as pt from './vendor-schemas/partner.js';
import * as tg from './vendor-schemas/toggl.js';

// A sample of every simulator's answers, checked against the vendors' published definitions as
// encoded in test/vendor-schemas/ (field names, types, nullability, required fields, defaults, 404
// and error bodies). No Postgres or Redis: the simulators alone.

/** Parses `body` with `schema`; on failure names the request and the first problems. */
function expectShape(what: string, schema: z.ZodType, body: unknown): void {
  const r = schema.safeParse(body);
  const problems = r.success ? [] : r.error.issues.slice(0, 5).map((i) => `${i.path.join('.')}: ${i.message}`);
  expect(problems, `${what} does not follow the published definition`).toEqual([]);
}

interface Answer {
  status: number;
  body: unknown;
}

async function call(url: string, headers: Record<string, string>, init: { method?: string; body?: unknown } = {}): Promise<Answer> {
  const res = await fetch(url, {
    method: init.method ?? 'GET',
    headers: { ...headers, ...(init.body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // Toggl's errors are text.
  }
  return { status: res.status, body };
}

describe('simulators follow the vendors\' published definitions', () => {
  const sims: HttpSimulator[] = [];
  const start = async <T extends HttpSimulator>(sim: T): Promise<T> => {
    sims.push(sim);
    await sim.start();
    return sim;
  };
  let automox: AutomoxSimulator;
  let izuma: IzumaSimulator;
  let toggl: TogglSimulator;
  let famoco: FamocoSimulator;
  let partner: PartnerSimulator;

  beforeAll(async () => {
    automox = await start(new AutomoxSimulator({ apiKey: 'ax', data: generateAutomoxData({ seed: 3, orgs: 2, devicesPerOrg: [24, 6], packagesPerDevice: 3, unmanagedPerDevice: 1 }) }));
    izuma = await start(new IzumaSimulator({ apiKey: 'ak_schema', data: generateIzumaData({ seed: 3, devices: 60, groups: 3, firmwareImages: 2 }) }));
    toggl = await start(new TogglSimulator({ apiToken: 'tg', data: generateTogglData({ seed: 3, workspaces: 2, projectsPerWorkspace: [8, 3], timeEntriesPerWorkspace: [60, 5], timeEntryDays: 90 }) }));
    famoco = await start(new FamocoSimulator({ token: 'fm', data: generateFamocoData({ seed: 3, orgs: 2, devicesPerOrg: [12, 3] }) }));
    partner = await start(new PartnerSimulator({ clientId: 'pt', clientSecret: 'pt-secret', data: generatePartnerData({ seed: 3, sitesPerOu: [[4, 2], [1]], usersPerOu: 4 }) }));
  });
  afterAll(async () => {
    await Promise.all(sims.map((s) => s.stop()));
  });

  it('Automox (axconsoleAIO.yaml): organizations, server groups, servers with and without details, packages, events, errors', async () => {
    const h = { authorization: 'Bearer ax' };
    const api = `${automox.origin}/api`;
    const org = automox.data.orgs[0]!.id;
    const orgs = await call(`${api}/orgs`, h);
    expectShape('GET /orgs', ax.organization.array(), orgs.body);
    expectShape('GET /servergroups', ax.serverGroup.array(), (await call(`${api}/servergroups?o=${org}`, h)).body);
    const fast = await call(`${api}/servers?o=${org}&limit=10`, h);
    expectShape('GET /servers', ax.server.array(), fast.body);
    // include_details defaults to 0: detail and status come back empty.
    expect((fast.body as Array<{ detail: unknown; status: unknown }>).every((s) => JSON.stringify(s.detail) === '{}' && JSON.stringify(s.status) === '{}')).toBe(true);
    const detailed = await call(`${api}/servers?o=${org}&include_details=1&limit=10`, h);
    expectShape('GET /servers?include_details=1', ax.server.array(), detailed.body);
    expect((detailed.body as Array<{ detail: { MODEL?: string } }>).every((s) => typeof s.detail.MODEL === 'string')).toBe(true);
    expectShape('GET /servers/{id}', ax.server, (await call(`${api}/servers/${automox.data.servers[0]!.id}?o=${org}`, h)).body);
    const pk = await call(`${api}/orgs/${org}/packages?o=${org}&includeUnmanaged=1`, h);
    expectShape('GET /orgs/{id}/packages?includeUnmanaged=1', ax.packages.array(), pk.body);
    expect((pk.body as Array<{ is_managed: boolean }>).some((p) => !p.is_managed)).toBe(true);
    // Without includeUnmanaged only software Automox can patch.
    expect(((await call(`${api}/orgs/${org}/packages?o=${org}`, h)).body as Array<{ is_managed: boolean }>).every((p) => p.is_managed)).toBe(true);
    // The event log of a device's addition and removal (getEvents).
    const added = { ...automox.data.servers[0]!, id: 1_999_999 };
    automox.addServer(added);
    automox.removeServer(added.id);
    const events = await call(`${api}/events?o=${org}&eventName=system.delete&startDate=2020-01-01&limit=5&page=0`, h);
    expectShape('GET /events', ax.event.array().min(1), events.body);
    expect((events.body as Array<{ name: string; server_id: number }>).map((e) => [e.name, e.server_id])).toEqual([['system.delete', added.id]]);
    expectShape('GET /events?countOnly=1', ax.eventCount, (await call(`${api}/events?o=${org}&countOnly=1`, h)).body);
    for (const [what, url, headers, status] of [
      ['400 of an unknown event name', `${api}/events?o=${org}&eventName=system.moved`, h, 400],
      ['400 of a startDate that is no date', `${api}/events?o=${org}&startDate=yesterday`, h, 400],
      ['404 of an unknown device', `${api}/servers/1?o=${org}`, h, 404],
      ['404 of an unknown path', `${api}/nothing`, h, 404],
      ['400 of a limit out of range', `${api}/servers?o=${org}&limit=501`, h, 400],
      ['401 without a key', `${api}/orgs`, {}, 401],
    ] as const) {
      const r = await call(url, headers);
      expect(r.status, what).toBe(status);
      expectShape(what, ax.error, r.body);
    }
  });

  it('Izuma (pelion_dm_public_openapi.yaml): account, device, group and firmware pages, the default limit, error bodies', async () => {
    const h = { authorization: 'Bearer ak_schema' };
    const o = izuma.origin;
    expectShape('GET /v3/accounts/me', iz.account, (await call(`${o}/v3/accounts/me`, h)).body);
    const devices = await call(`${o}/v3/devices?include=total_count`, h);
    expectShape('GET /v3/devices', iz.page(iz.device), devices.body);
    // limit defaults to 50.
    expect([(devices.body as { limit: number }).limit, (devices.body as { data: unknown[] }).data.length]).toEqual([50, 50]);
    expectShape('GET /v3/devices/{id}', iz.device, (await call(`${o}/v3/devices/${izuma.data.devices[0]!.id}`, h)).body);
    expectShape('GET /v3/device-groups', iz.page(iz.deviceGroup), (await call(`${o}/v3/device-groups`, h)).body);
    expectShape('GET /v3/firmware-images', iz.page(iz.firmwareImage), (await call(`${o}/v3/firmware-images?limit=2`, h)).body);
    for (const [what, url, headers, status] of [
      ['404 of an unknown device', `${o}/v3/devices/${'0'.repeat(32)}`, h, 404],
      ['404 of an unknown path', `${o}/v3/nothing`, h, 404],
      ['400 of a limit out of range', `${o}/v3/devices?limit=1`, h, 400],
      ['401 with a wrong key', `${o}/v3/devices`, { authorization: 'Bearer ak_wrong' }, 401],
    ] as const) {
      const r = await call(url, headers);
      expect(r.status, what).toBe(status);
      expectShape(what, iz.error, r.body);
    }
  });

  it('Toggl (v9 and Reports v3 definitions): workspaces, organizations, projects, clients, users, tags, tasks, the detailed search and its totals, text errors', async () => {
    const h = { authorization: `Basic ${Buffer.from('tg:api_token').toString('base64')}` };
    const v9 = `${toggl.origin}/api/v9`;
    const ws = toggl.data.workspaces[0]!;
    expectShape('GET /me/workspaces', tg.workspace.array(), (await call(`${v9}/me/workspaces`, h)).body);
    expectShape('GET /organizations/{id}', tg.organization, (await call(`${v9}/organizations/${ws.organization_id}`, h)).body);
    expectShape('GET /workspaces/{id}/projects', tg.project.array(), (await call(`${v9}/workspaces/${ws.id}/projects?active=both`, h)).body);
    expectShape('GET /workspaces/{id}/clients', tg.client.array(), (await call(`${v9}/workspaces/${ws.id}/clients?status=both`, h)).body);
    expectShape('GET /workspaces/{id}/users', tg.workspaceUser.array(), (await call(`${v9}/workspaces/${ws.id}/users`, h)).body);
    expectShape('GET /workspaces/{id}/tags', tg.tag.array(), (await call(`${v9}/workspaces/${ws.id}/tags`, h)).body);
    expectShape('GET /workspaces/{id}/tasks', tg.tasks, (await call(`${v9}/workspaces/${ws.id}/tasks?active=both`, h)).body);
    const reports = `${toggl.origin}/reports/api/v3/workspace/${ws.id}/search/time_entries`;
    const today = new Date().toISOString().slice(0, 10);
    const dates = { start_date: new Date(Date.now() - 120 * 86_400_000).toISOString().slice(0, 10), end_date: today };
    for (const enrich of [false, true]) {
      const r = await call(reports, h, { method: 'POST', body: { ...dates, enrich_response: enrich } });
      expectShape(`POST search/time_entries (enrich_response ${enrich})`, tg.reportRow.array(), r.body);
      // page_size defaults to 50.
      expect((r.body as unknown[]).length).toBe(50);
    }
    const totals = await call(`${reports}/totals`, h, { method: 'POST', body: dates });
    expectShape('POST search/time_entries/totals', tg.totals, totals.body);
    for (const [what, url, status] of [
      ['404 of an unknown organization', `${v9}/organizations/1`, 404],
      ['403 of a workspace not ours', `${v9}/workspaces/1/projects`, 403],
      ['400 of per_page out of range', `${v9}/workspaces/${ws.id}/projects?per_page=201`, 400],
    ] as const) {
      const r = await call(url, h);
      expect(r.status, what).toBe(status);
      expectShape(what, tg.error, r.body);
    }
  });

  it('Famoco (documented: DRF pages, organizations with id, guid, name; recorded answers: create_date, update_date, status, is_blocked)', async () => {
    const h = { authorization: 'Bearer fm' };
    const o = famoco.origin;
    expectShape('GET /api/organizations/', fm.page(fm.organization), (await call(`${o}/api/organizations/`, h)).body);
    const org = famoco.data.organizations[0]!.id;
    expectShape('GET /api/organizations/{id}/fleets/', fm.page(fm.orgScoped), (await call(`${o}/api/organizations/${org}/fleets/`, h)).body);
    expectShape('GET /api/organizations/{id}/devices/', fm.page(fm.orgScoped), (await call(`${o}/api/organizations/${org}/devices/?page_size=5`, h)).body);
    const missing = await call(`${o}/api/organizations/1/devices/`, h);
    expect(missing.status).toBe(404);
    expectShape('404 of an unknown organization', fm.error, missing.body);
    const denied = await call(`${o}/api/organizations/`, {});
    expect(denied.status).toBe(401);
    expectShape('401 without a token', fm.error, denied.body);
  });

  it('partner API (vendor doc 004): {data, total, page, limit} with limit 25 by default, {error, message, details} errors', async () => {
    const h = { authorization: `Basic ${Buffer.from('pt:pt-secret').toString('base64')}` };
    const o = `${partner.origin}/v1`;
    const before = await call(`${o}/sites`, h);
    expectShape('a list without an active OU', pt.error, before.body);
    await call(`${o}/org-units/active`, h, { method: 'PUT', body: { id: partner.data.orgUnits[0]!.id } });
    const sites = await call(`${o}/sites`, h);
    expectShape('GET /sites', pt.page(pt.resource), sites.body);
    expect([(sites.body as { page: number }).page, (sites.body as { limit: number }).limit]).toEqual([1, 25]);
    expectShape('GET /users', pt.page(pt.resource), (await call(`${o}/users?limit=2&page=2`, h)).body);
    for (const [what, url, headers, status] of [
      ['400 of a limit out of range', `${o}/sites?limit=101`, h, 400],
      ['401 with wrong credentials', `${o}/sites`, { authorization: 'Basic eDp5' }, 401],
      ['404 of an unknown path', `${o}/nothing`, h, 404],
    ] as const) {
      const r = await call(url, headers);
      expect(r.status, what).toBe(status);
      expectShape(what, pt.error, r.body);
    }
  });
});
