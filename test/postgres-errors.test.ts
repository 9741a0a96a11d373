import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AutomoxSimulator, generateAutomoxData } from '../src/simulators/automox.js';
import type { HttpSimulator } from '../src/simulators/http-sim.js';
import type { App } from '../src/app.js';
import { createTestEnv, TEST_WORKER, waitFor, type TestEnv } from './helpers.js';
import { automoxSource, FAST, testConfig } from './helpers/config.js';
import { syncOnce } from './helpers/sync.js';

// Postgres errors by SQLSTATE (src/warehouse/postgres-errors.ts): an integrity or data error fails
// the page at once naming the record; out of resources waits for as long as it lasts, without
// spending the page's attempts. In the test's own database.

const KEY = 'test-automox-key-pgerrors-0123456789';
const vars = { ...process.env, TEST_AUTOMOX_KEY: KEY };
let env: TestEnv;
const sims: HttpSimulator[] = [];

beforeAll(async () => {
  env = await createTestEnv();
});
afterAll(async () => {
  for (const s of sims) await s.stop();
  await env.cleanup();
});

// One app at a time: the apps share the env's queue, and an app left running from the test before
// would take this test's page jobs, which it cannot work (it does not know the source), and put
// them back for longer each time (src/queue/page-admission.ts), delaying them by a minute or more
// on a busy machine.
let current: App | undefined;

async function automox(id: string, worker: Record<string, unknown> = {}) {
  await current?.close();
  const sim = new AutomoxSimulator({ apiKey: KEY, data: generateAutomoxData({ seed: 4, orgs: 1, devicesPerOrg: [12], packagesPerDevice: 0 }) });
  sims.push(sim);
  const origin = await sim.start();
  const app = await env.open(testConfig([automoxSource(id, `${origin}/api`, 'TEST_AUTOMOX_KEY', { rateLimits: { servers: FAST, api: FAST } })], { worker: { ...TEST_WORKER, ...worker } }), vars);
  app.engine.startWorkers();
  current = app;
  return { sim, app };
}

describe('Postgres errors by SQLSTATE', () => {
  it('a CHECK violation fails the page at once, naming the record, without a retry', async () => {
    const { sim, app } = await automox('ax-check');
    await sql`ALTER TABLE devices ADD CONSTRAINT no_refused_name CHECK (name IS DISTINCT FROM 'refused-device')`.execute(env.db);
    const victim = [...sim.data.servers].sort((a, b) => a.id - b.id)[7]!;
    victim.name = 'refused-device';
    const { runId } = await syncOnce(app, 'ax-check', ['devices']);
    const walk = await env.db.selectFrom('sync_walks').selectAll().where('run_id', '=', runId).where('resource', '=', 'devices').executeTakeFirstOrThrow();
    expect(walk.status).toBe('failed');
    expect(walk.error_message).toBe(
      `ax-check/devices org ${sim.data.orgs[0]!.id} page 1: Postgres refused record ${victim.id}: new row for relation "devices" violates check constraint "no_refused_name" (table devices) [SQLSTATE 23514]; an integrity error is not retried`,
    );
    // The page before it landed; the refused page was asked for once, not once per attempt.
    expect(walk.pages).toBe(1);
    const asked = sim.requests.filter((r) => r.path === '/api/servers' && r.query.get('page') === '1');
    expect(asked.length).toBe(1);
    await sql`ALTER TABLE devices DROP CONSTRAINT no_refused_name`.execute(env.db);
  });

  it('out of disk waits far past its attempts without failing the walk, and the run ends exact once space is freed', async () => {
    const { sim, app } = await automox('ax-full', { attempts: 2 });
    // Postgres says "disk full" for every write of an organization, as a full data volume would.
    await sql`CREATE FUNCTION test_disk_full() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'could not extend file "base/1/2": No space left on device' USING ERRCODE = 'disk_full'; END $$`.execute(env.db);
    await sql`CREATE TRIGGER test_disk_full BEFORE INSERT OR UPDATE ON organizations FOR EACH ROW EXECUTE FUNCTION test_disk_full()`.execute(env.db);
    const { runId } = await app.engine.startRun('ax-full', { trigger: 'test', resources: ['organizations'] });
    const orgPages = () => sim.requests.filter((r) => r.path === '/api/orgs').length;
    // Twice the page's attempts, and the walk still runs.
    await waitFor(() => orgPages() >= 4, 'the organizations page asked four times');
    const walk = await env.db.selectFrom('sync_walks').selectAll().where('run_id', '=', runId).executeTakeFirstOrThrow();
    expect([walk.status, walk.error_message]).toEqual(['running', null]);
    await sql`DROP TRIGGER test_disk_full ON organizations`.execute(env.db);
    expect((await app.engine.waitForRun(runId)).status).toBe('succeeded');
    const n = await env.db.selectFrom('organizations').select((eb) => eb.fn.countAll<number>().as('n')).where('source_id', '=', 'ax-full').executeTakeFirstOrThrow();
    expect(Number(n.n)).toBe(sim.data.orgs.length);
  });
});
