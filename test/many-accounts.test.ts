import type { ChildProcess } from 'node:child_process';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../src/app.js';
import { AutomoxSimulator, generateAutomoxData } from '../src/simulators/automox.js';
import { storeSources } from '../src/source-store.js';
import { VENDORS } from '../jobs/index.js';
import { createTestEnv, waitFor, type TestEnv } from './helpers.js';
import { runCli } from './helpers/cli.js';
import { automoxSource, FAST, tempDir, testConfig, type TempDir } from './helpers/config.js';
import { killAll, startWorker } from './helpers/worker.js';
import { busiestWindow } from './helpers/windows.js';

// Many accounts sharing the same worker processes: page jobs of every source of a vendor share one
// queue, so each account's limits must still hold, a big account must not starve small ones, and
// sources stored in Postgres must be picked up by running workers.

const ACCOUNTS = 10;
const LIMIT = { max: 4, durationMs: 1000 };
const keyOf = (i: number) => `acct-key-${i}`;

describe('many accounts sharing two worker processes', () => {
  let env: TestEnv;
  let dir: TempDir;
  let app: App;
  let file: string;
  const sims: AutomoxSimulator[] = [];
  let big: AutomoxSimulator;
  let added: AutomoxSimulator;
  let addedOrigin = '';
  const children: ChildProcess[] = [];
  const keys: Record<string, string> = { BIG_KEY: 'big-key', ADDED_KEY: 'added-key' };

  beforeAll(async () => {
    env = await createTestEnv();
    dir = await tempDir('fleetsync-accounts-');
    const sources = [];
    for (let i = 0; i < ACCOUNTS; i++) {
      const sim = new AutomoxSimulator({ apiKey: keyOf(i), data: generateAutomoxData({ seed: 100 + i, orgs: 2, devicesPerOrg: 12, packagesPerDevice: 1, groupsPerOrg: 1 }) });
      sims.push(sim);
      keys[`ACCT_KEY_${i}`] = keyOf(i);
      // Every account's lanes at a tight limit, each lane two pages at once per process.
      sources.push(automoxSource(`acct-${i}`, `${await sim.start()}/api`, `ACCT_KEY_${i}`, { rateLimits: { api: { windows: [LIMIT], concurrency: 2 }, servers: { windows: [LIMIT], concurrency: 2 } }, tags: ['tenant'] }));
    }
    big = new AutomoxSimulator({ apiKey: 'big-key', data: generateAutomoxData({ seed: 7, orgs: 1, devicesPerOrg: 6000, packagesPerDevice: 0, groupsPerOrg: 1 }) });
    sources.push(automoxSource('big', `${await big.start()}/api`, 'BIG_KEY', { resources: ['organizations', 'devices'], rateLimits: { api: FAST, servers: { ...FAST, concurrency: 2 } } }));
    added = new AutomoxSimulator({ apiKey: 'added-key', data: generateAutomoxData({ seed: 9, orgs: 1, devicesPerOrg: 40, packagesPerDevice: 0, groupsPerOrg: 1 }) });
    addedOrigin = await added.start();
    const cfg = testConfig(sources, { worker: { ...testConfig([]).worker, sourceRefreshMs: 300, concurrency: 8 } });
    file = await dir.writeYaml('fleetsync.yaml', cfg);
    app = await env.open(cfg, { ...process.env, ...keys });
    for (let i = 0; i < 2; i++) children.push(startWorker(file, env, keys));
  });

  afterAll(async () => {
    killAll(children);
    for (const s of [...sims, big, added]) await s.stop();
    await env.cleanup();
    await dir.remove();
  });

  it("holds every account's own limit while all of them share the workers, with every row exact", async () => {
    const runs = await Promise.all(sims.map(async (_, i) => (await app.engine.startRun(`acct-${i}`, { trigger: 'test' })).runId));
    for (const runId of runs) expect((await app.engine.waitForRun(runId, { pollMs: 100 })).status).toBe('succeeded');
    for (const [i, sim] of sims.entries()) {
      const servers = sim.requests.filter((r) => r.path.startsWith('/api/servers')).map((r) => r.at);
      const others = sim.requests.filter((r) => !r.path.startsWith('/api/servers')).map((r) => r.at);
      // Enough traffic per account that its limit was reached, not merely respected while idle.
      expect(servers.length + others.length).toBeGreaterThan(LIMIT.max);
      expect(busiestWindow(servers, LIMIT.durationMs), `acct-${i} /servers`).toBeLessThanOrEqual(LIMIT.max);
      expect(busiestWindow(others, LIMIT.durationMs), `acct-${i} api`).toBeLessThanOrEqual(LIMIT.max);
      expect(sim.requests.filter((r) => r.status === 429)).toEqual([]);
      const devices = await env.db.selectFrom('devices').select('external_id').where('source_id', '=', `acct-${i}`).where('deleted_at', 'is', null).orderBy('external_id').execute();
      expect(devices.map((d) => d.external_id)).toEqual(sim.data.servers.map((s) => String(s.id)).sort());
    }
  });

  it('a huge account does not starve small ones: every small run ends while the big walk is still going', async () => {
    const { runId: bigRun } = await app.engine.startRun('big', { trigger: 'test' });
    await waitFor(async () => Number((await sql<{ n: string }>`select coalesce(sum(pages), 0) as n from sync_walks where run_id = ${bigRun} and resource = 'devices'`.execute(env.db)).rows[0]!.n) >= 3, 'the big walk to be under way');
    const small = await Promise.all(sims.map(async (_, i) => (await app.engine.startRun(`acct-${i}`, { trigger: 'test' })).runId));
    for (const runId of small) expect((await app.engine.waitForRun(runId, { pollMs: 100 })).status).toBe('succeeded');
    // Order, not time: the small runs did not queue behind the big walk's pages.
    expect((await env.db.selectFrom('sync_runs').select('status').where('id', '=', bigRun).executeTakeFirstOrThrow()).status).toBe('running');
    expect((await app.engine.waitForRun(bigRun, { pollMs: 200 })).status).toBe('succeeded');
    const n = await env.db.selectFrom('devices').select(sql<number>`count(*)::int`.as('n')).where('source_id', '=', 'big').executeTakeFirstOrThrow();
    expect(n.n).toBe(big.data.servers.length);
  });

  it('a source stored in Postgres is worked by the running workers; removed, its queued jobs are dropped and its rows kept', async () => {
    const stored = { id: 'added', vendor: 'automox', baseUrl: `${addedOrigin}/api`, credentials: { apiKey: '${ADDED_KEY}' }, pageSize: 5 };
    // A secret value is refused: Postgres holds references only.
    await expect(storeSources(env.db, [{ ...stored, credentials: { apiKey: 'added-key' } }], { vendors: VENDORS, yamlIds: new Set() })).rejects.toThrow(/credentials\.apiKey: must be a reference/);
    const add = await runCli(env, file, ['sources', 'add', 'added', '--vendor', 'automox', '--base-url', `${addedOrigin}/api`, '--credential', 'apiKey=${ADDED_KEY}', '--tag', 'late']);
    expect(add.code, add.stderr).toBe(0);
    // A worker starting now knows the stored source before it takes a page job.
    const late = startWorker(file, env, { ...keys, FLEETSYNC_LOG_LEVEL: 'info' });
    children.push(late);
    let log = '';
    late.stderr?.on('data', (d: Buffer) => (log += d.toString()));
    await waitFor(() => log.includes('"msg":"worker started"'), 'the late worker to start');
    const started = log.slice(0, log.indexOf('"msg":"worker started"'));
    expect(started).toMatch(/"added":\d+[^\n]*"msg":"sources changed in Postgres; picked up"/);
    // This command holds no secret, so it only waits: the running workers read the source from Postgres and work it.
    const sync = await runCli(env, file, ['sync', '--source', 'added', '--wait']);
    expect(sync.code, sync.stderr).toBe(0);
    const rows = await env.db.selectFrom('devices').select(sql<number>`count(*)::int`.as('n')).where('source_id', '=', 'added').executeTakeFirstOrThrow();
    expect(rows.n).toBe(added.data.servers.length);

    const retag = await runCli(env, file, ['sources', 'update', 'added', '--tag', 'gold']);
    expect(retag.code, retag.stderr).toBe(0);
    // Its next run is held mid-walk: the vendor answers every /servers page with a 429 and an hour's Retry-After.
    await app.sources.refresh();
    added.inject({ kind: 'status', status: 429, headers: { 'retry-after': '3600' }, times: Infinity, match: (r) => r.path.startsWith('/api/servers') });
    const { runId } = await app.engine.startRun('added', { trigger: 'test', resources: ['devices'] });
    await waitFor(async () => (await env.db.selectFrom('sync_walks').select('waiting_reason').where('run_id', '=', runId).where('resource', '=', 'devices').executeTakeFirst())?.waiting_reason != null, 'the run to wait on the vendor');
    const removed = await runCli(env, file, ['sources', 'remove', 'added']);
    expect(removed.code, removed.stderr).toBe(0);
    expect(removed.stdout).toContain(`cancelled run ${runId}`);
    const walks = await env.db.selectFrom('sync_walks').select(['status', 'error_message']).where('run_id', '=', runId).execute();
    expect(walks.every((w) => w.status !== 'running')).toBe(true);
    const queued = (await Promise.all(app.engine.queues().map((q) => q.getJobs(['waiting', 'delayed', 'prioritized'])))).flat().filter((j) => j?.data.sourceId === 'added');
    expect(queued).toEqual([]);
    // Its rows stay; the workers forget it at their next read of the stored sources.
    expect((await env.db.selectFrom('devices').select(sql<number>`count(*)::int`.as('n')).where('source_id', '=', 'added').executeTakeFirstOrThrow()).n).toBe(added.data.servers.length);
    const list = await runCli(env, file, ['sources', 'list', '--json']);
    expect((JSON.parse(list.stdout) as Array<{ id: string }>).map((s) => s.id)).not.toContain('added');
    expect(retag.stdout).toContain('updated 1: added');
  });

  it('a stored source whose secret the workers lack fails its run at once, naming the variable, and no other', async () => {
    const stored = { id: 'nokey', vendor: 'automox', baseUrl: `${addedOrigin}/api`, credentials: { apiKey: '${NOKEY_NOT_SET}' } };
    await storeSources(env.db, [stored], { vendors: VENDORS, yamlIds: new Set() });
    await app.sources.refresh();
    const { runId } = await app.engine.startRun('nokey', { trigger: 'test' });
    const run = await app.engine.waitForRun(runId, { pollMs: 100 });
    expect(run.status).toBe('failed');
    expect(run.error_message).toContain('credentials.apiKey: environment variable NOKEY_NOT_SET is not set');
    const walks = await env.db.selectFrom('sync_walks').select(['status', 'pages']).where('run_id', '=', runId).execute();
    expect(walks.length).toBeGreaterThan(0);
    for (const w of walks) expect([w.status, w.pages]).toEqual(['failed', 0]);
    // Failed at once: a missing secret is not retried.
    const failed = (await Promise.all(app.engine.queues().map((q) => q.getJobs(['failed'])))).flat().filter((j) => j?.data.sourceId === 'nokey');
    expect(failed.length).toBeGreaterThan(0);
    for (const j of failed) expect(j!.attemptsMade).toBe(1);
    const other = await app.engine.startRun('acct-0', { trigger: 'test', resources: ['organizations'] });
    expect((await app.engine.waitForRun(other.runId, { pollMs: 100 })).status).toBe('succeeded');
  });
});
