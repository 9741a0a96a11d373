import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../src/app.js';
import { renderOverview } from '../src/dashboard-pages.js';
import { createLogger } from '../src/logger.js';
import { Notifier } from '../src/notify/notifier.js';
import { AutomoxSimulator, generateAutomoxData } from '../src/simulators/automox.js';
import { createTestEnv, waitFor, type TestEnv } from './helpers.js';
import { spawnFleetsync, cliEnv } from './helpers/cli.js';
import { automoxSource, FAST, tempDir, testConfig, type TempDir } from './helpers/config.js';
import { syncOnce } from './helpers/sync.js';
import { exited } from './helpers/worker.js';

const KEY = 'notify-key';

/** A webhook receiver: records every JSON body per path; `failNext` answers the next request 500. */
async function receiver(): Promise<{ origin: string; bodies: (path: string) => Array<Record<string, unknown>>; failNext(): void; close(): Promise<void> }> {
  const got = new Map<string, Array<Record<string, unknown>>>();
  let fail = 0;
  const server: Server = createServer((req, res) => {
    let text = '';
    req.on('data', (d: Buffer) => (text += d.toString()));
    req.on('end', () => {
      if (fail > 0) {
        fail--;
        res.writeHead(500).end('down');
        return;
      }
      got.set(req.url ?? '/', [...(got.get(req.url ?? '/') ?? []), JSON.parse(text) as Record<string, unknown>]);
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    bodies: (path) => got.get(path) ?? [],
    failNext: () => void fail++,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

describe('freshness thresholds and webhook notifications', () => {
  let env: TestEnv;
  let sim: AutomoxSimulator;
  let app: App;
  let hooks: Awaited<ReturnType<typeof receiver>>;
  let dir: TempDir;
  let cfg: ReturnType<typeof testConfig>;

  beforeAll(async () => {
    env = await createTestEnv();
    sim = new AutomoxSimulator({ apiKey: KEY, data: generateAutomoxData({ seed: 21, orgs: 2, devicesPerOrg: [5, 3] }) });
    const origin = await sim.start();
    hooks = await receiver();
    dir = await tempDir('fleetsync-notify-');
    // devices are stale a millisecond after they succeeded; everything else has an hour.
    cfg = testConfig([automoxSource('ax', `${origin}/api`, 'NT_KEY', { rateLimits: { servers: FAST }, freshness: { default: '1h', devices: '1ms' } })], {
      notifications: {
        checkEveryMs: 1000,
        webhooks: [
          { url: `${hooks.origin}/slack`, format: 'slack' },
          { url: `${hooks.origin}/json`, format: 'json', events: ['run_failed', 'sweep_held'] },
        ],
      },
    });
    app = await env.open(cfg, { ...process.env, NT_KEY: KEY });
    app.engine.startWorkers();
  });
  afterAll(async () => {
    await sim.stop();
    await hooks.close();
    await env.cleanup();
    await dir.remove();
  });

  it('tells each webhook once about a failed run, a held sweep and a stale resource, whichever of two workers looks; a failed send is tried again', async () => {
    expect((await syncOnce(app, 'ax')).run.status).toBe('succeeded');
    // A run that fails: the vendor refuses the servers list.
    sim.inject({ kind: 'status', status: 400, body: { errors: ['limit must be between 1 and 500'] }, times: Infinity, match: (r) => r.path === '/api/servers' });
    const failed = await syncOnce(app, 'ax', ['devices']);
    expect(failed.run.status).not.toBe('succeeded');
    sim.clearFaults();
    // A held sweep: one organization listed empty.
    const org = sim.data.orgs[0]!.id;
    sim.data.servers = sim.data.servers.filter((d) => d.organization_id !== org);
    expect((await syncOnce(app, 'ax', ['devices'])).run.status).toBe('succeeded');

    hooks.failNext();
    const opts = { db: env.db, config: app.config.notifications, sourceIds: () => ['ax'], configOf: (id: string) => app.sources.configOf(id), logger: createLogger({ level: 'silent' }) };
    const [a, b] = [new Notifier(opts), new Notifier(opts)];
    await Promise.all([a.check(), b.check()]);
    await Promise.all([a.check(), b.check()]);

    const slack = hooks.bodies('/slack').map((x) => String(x.text));
    expect(slack.filter((t) => t.startsWith(`fleetsync: run ${failed.runId} of ax (test) `))).toHaveLength(1);
    expect(slack.filter((t) => t.includes(`scope ${org}: held: would delete 5 of 5 devices`))).toHaveLength(1);
    expect(slack.filter((t) => t.startsWith('fleetsync: ax/devices is stale: last success '))).toHaveLength(1);
    expect(slack.some((t) => t.includes('ax/organizations is stale'))).toBe(false);
    expect(slack).toHaveLength(3);
    const json = hooks.bodies('/json');
    expect(json.map((x) => x.event).sort()).toEqual(['run_failed', 'sweep_held']);
    expect(json.find((x) => x.event === 'run_failed')).toMatchObject({ source: 'ax', runId: failed.runId, status: expect.stringMatching(/^(failed|partial)$/) });
    expect(json.find((x) => x.event === 'sweep_held')).toMatchObject({ source: 'ax', resource: 'devices', scope: String(org), rows: 5 });

    // The dashboard's overview shows the stale resource against its threshold.
    const overview = await renderOverview({ db: env.db, logger: createLogger({ level: 'silent' }), sources: [{ id: 'ax', vendor: 'automox' }], csrf: null, configOf: (id) => app.sources.configOf(id) }, 5);
    expect(overview).toMatch(/stale: devices \d+\w* ago, freshness 1ms/);
  });

  it('a worker process sends them by itself (notifications in its config)', async () => {
    const file = await dir.writeYaml('worker.yaml', { ...cfg, notifications: { checkEveryMs: 1000, webhooks: [{ url: `${hooks.origin}/worker`, format: 'json', events: ['run_failed'] }] } });
    sim.inject({ kind: 'status', status: 400, body: { errors: ['bad page'] }, times: Infinity, match: (r) => r.path === '/api/servers' });
    const failed = await syncOnce(app, 'ax', ['devices']);
    sim.clearFaults();
    const worker = spawnFleetsync(['--config', file, 'worker', '--no-schedules'], cliEnv(env, { NT_KEY: KEY }), ['ignore', 'ignore', 'pipe']);
    try {
      const sent = await waitFor(() => hooks.bodies('/worker').find((x) => x.runId === failed.runId), 'the worker to notify the failed run', 60_000, 200);
      expect(sent).toMatchObject({ event: 'run_failed', source: 'ax' });
    } finally {
      worker.kill('SIGTERM');
      expect((await exited(worker)).code).toBe(0);
    }
  });
});
