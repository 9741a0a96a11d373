import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InfraError } from '../src/infra-errors.js';
import { Metrics, startMetricsServer } from '../src/metrics.js';
import { ensureDatabase } from '../src/warehouse/db.js';
import { createTestEnv, dropDatabase, type TestEnv } from './helpers.js';
import { runCli } from './helpers/cli.js';
import { automoxSource, tempDir, testConfig, type TempDir } from './helpers/config.js';
import { freePort } from './helpers/ports.js';

describe('messages that say which part is down', () => {
  let env: TestEnv;
  let dir: TempDir;
  let configFile: string;

  beforeAll(async () => {
    env = await createTestEnv();
    dir = await tempDir('fleetsync-infra-msg-');
    configFile = await dir.writeYaml('fleetsync.yaml', testConfig([automoxSource('ax', 'http://127.0.0.1:9/api', 'IM_KEY')]));
  });
  afterAll(async () => {
    await env.cleanup();
    await dir.remove();
  });

  it('a command whose Postgres refuses connections or does not resolve exits 1 with one line naming Postgres, host and port', async () => {
    const port = await freePort();
    const refused = await runCli(env, configFile, ['status'], { IM_KEY: 'k', DATABASE_URL: `postgres://fleet:pgsecret@127.0.0.1:${port}/x` });
    expect({ code: refused.code, stderr: refused.stderr.trim() }).toEqual({ code: 1, stderr: `fleetsync: Postgres at 127.0.0.1:${port} is unreachable (ECONNREFUSED)` });
    const unknown = await runCli(env, configFile, ['status'], { IM_KEY: 'k', DATABASE_URL: 'postgres://fleet:pgsecret@pg-host.invalid:5432/x' });
    expect(unknown.code).toBe(1);
    expect(unknown.stderr.trim()).toMatch(/^fleetsync: Postgres at pg-host\.invalid:5432 is unreachable \((ENOTFOUND|EAI_AGAIN)\)$/);
  });

  it('a missing database, an unmigrated one, and a malformed DATABASE_URL each say what to do (exit 1, one line)', async () => {
    const missing = new URL(env.databaseUrl);
    missing.pathname = `${missing.pathname}_missing`;
    const name = missing.pathname.slice(1);
    const noDb = await runCli(env, configFile, ['runs'], { IM_KEY: 'k', DATABASE_URL: missing.toString() });
    expect({ code: noDb.code, stderr: noDb.stderr.trim() }).toEqual({
      code: 1,
      stderr: `fleetsync: Postgres at 127.0.0.1:5432 has no database "${name}": run fleetsync migrate to create it and its schema, or correct the name in DATABASE_URL`,
    });

    const empty = new URL(env.databaseUrl);
    empty.pathname = `${empty.pathname}_empty`;
    await ensureDatabase(empty.toString());
    try {
      const noSchema = await runCli(env, configFile, ['runs'], { IM_KEY: 'k', DATABASE_URL: empty.toString() });
      expect(noSchema.code).toBe(1);
      expect(noSchema.stderr.trim()).toMatch(new RegExp(`^fleetsync: Postgres at 127\\.0\\.0\\.1:5432, database "${empty.pathname.slice(1)}" has no table \\w+: its fleetsync schema is missing or older than this fleetsync; run fleetsync migrate$`));
    } finally {
      await dropDatabase(empty.toString());
    }

    for (const cmd of [['runs'], ['migrate']]) {
      const bad = await runCli(env, configFile, cmd, { IM_KEY: 'k', DATABASE_URL: 'localhost:5432/fleetsync' });
      expect({ code: bad.code, stderr: bad.stderr.trim() }).toEqual({ code: 1, stderr: 'fleetsync: DATABASE_URL has scheme localhost: (expected postgres://USER[:PASSWORD]@HOST[:5432]/DATABASE)' });
    }
  });

  it('a metrics port already in use is named as such', async () => {
    const metrics = new Metrics();
    const first = await startMetricsServer(metrics, { port: 0, host: '127.0.0.1' });
    try {
      const second = startMetricsServer(metrics, { port: first.port, host: '127.0.0.1' });
      await expect(second).rejects.toBeInstanceOf(InfraError);
      await expect(second).rejects.toThrow(new RegExp(`^metrics port 127\\.0\\.0\\.1:${first.port} is already in use`));
    } finally {
      await first.close();
    }
  });
});
