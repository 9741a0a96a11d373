import { afterEach, describe, expect, it } from 'vitest';
import { HttpSimulator } from '../src/simulators/http-sim.js';
import { AutomoxSimulator, generateAutomoxData } from '../src/simulators/automox.js';
import { FamocoInsightsSimulator, FamocoSimulator, generateFamocoData } from '../src/simulators/famoco.js';
import { IzumaSimulator, generateIzumaData } from '../src/simulators/izuma.js';

const running: HttpSimulator[] = [];
async function boot<T extends HttpSimulator>(sim: T): Promise<{ sim: T; origin: string }> {
  const origin = await sim.start();
  running.push(sim);
  return { sim, origin };
}
afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.stop()));
});

type Json = Record<string, unknown>;
async function getJson(url: string, token?: string): Promise<{ status: number; headers: Headers; body: unknown }> {
  const res = await fetch(url, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? (JSON.parse(text) as unknown) : undefined };
}

describe('AutomoxSimulator', () => {
  const KEY = 'ax-key';
  const data = () => generateAutomoxData({ seed: 42, orgs: 3, devicesPerOrg: [145, 3, 0], packagesPerDevice: 2 });

  it('rejects missing auth with 401 and rate-limit headers', async () => {
    const { origin } = await boot(new AutomoxSimulator({ apiKey: KEY, data: data() }));
    const r = await getJson(`${origin}/api/orgs`);
    expect(r.status).toBe(401);
    expect(r.body).toEqual({ errors: ['Unauthorized'] });
    expect(r.headers.get('x-request-id')).toMatch(/^[0-9a-f]{32}$/);
    expect(r.headers.get('x-ratelimit-limit')).toBe('100');
    expect(Number(r.headers.get('x-ratelimit-reset'))).toBeGreaterThan(Date.now() / 1000 - 1);
  });

  it('slices pages of bare arrays in id order', async () => {
    const { sim, origin } = await boot(new AutomoxSimulator({ apiKey: KEY, data: data() }));
    const org = sim.data.orgs[0]?.id;
    const pages: number[][] = [];
    for (let page = 0; page < 4; page++) {
      const r = await getJson(`${origin}/api/servers?o=${org}&limit=50&page=${page}`, KEY);
      expect(r.status).toBe(200);
      pages.push((r.body as Array<{ id: number }>).map((x) => x.id));
    }
    expect(pages.map((p) => p.length)).toEqual([50, 50, 45, 0]);
    const all = pages.flat();
    expect(all).toEqual([...all].sort((a, b) => a - b));
    expect(new Set(all).size).toBe(145);

    const groups = await getJson(`${origin}/api/servergroups?o=${org}`, KEY);
    expect((groups.body as Json[]).some((g) => g.name === '')).toBe(true);

    // deleting a server hides it and its packages
    const victim = sim.data.servers[0]?.id;
    sim.data.servers = sim.data.servers.filter((s) => s.id !== victim);
    const pk = await getJson(`${origin}/api/orgs/${org}/packages?o=${org}&limit=500`, KEY);
    expect((pk.body as Json[]).some((p) => p.server_id === victim)).toBe(false);
    expect((pk.body as Json[]).length).toBe(144 * 2);
  });

  it('validates limit, page and o', async () => {
    const { sim, origin } = await boot(new AutomoxSimulator({ apiKey: KEY, data: data() }));
    const org = sim.data.orgs[0]?.id;
    for (const limit of ['0', '501', 'x']) {
      const r = await getJson(`${origin}/api/servers?o=${org}&limit=${limit}`, KEY);
      expect(r.status).toBe(400);
      expect(r.body).toEqual({ errors: ['limit must be between 1 and 500'] });
    }
    expect((await getJson(`${origin}/api/servers?o=${org}&page=-1`, KEY)).status).toBe(400);
    const forbidden = await getJson(`${origin}/api/servers?o=999`, KEY);
    expect(forbidden.status).toBe(403);
    expect(forbidden.body).toEqual({ errors: ['Forbidden'] });
  });

  it('injects status and drop faults before auth', async () => {
    const { sim, origin } = await boot(new AutomoxSimulator({ apiKey: KEY, data: data() }));
    sim.inject({ kind: 'status', status: 503, times: 2, match: (r) => r.path === '/api/orgs' });
    sim.inject({ kind: 'drop', match: (r) => r.path === '/api/servergroups' });
    expect((await getJson(`${origin}/api/orgs`)).status).toBe(503); // no auth needed: faults come first
    const second = await getJson(`${origin}/api/orgs`, KEY);
    expect(second.status).toBe(503);
    expect(second.body).toEqual({ errors: ['Service Unavailable'] });
    expect((await getJson(`${origin}/api/orgs`, KEY)).status).toBe(200);
    await expect(fetch(`${origin}/api/servergroups`, { headers: { authorization: `Bearer ${KEY}` } })).rejects.toThrow();
    expect((await getJson(`${origin}/api/servergroups`, KEY)).status).toBe(200);
    expect(sim.requests.map((r) => r.status)).toEqual([503, 503, 200, 0, 200]);
    expect(sim.pendingFaults).toBe(0);
  });

  it('answers 429 with retry-after once the window is spent', async () => {
    const { sim, origin } = await boot(new AutomoxSimulator({ apiKey: KEY, data: data(), rateLimit: { max: 3, windowMs: 60_000 } }));
    const statuses: number[] = [];
    let last: Awaited<ReturnType<typeof getJson>> | undefined;
    for (let i = 0; i < 4; i++) {
      last = await getJson(`${origin}/api/orgs`, KEY);
      statuses.push(last.status);
    }
    expect(statuses).toEqual([200, 200, 200, 429]);
    expect(last?.body).toEqual({ errors: ['Too Many Requests'] });
    expect(Number(last?.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(last?.headers.get('x-ratelimit-remaining')).toBe('0');
    expect(sim.rateLimited).toBe(1);
  });
});

describe('FamocoSimulator', () => {
  const TOKEN = 'famoco-token';
  const data = () => generateFamocoData({ seed: 3, orgs: 2, devicesPerOrg: [250, 4], fleetsPerOrg: 3 });

  it('requires a bearer token', async () => {
    const { origin } = await boot(new FamocoSimulator({ token: TOKEN, data: data() }));
    const r = await getJson(`${origin}/api/organizations/`);
    expect(r.status).toBe(401);
    expect(r.body).toEqual({ errors: { detail: 'Authentication credentials were not provided.' } });
  });

  it('paginates DRF-style with absolute next/previous links', async () => {
    const { sim, origin } = await boot(new FamocoSimulator({ token: TOKEN, data: data() }));
    const orgs = await getJson(`${origin}/api/organizations/`, TOKEN);
    const org = ((orgs.body as Json).results as Json[])[0] as Json;
    expect(org.guid).toMatch(/^[0-9a-f-]{36}$/);
    let url: string | null = `${origin}/api/organizations/${String(org.id)}/devices/`;
    const ids: number[] = [];
    const pages: Json[] = [];
    while (url) {
      const r = await getJson(url, TOKEN);
      expect(r.status).toBe(200);
      const body = r.body as Json;
      pages.push(body);
      ids.push(...(body.results as Array<{ id: number }>).map((d) => d.id));
      url = body.next as string | null;
      if (url) expect(url.startsWith(origin)).toBe(true);
    }
    expect(pages).toHaveLength(3);
    expect(pages[0]?.count).toBe(250);
    expect(pages[0]?.previous).toBeNull();
    expect(pages[1]?.previous).toBe(`${origin}/api/organizations/${String(org.id)}/devices/`);
    expect(new Set(ids).size).toBe(250);
    const dev = (pages[0]?.results as Json[])[0] as Json;
    expect(dev.hardware_details).toMatchObject({ wifi_mac: expect.any(String), imei: expect.any(Array) });
    expect(sim.data.fleets.filter((f) => f.organization === org.id)).toHaveLength(3);
    const fleets = await getJson(`${origin}/api/organizations/${String(org.id)}/fleets/?page_size=2`, TOKEN);
    expect((fleets.body as Json).next).toBe(`${origin}/api/organizations/${String(org.id)}/fleets/?page_size=2&page=2`);
  });

  it('returns DRF field and page errors', async () => {
    const { sim, origin } = await boot(new FamocoSimulator({ token: TOKEN, data: data() }));
    const id = sim.data.organizations[0]?.id;
    const big = await getJson(`${origin}/api/organizations/${id}/devices/?page_size=1001`, TOKEN);
    expect(big.status).toBe(400);
    expect(big.body).toEqual({ errors: { page_size: ['Ensure this value is less than or equal to 1000.'] } });
    const bad = await getJson(`${origin}/api/organizations/${id}/devices/?page=99`, TOKEN);
    expect(bad.status).toBe(404);
    expect(bad.body).toEqual({ errors: { detail: 'Invalid page.' } });
    expect((await getJson(`${origin}/api/organizations/424242/devices/`, TOKEN)).status).toBe(404);
  });

  it('misbehaves on request: foreign next origin and repeating next', async () => {
    const { sim, origin } = await boot(
      new FamocoSimulator({ token: TOKEN, data: data(), nextOriginOverride: 'http://evil.example:8080' }),
    );
    const id = sim.data.organizations[0]?.id;
    const r = await getJson(`${origin}/api/organizations/${id}/devices/`, TOKEN);
    expect((r.body as Json).next).toBe(`http://evil.example:8080/api/organizations/${id}/devices/?page=2`);
    sim.nextOriginOverride = undefined;
    sim.repeatNext = true;
    const p2 = await getJson(`${origin}/api/organizations/${id}/devices/?page=3`, TOKEN);
    expect((p2.body as Json).next).toBe(`${origin}/api/organizations/${id}/devices/?page=3`);
  });

  it('throttles with Retry-After and the documented body', async () => {
    const { sim, origin } = await boot(
      new FamocoSimulator({ token: TOKEN, data: data(), rateLimit: [{ max: 5, windowMs: 60_000 }, { max: 2, windowMs: 3_600_000 }] }),
    );
    expect((await getJson(`${origin}/api/organizations/`, TOKEN)).status).toBe(200);
    expect((await getJson(`${origin}/api/organizations/`, TOKEN)).status).toBe(200);
    const r = await getJson(`${origin}/api/organizations/`, TOKEN);
    expect(r.status).toBe(429);
    const wait = Number(r.headers.get('retry-after'));
    expect(wait).toBeGreaterThan(3500);
    expect(r.body).toEqual({ errors: { detail: `Request was throttled. Expected available in ${wait} seconds.` } });
    expect(sim.rateLimited).toBe(1);
  });

  it('serves Insights scoped by org GUID', async () => {
    const d = data();
    const { origin } = await boot(new FamocoInsightsSimulator({ token: TOKEN, data: d }));
    const org = d.organizations[1];
    const r = await getJson(`${origin}/api/organizations/${org?.guid}/devices/?page_size=2`, TOKEN);
    expect(r.status).toBe(200);
    expect((r.body as Json).count).toBe(4);
    expect(((r.body as Json).results as Json[])[0]?.organization_guid).toBe(org?.guid);
    expect((await getJson(`${origin}/api/organizations/${org?.id}/devices/`, TOKEN)).status).toBe(404);
  });
});

describe('IzumaSimulator', () => {
  const KEY = 'ak_272f4259b2b1470599c19bc4a473d3cb';
  const data = () => generateIzumaData({ seed: 9, devices: 120, groups: 3, firmwareImages: 2 });

  it('returns the Izuma error model on bad API keys', async () => {
    const { origin } = await boot(new IzumaSimulator({ apiKey: KEY, data: data() }));
    const r = await getJson(`${origin}/v3/devices`, 'ak_wrong');
    expect(r.status).toBe(401);
    const rid = r.headers.get('x-request-id');
    expect(rid).toMatch(/^[0-9a-f]{32}$/);
    expect(r.body).toMatchObject({ object: 'error', code: 401, type: 'invalid_apikey', fields: [], request_id: rid });
  });

  it('walks pages with after/has_more and reports total_count', async () => {
    const { origin } = await boot(new IzumaSimulator({ apiKey: KEY, data: data() }));
    const ids: string[] = [];
    let after: string | null = null;
    let calls = 0;
    for (;;) {
      const qs: string = `limit=50&include=total_count${after ? `&after=${after}` : ''}`;
      const r = await getJson(`${origin}/v3/devices?${qs}`, KEY);
      calls++;
      const body = r.body as { has_more: boolean; data: Array<{ id: string }>; total_count: number; object: string };
      expect(body.object).toBe('list');
      expect(body.total_count).toBe(120);
      ids.push(...body.data.map((d) => d.id));
      if (!body.has_more) break;
      after = body.data[body.data.length - 1]?.id ?? null;
    }
    expect(calls).toBe(3);
    expect(ids).toHaveLength(120);
    expect(ids).toEqual([...ids].sort());
    const desc = await getJson(`${origin}/v3/devices?order=DESC&limit=2`, KEY);
    expect((desc.body as { data: Array<{ id: string }> }).data[0]?.id).toBe(ids[119]);
  });

  it('validates limit with fields[]', async () => {
    const { origin } = await boot(new IzumaSimulator({ apiKey: KEY, data: data() }));
    for (const limit of ['1', '1001']) {
      const r = await getJson(`${origin}/v3/devices?limit=${limit}`, KEY);
      expect(r.status).toBe(400);
      expect(r.body).toMatchObject({ object: 'error', code: 400, type: 'validation_error', fields: [{ name: 'limit' }] });
    }
  });

  it('filters by updated_at after touchDevice and survives deleted cursors', async () => {
    const { sim, origin } = await boot(new IzumaSimulator({ apiKey: KEY, data: data() }));
    const target = sim.data.devices[10]?.id ?? '';
    sim.now = () => Date.UTC(2030, 0, 1, 12, 0, 0);
    sim.touchDevice(target);
    for (const since of ['2029-12-31T00:00:00.1234Z', '20291231T000000Z']) {
      const r = await getJson(`${origin}/v3/devices?updated_at__gte=${since}`, KEY);
      expect((r.body as { data: Array<{ id: string }> }).data.map((d) => d.id)).toEqual([target]);
    }
    const bad = await getJson(`${origin}/v3/devices?updated_at__gte=yesterday`, KEY);
    expect(bad.status).toBe(400);
    const cursor = sim.data.devices[49]?.id ?? '';
    expect(sim.deleteDevice(cursor)).toBe(true);
    const r = await getJson(`${origin}/v3/devices?after=${cursor}&limit=100`, KEY);
    expect((r.body as { data: unknown[]; has_more: boolean }).data).toHaveLength(70);
  });

  it('can get stuck on the same page and can rate limit', async () => {
    const { sim, origin } = await boot(new IzumaSimulator({ apiKey: KEY, data: data(), stuckAfter: true, rateLimit: { max: 2, windowMs: 60_000 } }));
    const a = (await getJson(`${origin}/v3/devices?limit=10`, KEY)).body as { has_more: boolean; data: Array<{ id: string }> };
    const b = (await getJson(`${origin}/v3/devices?limit=10&after=${a.data[9]?.id}`, KEY)).body as typeof a;
    expect(b.has_more).toBe(true);
    expect(b.data).toEqual(a.data);
    const r = await getJson(`${origin}/v3/accounts/me`, KEY);
    expect(r.status).toBe(429);
    expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(r.body).toMatchObject({ object: 'error', code: 429, request_id: r.headers.get('x-request-id') });
    expect(sim.rateLimited).toBe(1);
  });
});
