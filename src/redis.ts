import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { EnvError } from './env.js';

/** A Redis connection BullMQ and the lane gate can use: one server (direct or through Sentinel), or a Cluster. */
export type RedisClient = Redis | Cluster;

/** host:port of one Redis node or Sentinel. */
export interface RedisNode {
  host: string;
  port: number;
}

/** Where Redis is, parsed from REDIS_URL. `display` names it without any password. */
export type RedisTarget =
  | { kind: 'standalone'; url: string; display: string }
  | { kind: 'sentinel'; sentinels: RedisNode[]; masterName: string; username?: string; password?: string; db: number; tls: boolean; display: string }
  | { kind: 'cluster'; nodes: RedisNode[]; username?: string; password?: string; tls: boolean; display: string };

const MULTI = /^(redis-sentinel|redis-cluster):\/\/(?:([^:@/]*)(?::([^@/]*))?@)?([^/?#@]+)(?:\/([^/?#]*))?(?:\/(\d+))?\/?(?:\?([^#]*))?$/;

function nodesOf(list: string, defaultPort: number): RedisNode[] {
  return list.split(',').map((item) => {
    const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(item.trim());
    if (!m?.[1]) throw new EnvError(`REDIS_URL: "${item}" is not host:port`);
    const port = m[2] === undefined ? defaultPort : Number(m[2]);
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new EnvError(`REDIS_URL: "${item}" has no valid port`);
    return { host: m[1].replace(/^\[|\]$/g, ''), port };
  });
}

function decode(v: string | undefined): string | undefined {
  return v === undefined || v === '' ? undefined : decodeURIComponent(v);
}

/**
 * Parses REDIS_URL. `redis://` and `rediss://` are one server;
 * `redis-sentinel://[user:pass@]h1:26379,h2:26379/<master>[/<db>]` goes through Sentinel;
 * `redis-cluster://[user:pass@]h1:7000,h2:7001` is a Redis Cluster; `?tls=true` on either of the
 * last two turns TLS on. Throws EnvError, whose message never repeats a password.
 */
export function parseRedisUrl(url: string): RedisTarget {
  const multi = MULTI.exec(url.trim());
  if (multi) {
    const [, scheme, user, pass, hosts, path, db, query] = multi;
    const tls = /(^|&)tls=(true|1)(&|$)/.test(query ?? '');
    if (scheme === 'redis-sentinel') {
      if (!path) throw new EnvError('REDIS_URL: a redis-sentinel:// URL names the master after the hosts: redis-sentinel://host:26379/mymaster');
      const sentinels = nodesOf(hosts ?? '', 26379);
      return {
        kind: 'sentinel',
        sentinels,
        masterName: decodeURIComponent(path),
        username: decode(user),
        password: decode(pass),
        db: db === undefined ? 0 : Number(db),
        tls,
        display: `Redis master "${decodeURIComponent(path)}" via Sentinel ${sentinels.map((n) => `${n.host}:${n.port}`).join(',')}`,
      };
    }
    const nodes = nodesOf(hosts ?? '', 6379);
    return { kind: 'cluster', nodes, username: decode(user), password: decode(pass), tls, display: `Redis Cluster ${nodes.map((n) => `${n.host}:${n.port}`).join(',')}` };
  }
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new EnvError('REDIS_URL is not a URL (redis://host:6379, redis-sentinel://host:26379/master or redis-cluster://host:7000,host:7001)');
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') {
    throw new EnvError(`REDIS_URL: unknown scheme "${u.protocol}" (redis:, rediss:, redis-sentinel:, redis-cluster:)`);
  }
  return { kind: 'standalone', url, display: `Redis at ${u.hostname || '127.0.0.1'}:${u.port || '6379'}` };
}

/**
 * The BullMQ prefix to use for a target. Redis Cluster runs a Lua script only on keys of one hash
 * slot, and BullMQ's scripts touch several keys of a queue: a prefix without a `{hash tag}` is
 * wrapped in one (`fleetsync` becomes `{fleetsync}`) so that every key of fleetsync lands in one slot.
 */
export function prefixFor(target: RedisTarget, prefix: string): string {
  if (target.kind !== 'cluster' || /\{[^}]+\}/.test(prefix)) return prefix;
  return `{${prefix}}`;
}

/**
 * Opens a connection to a target (it connects in the background; errors arrive as 'error'
 * events, which the caller must handle). `options` apply to every node (BullMQ needs
 * `maxRetriesPerRequest: null`).
 */
export function createRedis(target: RedisTarget, options: RedisOptions): RedisClient {
  switch (target.kind) {
    case 'standalone':
      return new Redis(target.url, options);
    case 'sentinel':
      return new Redis({
        ...options,
        sentinels: target.sentinels,
        name: target.masterName,
        db: target.db,
        ...(target.username ? { username: target.username, sentinelUsername: target.username } : {}),
        ...(target.password ? { password: target.password, sentinelPassword: target.password } : {}),
        ...(target.tls ? { tls: {}, sentinelTLS: {}, enableTLSForSentinelMode: true } : {}),
      });
    case 'cluster':
      return new Cluster(target.nodes, {
        // Commands wait for the cluster instead of failing while slots move or a node restarts.
        clusterRetryStrategy: (times) => Math.min(100 * times, 2_000),
        redisOptions: {
          ...options,
          ...(target.username ? { username: target.username } : {}),
          ...(target.password ? { password: target.password } : {}),
          ...(target.tls ? { tls: {} } : {}),
        },
      });
  }
}
