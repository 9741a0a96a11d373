import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestEnv, waitFor, type TestEnv } from './helpers.js';
import { spawnFleetsync, cliEnv } from './helpers/cli.js';
import { automoxSource, tempDir, testConfig, type TempDir } from './helpers/config.js';
import { freePort } from './helpers/ports.js';
import { TestRedis } from './helpers/redis-server.js';
import { exited } from './helpers/worker.js';

// Longer than the test may run: a worker that waited for it would fail the test by timing out,
// and one that hit it would exit 1 with "shutdown timed out".
const SHUTDOWN_TIMEOUT_MS = 300_000;

describe('a worker stopped while Redis is down', () => {
  let env: TestEnv;
  let redis: TestRedis;
  let dir: TempDir;
  let configFile: string;

  beforeAll(async () => {
    env = await createTestEnv();
    redis = new TestRedis(await freePort());
    await redis.start();
    dir = await tempDir('fleetsync-stop-down-');
    configFile = await dir.writeYaml('fleetsync.yaml', testConfig([automoxSource('ax', 'http://127.0.0.1:9/api', 'SD_KEY')], { worker: { shutdownTimeoutMs: SHUTDOWN_TIMEOUT_MS } }));
  });
  afterAll(async () => {
    redis.kill();
    await env.cleanup();
    await dir.remove();
  });

  it('does not wait for Redis: it says it holds no page and exits 0', async () => {
    const child = spawnFleetsync(['--config', configFile, 'worker'], cliEnv(env, { SD_KEY: 'k', REDIS_URL: redis.url, FLEETSYNC_LOG_LEVEL: 'info' }), ['ignore', 'ignore', 'pipe']);
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    try {
      await waitFor(() => stderr.includes('"msg":"worker started"'), 'the worker to start', 60_000);
      await redis.stop();
      await waitFor(() => stderr.includes('is unreachable'), 'the worker to notice Redis is gone', 60_000);
      child.kill('SIGTERM');
      const { code } = await exited(child);
      expect(code, stderr).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    const lines = stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { msg: string });
    const msgs = lines.map((l) => l.msg);
    expect(msgs).toContain('Redis is down: stopping with no page in hand, without waiting for Redis');
    expect(msgs).toContain('worker stopped');
    expect(msgs.some((m) => m.startsWith('shutdown timed out'))).toBe(false);
  });
});
