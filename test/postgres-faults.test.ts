import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { AutomoxSimulator, generateAutomoxData } from '../src/simulators/automox.js';
import { TEST_WORKER, waitFor } from './helpers.js';
import { automoxSource, SLOW, testConfig } from './helpers/config.js';
import { expectAutomoxLandedOnce } from './helpers/warehouse.js';
import { startWorker, useWorkerFixture } from './helpers/worker.js';

const API_KEY = 'pg-fault-key';

describe("a worker whose Postgres backends are terminated (failover, an administrator's pg_terminate_backend)", () => {
  let sim: AutomoxSimulator;
  let probe: pg.Client;
  const fx = useWorkerFixture({
    dirPrefix: 'fleetsync-pgfault-',
    start: async (env) => {
      sim = new AutomoxSimulator({ apiKey: API_KEY, data: generateAutomoxData({ seed: 11, orgs: 3, devicesPerOrg: [45, 40, 35], packagesPerDevice: 2 }) });
      const origin = await sim.start();
      // Many attempts: every termination fails the page jobs in flight, and each failure spends one.
      const config = testConfig([automoxSource('automox-pg', `${origin}/api`, 'PGF_KEY', { rateLimits: { api: { ...SLOW, concurrency: 3 }, servers: { ...SLOW, concurrency: 2 } } })], {
        worker: { ...TEST_WORKER, attempts: 50 },
      });
      // The test's own connection: it terminates every other backend of the test database and
      // reads the run's state, so it is the one backend that is never terminated.
      probe = new pg.Client({ connectionString: env.databaseUrl, application_name: 'fleetsync-test-probe' });
      probe.on('error', () => undefined);
      await probe.connect();
      const stop = async () => {
        await probe.end().catch(() => undefined);
        await sim.stop();
      };
      return { config, keys: { PGF_KEY: API_KEY }, stop };
    },
  });

  it('stays up, logs the outage once each way, and the run ends with exactly the simulator data', async () => {
    const { env, app, configFile, children } = fx;
    const { runId } = await app.engine.startRun('automox-pg', { trigger: 'test' });
    const worker = startWorker(configFile, env, { PGF_KEY: API_KEY, FLEETSYNC_LOG_LEVEL: 'debug' });
    children.push(worker);
    let log = '';
    worker.stderr?.on('data', (d: Buffer) => (log += d.toString()));

    // The test's own timeout stops it silently; the wait below ends before it and says why.
    const reportBy = Date.now() + 170_000;
    const runStatus = async () => (await probe.query<{ status: string }>('select status from sync_runs where id = $1', [runId])).rows[0]!.status;
    const alive = () => worker.exitCode === null && worker.signalCode === null;
    const { terminations, rounds } = await terminateWhileRunning(probe, async () => alive() && (await runStatus()) === 'running');
    // What a run that does not end was doing: its walks and the worker's last retries (debug
    // lines carry each failed attempt), so a failure says more than the test's timeout.
    const stateOfRun = async () => {
      const walks = await probe.query(`select resource, scope, status, pages from sync_walks where run_id = $1 and status <> 'succeeded'`, [runId]);
      const retries = log.split('\n').filter((l) => l.includes('"attempt"')).slice(-12);
      return `${terminations} terminations in ${rounds} rounds; walks not done: ${JSON.stringify(walks.rows)}; last retries:\n${retries.join('\n')}`;
    };
    const status = await waitFor(
      async () => {
        if (!alive()) return 'worker exited';
        const s = await runStatus();
        return s === 'running' ? null : s;
      },
      'the run to end',
      Math.max(5_000, reportBy - Date.now()),
    ).catch(async (err: Error) => {
      throw new Error(`${err.message}: ${await stateOfRun()}`);
    });

    expect({ exitCode: worker.exitCode, signal: worker.signalCode }, `worker after ${terminations} terminations: ${log.slice(-1500)}`).toEqual({ exitCode: null, signal: null });
    expect(terminations).toBeGreaterThan(20);
    expect(status).toBe('succeeded');
    await expectAutomoxLandedOnce(env, sim.data, runId);

    // No raw stack and no unhandled 'error' event: every line of the worker's log is JSON.
    const lines = log.split('\n').filter((l) => l.trim() !== '');
    for (const l of lines) expect(() => JSON.parse(l), l).not.toThrow();
    const parsed = lines.map((l) => JSON.parse(l) as { msg: string; level: number });
    const msgs = parsed.map((l) => l.msg);
    // The outage lines say it; failed queries and jobs do not each add a warning or an error.
    expect(parsed.filter((l) => l.level >= 40 && !l.msg.startsWith('Postgres at ')).map((l) => l.msg)).toEqual([]);
    expect(msgs.some((m) => /^Postgres at 127\.0\.0\.1:5432 is unreachable \(/.test(m))).toBe(true);
    expect(msgs.some((m) => /^Postgres at 127\.0\.0\.1:5432 is back after \d+ ms$/.test(m))).toBe(true);
    // One line each way per outage, never one per failed query: downs and ups alternate.
    const transitions = msgs.filter((m) => m.startsWith('Postgres at '));
    transitions.forEach((m, i) => expect(m.includes('unreachable'), m).toBe(i % 2 === 0));
    worker.kill('SIGTERM');
  });
});

/**
 * Terminates every backend of the test database but the probe's, again and again while `going()`:
 * idle pool clients and clients in the middle of a page's transaction alike. Bounded to 50 rounds
 * that terminated something, so that a page whose every attempt is hit cannot back off for minutes.
 */
async function terminateWhileRunning(probe: pg.Client, going: () => Promise<boolean>): Promise<{ terminations: number; rounds: number }> {
  let terminations = 0;
  let rounds = 0;
  while (rounds < 50 && (await going())) {
    const killed = await probe.query<{ n: number }>(
      `select count(pg_terminate_backend(pid))::int as n from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()`,
    );
    terminations += killed.rows[0]!.n;
    if (killed.rows[0]!.n > 0) rounds++;
    // A varying pace, so terminations land at every stage of a page job (gate, request, commit).
    await new Promise((r) => setTimeout(r, 30 + Math.floor(Math.random() * 120)));
  }
  return { terminations, rounds };
}
