import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AutomoxSimulator, generateAutomoxData } from '../src/simulators/automox.js';
import { createTestEnv, type TestEnv } from './helpers.js';
import { automoxSource, FAST, testConfig } from './helpers/config.js';
import { startRedisCluster, startRedisSentinel, type OwnedCluster, type OwnedSentinel } from './helpers/servers.js';
import { syncOnce } from './helpers/sync.js';
import { expectAutomoxLandedOnce } from './helpers/warehouse.js';

// The HA setups users run Redis in: a sync through a three-node Redis Cluster and through
// Sentinel, both started by the test on their own ports.

const API_KEY = 'ha-test-key';
const data = generateAutomoxData({ seed: 11, orgs: 3, devicesPerOrg: [12, 7, 9], packagesPerDevice: 2 });
const config = (origin: string) => testConfig([automoxSource('automox-ha', `${origin}/api`, 'HA_KEY', { rateLimits: { api: { ...FAST, concurrency: 2 }, servers: { ...FAST, concurrency: 2 } } })]);

describe('Redis high availability', () => {
  let sim: AutomoxSimulator;
  let origin: string;

  beforeAll(async () => {
    sim = new AutomoxSimulator({ apiKey: API_KEY, data });
    origin = await sim.start();
  });

  afterAll(async () => {
    await sim.stop();
  });

  describe('a three-node Redis Cluster', () => {
    let env: TestEnv;
    let cluster: OwnedCluster;

    beforeAll(async () => {
      env = await createTestEnv();
      cluster = await startRedisCluster(3);
    });

    afterAll(async () => {
      await env.cleanup();
      await cluster.remove();
    });

    it('syncs exactly with a prefix wrapped in a hash tag, every fleetsync key in one slot', async () => {
      const app = await env.open(config(origin), { ...process.env, HA_KEY: API_KEY }, 'ha-cluster', cluster.url);
      expect(app.prefix).toBe('{ha-cluster}');
      app.engine.startWorkers();
      const { run, runId } = await syncOnce(app, 'automox-ha');
      expect(run.status).toBe('succeeded');
      await expectAutomoxLandedOnce(env, data, runId);
      // BullMQ's and the lane gate's keys all carry the hash tag.
      const keys: string[] = [];
      for (const node of cluster.nodes) {
        const r = new Redis(node.url);
        keys.push(...(await r.keys('*')));
        r.disconnect();
      }
      expect(keys.length).toBeGreaterThan(0);
      expect(keys.filter((k) => !k.startsWith('{ha-cluster}:'))).toEqual([]);
    });
  });

  describe('Redis behind Sentinel', () => {
    let env: TestEnv;
    let ha: OwnedSentinel;

    beforeAll(async () => {
      env = await createTestEnv();
      ha = await startRedisSentinel('fleetsync-test');
    });

    afterAll(async () => {
      await env.cleanup();
      await ha.remove();
    });

    it('finds the master through the Sentinel and syncs exactly', async () => {
      const app = await env.open(config(origin), { ...process.env, HA_KEY: API_KEY }, 'ha-sentinel', ha.url);
      app.engine.startWorkers();
      const { run, runId } = await syncOnce(app, 'automox-ha');
      expect(run.status).toBe('succeeded');
      await expectAutomoxLandedOnce(env, data, runId);
      const master = new Redis(ha.master.url);
      expect((await master.keys('ha-sentinel:*')).length).toBeGreaterThan(0);
      master.disconnect();
    });
  });
});
