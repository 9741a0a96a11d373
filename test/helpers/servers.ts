import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { waitFor } from '../helpers.js';
import { freePort } from './ports.js';

// Servers a fault test owns: never the shared Postgres and Redis, which other tests and
// engineers use. Each one lives in its own temporary directory on a free loopback port.

const run = promisify(execFile);

/** A redis-server child process of the test. */
export interface OwnedRedis {
  port: number;
  url: string;
  /** Stops it at once (no save), as a crash or a restart without persistence does. */
  stop(): Promise<void>;
  /** Starts it again on the same port, empty. */
  start(): Promise<void>;
  /** Stops it and removes its directory. */
  remove(): Promise<void>;
}

async function redisAnswers(port: number): Promise<boolean> {
  try {
    const { stdout } = await run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), 'ping'], { timeout: 2_000 });
    return stdout.trim() === 'PONG';
  } catch {
    return false;
  }
}

function exitOf(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/**
 * Starts a redis-server that keeps nothing on disk, on a free port (or `port`), with extra
 * arguments (cluster or sentinel settings). Resolves once it answers PING (a sentinel once it listens).
 */
export async function startRedis(extraArgs: string[] = [], opts: { port?: number; configText?: (port: number, dir: string) => string } = {}): Promise<OwnedRedis> {
  const port = opts.port ?? (await freePort());
  const dir = await mkdtemp(join(tmpdir(), 'fleetsync-redis-'));
  let child: ChildProcess | null = null;
  const start = async () => {
    const args = opts.configText ? [join(dir, 'redis.conf')] : [];
    if (opts.configText) await writeFile(join(dir, 'redis.conf'), opts.configText(port, dir));
    args.push('--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, ...extraArgs);
    child = spawn('redis-server', args, { stdio: 'ignore' });
    const c = child;
    await waitFor(async () => c.exitCode === null && (await redisAnswers(port)), `redis-server on port ${port}`, 20_000, 50);
  };
  const stop = async () => {
    const c = child;
    child = null;
    if (!c) return;
    c.kill('SIGKILL');
    await exitOf(c);
  };
  await start();
  return { port, url: `redis://127.0.0.1:${port}`, stop, start, remove: async () => {
    await stop();
    await rm(dir, { recursive: true, force: true });
  } };
}

/** A Redis Cluster of the test: `nodes` masters, no replicas, all slots assigned. */
export interface OwnedCluster {
  nodes: OwnedRedis[];
  /** `redis-cluster://127.0.0.1:p1,127.0.0.1:p2,...` */
  url: string;
  remove(): Promise<void>;
}

/** Starts a Redis Cluster of `n` (>= 3) master nodes and waits until its state is ok on every node. */
export async function startRedisCluster(n = 3): Promise<OwnedCluster> {
  const nodes: OwnedRedis[] = [];
  try {
    for (let i = 0; i < n; i++) {
      nodes.push(await startRedis(['--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${i}.conf`, '--cluster-node-timeout', '5000']));
    }
    await run('redis-cli', ['--cluster', 'create', ...nodes.map((r) => `127.0.0.1:${r.port}`), '--cluster-replicas', '0', '--cluster-yes'], { timeout: 30_000 });
    await waitFor(
      async () => {
        for (const node of nodes) {
          const { stdout } = await run('redis-cli', ['-h', '127.0.0.1', '-p', String(node.port), 'cluster', 'info'], { timeout: 2_000 });
          if (!stdout.includes('cluster_state:ok')) return false;
        }
        return true;
      },
      'the cluster state to be ok on every node',
      30_000,
      100,
    );
  } catch (err) {
    for (const node of nodes) await node.remove();
    throw err;
  }
  return {
    nodes,
    url: `redis-cluster://${nodes.map((r) => `127.0.0.1:${r.port}`).join(',')}`,
    remove: async () => {
      for (const node of nodes) await node.remove();
    },
  };
}

/** A Redis master watched by one Sentinel, both owned by the test. */
export interface OwnedSentinel {
  master: OwnedRedis;
  sentinel: OwnedRedis;
  /** `redis-sentinel://127.0.0.1:<sentinel port>/<masterName>` */
  url: string;
  remove(): Promise<void>;
}

/** Starts a master and a Sentinel that monitors it under `masterName`, and waits until the Sentinel names it. */
export async function startRedisSentinel(masterName = 'fleetsync-test'): Promise<OwnedSentinel> {
  const master = await startRedis();
  const sentinel = await startRedis(['--sentinel'], {
    configText: () => `sentinel monitor ${masterName} 127.0.0.1 ${master.port} 1\nsentinel down-after-milliseconds ${masterName} 5000\n`,
  }).catch(async (err: unknown) => {
    await master.remove();
    throw err;
  });
  await waitFor(
    async () => {
      const { stdout } = await run('redis-cli', ['-p', String(sentinel.port), 'sentinel', 'get-master-addr-by-name', masterName], { timeout: 2_000 });
      return stdout.includes(String(master.port));
    },
    'the sentinel to know its master',
    20_000,
    100,
  );
  return {
    master,
    sentinel,
    url: `redis-sentinel://127.0.0.1:${sentinel.port}/${masterName}`,
    remove: async () => {
      await sentinel.remove();
      await master.remove();
    },
  };
}

/** A Postgres server of the test, created with initdb under a temporary directory. */
export interface OwnedPostgres {
  port: number;
  /** Admin URL (database `postgres`, user `postgres`, trust auth). */
  adminUrl: string;
  /** `pg_ctl stop -m immediate`: as a crash or a failover does. */
  stop(): Promise<void>;
  start(): Promise<void>;
  remove(): Promise<void>;
}

const PG_BIN = '/usr/lib/postgresql/15/bin';

/**
 * Creates and starts a Postgres cluster on a free port (initdb as the `postgres` user, which
 * Postgres requires when the test runs as root). Listens on 127.0.0.1 only, trust auth.
 */
export async function startPostgres(): Promise<OwnedPostgres> {
  const port = await freePort();
  const dir = await mkdtemp(join(tmpdir(), 'fleetsync-pg-'));
  const data = join(dir, 'data');
  const asPostgres = (cmd: string, args: string[]) => (process.getuid?.() === 0 ? run('runuser', ['-u', 'postgres', '--', cmd, ...args], { timeout: 120_000 }) : run(cmd, args, { timeout: 120_000 }));
  await run('chown', ['postgres:postgres', dir]).catch(() => undefined);
  await asPostgres(join(PG_BIN, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8']);
  const start = async () => {
    await asPostgres(join(PG_BIN, 'pg_ctl'), ['-D', data, '-l', join(dir, 'log'), '-w', '-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`, 'start']);
  };
  const stop = async () => {
    await asPostgres(join(PG_BIN, 'pg_ctl'), ['-D', data, '-m', 'immediate', '-w', 'stop']).catch(() => undefined);
  };
  await start();
  return {
    port,
    adminUrl: `postgres://postgres@127.0.0.1:${port}/postgres`,
    stop,
    start,
    remove: async () => {
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
