import { describe, expect, it } from 'vitest';
import { EnvError } from '../../src/env.js';
import { parseRedisUrl, prefixFor } from '../../src/redis.js';

describe('parseRedisUrl', () => {
  it('takes redis:// and rediss:// as one server, naming it without the password', () => {
    expect(parseRedisUrl('redis://:s3cret@cache.internal:6380/2')).toEqual({ kind: 'standalone', url: 'redis://:s3cret@cache.internal:6380/2', display: 'Redis at cache.internal:6380' });
    expect(parseRedisUrl('rediss://cache.internal').display).toBe('Redis at cache.internal:6379');
  });

  it('reads Sentinel hosts, master name, db, credentials and tls', () => {
    const t = parseRedisUrl('redis-sentinel://app:p%40ss@s1:26379,s2,[::1]:26380/mymaster/3?tls=true');
    expect(t).toEqual({
      kind: 'sentinel',
      sentinels: [
        { host: 's1', port: 26379 },
        { host: 's2', port: 26379 },
        { host: '::1', port: 26380 },
      ],
      masterName: 'mymaster',
      username: 'app',
      password: 'p@ss',
      db: 3,
      tls: true,
      display: 'Redis master "mymaster" via Sentinel s1:26379,s2:26379,::1:26380',
    });
    expect(JSON.stringify(t.display)).not.toContain('p@ss');
  });

  it('reads Cluster seed nodes', () => {
    expect(parseRedisUrl('redis-cluster://10.0.0.1:7000,10.0.0.2:7001')).toEqual({
      kind: 'cluster',
      nodes: [
        { host: '10.0.0.1', port: 7000 },
        { host: '10.0.0.2', port: 7001 },
      ],
      username: undefined,
      password: undefined,
      tls: false,
      display: 'Redis Cluster 10.0.0.1:7000,10.0.0.2:7001',
    });
  });

  it('refuses what it cannot use with an error that never repeats a password', () => {
    expect(() => parseRedisUrl('redis-sentinel://:pw@s1:26379')).toThrow(EnvError);
    expect(() => parseRedisUrl('redis-cluster://:pw@h1:notaport')).toThrow(/"h1:notaport" is not host:port/);
    expect(() => parseRedisUrl('memcached://x')).toThrow(/unknown scheme "memcached:"/);
    expect(() => parseRedisUrl('not a url :pw')).toThrow(EnvError);
    try {
      parseRedisUrl('redis-sentinel://:topsecret@s1:26379');
    } catch (err) {
      expect((err as Error).message).not.toContain('topsecret');
    }
  });
});

describe('prefixFor', () => {
  it('wraps the prefix in a hash tag for a Cluster only, and keeps one that has a tag', () => {
    const cluster = parseRedisUrl('redis-cluster://h:7000');
    expect(prefixFor(cluster, 'fleetsync')).toBe('{fleetsync}');
    expect(prefixFor(cluster, '{fs}:prod')).toBe('{fs}:prod');
    expect(prefixFor(parseRedisUrl('redis://h'), 'fleetsync')).toBe('fleetsync');
    expect(prefixFor(parseRedisUrl('redis-sentinel://s:26379/m'), 'fleetsync')).toBe('fleetsync');
  });
});
