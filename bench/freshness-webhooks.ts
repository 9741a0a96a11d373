/**
 * The webhook cases of `npm run bench:freshness` (bench/freshness.ts): Toggl (webhooks, signed
 * records) and Izuma (notification channel, devices fetched by id). The `-events` source gets a
 * receiver on loopback and its vendor's subscription (`webhooks register`'s code); the `-walks`
 * source sees the same changes through walks only.
 */
import type { App } from '../src/app.js';
import type { Listening } from '../src/listening.js';
import { IzumaSimulator, generateIzumaData, type IzumaDevice } from '../src/simulators/izuma.js';
import { generateTogglData, TogglSimulator, type TogglTimeEntry } from '../src/simulators/toggl.js';
import { callbackUrl } from '../src/webhooks/config.js';
import { registerIzuma } from '../src/webhooks/izuma-setup.js';
import { routeOfSource } from '../src/webhooks/route.js';
import { startWebhookReceiver } from '../src/webhooks/start.js';
import { registerToggl } from '../src/webhooks/toggl-setup.js';
import { vendorCaller } from '../src/webhooks/vendor-call.js';
import { freePort } from '../test/helpers/ports.js';
import type { Change, FreshnessCase } from './freshness.js';

/** What both webhook cases share: a receiver for the `-events` source, set up after its first sync. */
function receiverFor(sourceId: string, register: (app: App, url: string, secret: string) => Promise<string[]>) {
  let port = 0;
  let receiver: Listening | null = null;
  return {
    async config(): Promise<Record<string, unknown>> {
      port = await freePort();
      return { webhooks: { publicUrl: `http://127.0.0.1:${port}` } };
    },
    async afterSync(app: App): Promise<void> {
      receiver = await startWebhookReceiver(app, { host: '127.0.0.1', port });
      const route = routeOfSource(app.sources.get(sourceId)!);
      if (!route.ok) throw new Error(route.reason);
      const problems = await register(app, callbackUrl(app.config.webhooks.publicUrl!, sourceId), route.secret);
      if (problems.length > 0) throw new Error(problems.join('\n'));
    },
    stop: async () => void (await receiver?.close()),
  };
}

const togglTime = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, '+00:00');

/** Toggl: time entries added, edited and deleted; the documented 1 request/s at the simulator (a 429 beyond). */
export function togglCase(): FreshnessCase {
  const TOKEN = 'bench-freshness-toggl-token';
  const SECRET = 'bench-freshness-toggl-webhook-secret';
  const sims: Record<string, TogglSimulator> = {};
  const ids = ['tg-events', 'tg-walks'];
  let changesFrom = Number.POSITIVE_INFINITY;
  const hooks = receiverFor('tg-events', async (app, url, secret) => {
    const src = app.sources.get('tg-events')!;
    return registerToggl({ src, call: vendorCaller(app, src, 'api'), out: () => undefined }, { url, secret, plan: 'premium', workspaces: [] });
  });
  return {
    vendor: 'toggl',
    async start() {
      const sources = [];
      for (const id of ids) {
        const sim = new TogglSimulator({ apiToken: TOKEN, data: generateTogglData({ seed: 31, workspaces: 2, projectsPerWorkspace: 5, timeEntriesPerWorkspace: 150, timeEntryDays: 60 }), rateLimit: { max: 1, windowMs: 1000 } });
        sims[id] = sim;
        const origin = await sim.start();
        const credentials = { apiToken: '${BENCH_TOGGL_TOKEN}', ...(id.endsWith('-events') ? { webhookSecret: '${BENCH_TOGGL_SECRET}' } : {}) };
        sources.push({ id, vendor: 'toggl', baseUrl: `${origin}/api/v9`, credentials, resources: ['workspaces', 'projects', 'time_entries'], history: ['time_entries'] });
      }
      return { sources, config: await hooks.config(), env: { ...process.env, BENCH_TOGGL_TOKEN: TOKEN, BENCH_TOGGL_SECRET: SECRET }, stop: async () => void (await hooks.stop(), await Promise.all(Object.values(sims).map((s) => s.stop()))) };
    },
    afterSync: hooks.afterSync,
    change(n): Change {
      if (n === 0) changesFrom = Date.now();
      const [a, b] = ids.map((id) => sims[id]!);
      // The n-th seeded entry of the first workspace: the same at both simulators.
      const seeded = (sim: TogglSimulator) => sim.data.timeEntries.filter((e) => e.workspace_id === 7_000_001).sort((x, y) => x.id - y.id)[n]!;
      if (n % 3 === 0) {
        const base = seeded(a!);
        const start = Date.now() - 86_400_000;
        const entry = { ...base, description: `added ${n}`, start: togglTime(start), stop: togglTime(start + 900_000), duration: 900 } as TogglTimeEntry;
        const added = [a!, b!].map((sim) => sim.addTimeEntry(entry));
        return { kind: 'add', table: 'time_entries', id: String(added[0]!.id) };
      }
      const id = seeded(a!).id;
      if (n % 3 === 1) {
        for (const sim of [a!, b!]) sim.updateTimeEntry(id, { description: `edited ${n}` });
        return { kind: 'edit', table: 'time_entries', id: String(id), column: 'description', value: `edited ${n}` };
      }
      for (const sim of [a!, b!]) sim.deleteTimeEntry(id);
      return { kind: 'remove', table: 'time_entries', id: String(id) };
    },
    rateLimited: () => Object.fromEntries(Object.entries(sims).map(([id, s]) => [id, s.rateLimited])),
    requests: () => Object.fromEntries(Object.entries(sims).map(([id, s]) => [id, s.requests.filter((r) => r.at >= changesFrom).length])),
  };
}

/** Izuma: devices registered (new ones), de-registered and registered again; the status change is the edit. */
export function izumaCase(): FreshnessCase {
  const KEY = 'bench-freshness-izuma-key';
  const SECRET = 'bench-freshness-izuma-webhook-secret';
  const sims: Record<string, IzumaSimulator> = {};
  const ids = ['iz-events', 'iz-walks'];
  let changesFrom = Number.POSITIVE_INFINITY;
  const hooks = receiverFor('iz-events', async (app, url, secret) => {
    const src = app.sources.get('iz-events')!;
    return registerIzuma({ src, call: vendorCaller(app, src, 'api'), out: () => undefined }, { url, secret, force: true });
  });
  // Each seeded device changes once, so a change's new status is never one of its earlier versions.
  const used = new Set<string>();
  const pick = (sim: IzumaSimulator, state: IzumaDevice['state']) => {
    const d = sim.data.devices.filter((x) => x.state === state && !used.has(x.id)).sort((x, y) => (x.id < y.id ? -1 : 1))[0]!;
    used.add(d.id);
    return d;
  };
  return {
    vendor: 'izuma',
    async start() {
      const sources = [];
      for (const id of ids) {
        const sim = new IzumaSimulator({ apiKey: KEY, data: generateIzumaData({ seed: 31, devices: 300 }) });
        sims[id] = sim;
        const origin = await sim.start();
        const credentials = { apiKey: '${BENCH_IZUMA_KEY}', ...(id.endsWith('-events') ? { webhookSecret: '${BENCH_IZUMA_SECRET}' } : {}) };
        sources.push({ id, vendor: 'izuma', baseUrl: origin, credentials, resources: ['organizations', 'devices'] });
      }
      return { sources, config: await hooks.config(), env: { ...process.env, BENCH_IZUMA_KEY: KEY, BENCH_IZUMA_SECRET: SECRET }, stop: async () => void (await hooks.stop(), await Promise.all(Object.values(sims).map((s) => s.stop()))) };
    },
    afterSync: hooks.afterSync,
    change(n): Change {
      if (n === 0) changesFrom = Date.now();
      const [a, b] = ids.map((id) => sims[id]!);
      if (n % 3 === 0) {
        const device = a!.addDevice({ name: `registered-${n}`, state: 'bootstrapped' });
        b!.data.devices.push(structuredClone(device));
        used.add(device.id);
        for (const sim of [a!, b!]) sim.registration('registrations', device.id);
        return { kind: 'add', table: 'devices', id: device.id };
      }
      const [kind, from, to] = n % 3 === 1 ? (['de-registrations', 'registered', 'deregistered'] as const) : (['registrations', 'deregistered', 'registered'] as const);
      const id = pick(a!, from).id;
      for (const sim of [a!, b!]) sim.registration(kind, id);
      return { kind: 'edit', table: 'devices', id, column: 'status', value: to };
    },
    rateLimited: () => Object.fromEntries(Object.entries(sims).map(([id, s]) => [id, s.rateLimited])),
    requests: () => Object.fromEntries(Object.entries(sims).map(([id, s]) => [id, s.requests.filter((r) => r.at >= changesFrom).length])),
  };
}
