import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AutomoxSimulator, generateAutomoxData } from '../src/simulators/automox.js';
import { createTestEnv, TEST_WORKER, waitFor, type TestEnv } from './helpers.js';
import { automoxSource, SLOW, testConfig } from './helpers/config.js';
import { freePort } from './helpers/ports.js';
import { pagesOf } from './helpers/worker.js';

const API_KEY = 'unreachable-key';
const keys = { ...process.env, UR_KEY: API_KEY };
// Many attempts with a short backoff: without the first-request rule the run would retry for
// minutes; with it, it fails once the backoff passes connectFailureTimeoutMs (the 4th attempt).
const WORKER = { ...TEST_WORKER, attempts: 50, backoffMs: 100, connectFailureTimeoutMs: 1_000 };

async function endOf(env: TestEnv, runId: string) {
  return waitFor(
    async () => {
      const r = await env.db.selectFrom('sync_runs').select(['status', 'error_message']).where('id', '=', runId).executeTakeFirstOrThrow();
      return r.status === 'running' ? null : r;
    },
    `run ${runId} to end`,
    60_000,
  );
}

describe('a vendor host that cannot be reached', () => {
  let env: TestEnv;
  let sim: AutomoxSimulator;

  beforeAll(async () => {
    env = await createTestEnv();
    sim = new AutomoxSimulator({ apiKey: API_KEY, data: generateAutomoxData({ seed: 3, orgs: 2, devicesPerOrg: [40, 30], packagesPerDevice: 1 }) });
  });
  afterAll(async () => {
    await sim.stop().catch(() => undefined);
    await env.cleanup();
  });

  it("fails the run on the walk's first request when nothing listens there or the host does not resolve, naming host and port", async () => {
    const refused = await freePort();
    const app = await env.open(
      testConfig(
        [
          automoxSource('ax-refused', `http://127.0.0.1:${refused}/api`, 'UR_KEY'),
          // .invalid never resolves (RFC 2606).
          automoxSource('ax-nohost', 'https://fleetsync-no-such-host.invalid/api', 'UR_KEY'),
        ],
        { worker: WORKER },
      ),
      keys,
    );
    app.engine.startWorkers();
    const a = await app.engine.startRun('ax-refused', { trigger: 'test' });
    const b = await app.engine.startRun('ax-nohost', { trigger: 'test' });
    const [ra, rb] = await Promise.all([endOf(env, a.runId), endOf(env, b.runId)]);
    // 'partial': Automox's static list (patch categories) needs no request and succeeds.
    expect(ra.status).toBe('partial');
    expect(ra.error_message).toMatch(new RegExp(`^ax-refused/organizations .*: cannot reach the vendor at 127\\.0\\.0\\.1:${refused}: ECONNREFUSED; check the baseUrl of source ax-refused \\(gave up after 4 attempts\\)$`));
    expect(rb.status).toBe('partial');
    const walks = await env.db.selectFrom('sync_walks').select(['resource', 'status']).where('run_id', 'in', [a.runId, b.runId]).execute();
    for (const w of walks) expect([w.resource, w.status]).toEqual([w.resource, w.resource === 'patch_categories' ? 'succeeded' : 'failed']);
    expect(rb.error_message).toMatch(/^ax-nohost\/organizations .*: cannot reach the vendor at fleetsync-no-such-host\.invalid:443: (ENOTFOUND|EAI_AGAIN); check the baseUrl of source ax-nohost \(gave up after 4 attempts\)$/);
    await app.close();
  });

  it('keeps retrying when the vendor goes away after the run has had answers', async () => {
    const origin = await sim.start();
    const app = await env.open(testConfig([automoxSource('ax-mid', `${origin}/api`, 'UR_KEY', { rateLimits: { api: SLOW, servers: SLOW } })], { worker: WORKER }), keys);
    app.engine.startWorkers();
    const { runId } = await app.engine.startRun('ax-mid', { trigger: 'test' });
    await waitFor(async () => (await pagesOf(env, runId)) >= 3, 'the run to commit 3 pages', 60_000, 20);
    await sim.stop();
    // Past the attempt at which a first request would have failed the run.
    const attemptsOf = async () => {
      let most = 0;
      for (const queue of app.engine.queues()) for (const j of await queue.getJobs(['waiting', 'prioritized', 'delayed', 'active'])) most = Math.max(most, j?.attemptsMade ?? 0);
      return most;
    };
    await waitFor(async () => (await attemptsOf()) >= 6, 'a page job to fail 6 attempts', 60_000);
    const run = await env.db.selectFrom('sync_runs').select('status').where('id', '=', runId).executeTakeFirstOrThrow();
    expect(run.status).toBe('running');
    const failed = await env.db.selectFrom('sync_walks').select('id').where('run_id', '=', runId).where('status', '=', 'failed').execute();
    expect(failed).toEqual([]);
    await app.close();
  });
});
