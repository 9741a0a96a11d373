import { describe, expect, it } from 'vitest';
import { EnvError, metricsPort, readEnv } from '../../src/env.js';

describe('readEnv', () => {
  it('defaults to the local services', () => {
    expect(readEnv({})).toEqual({
      databaseUrl: 'postgres://postgres@127.0.0.1:5432/fleetsync',
      redisUrl: 'redis://127.0.0.1:6379',
      queuePrefix: 'fleetsync',
      metricsPortText: undefined,
      metricsHost: undefined,
      logLevel: 'info',
      configFile: undefined,
      nodeOptions: '',
    });
  });

  it('takes every variable it knows', () => {
    expect(
      readEnv({
        DATABASE_URL: 'postgres://u@db/x',
        REDIS_URL: 'redis://r:1',
        FLEETSYNC_QUEUE_PREFIX: 'p',
        FLEETSYNC_METRICS_PORT: '9100',
        FLEETSYNC_METRICS_HOST: '127.0.0.1',
        FLEETSYNC_LOG_LEVEL: 'warn',
        FLEETSYNC_CONFIG: '/etc/f.yaml',
        NODE_OPTIONS: '--max-old-space-size=512',
      }),
    ).toEqual({
      databaseUrl: 'postgres://u@db/x',
      redisUrl: 'redis://r:1',
      queuePrefix: 'p',
      metricsPortText: '9100',
      metricsHost: '127.0.0.1',
      logLevel: 'warn',
      configFile: '/etc/f.yaml',
      nodeOptions: '--max-old-space-size=512',
    });
  });

  it('puts PGUSER, encoded, into the default database URL', () => {
    expect(readEnv({ PGUSER: 'a b' }).databaseUrl).toBe('postgres://a%20b@127.0.0.1:5432/fleetsync');
  });

  it('does not throw for a bad metrics port: only the worker uses it', () => {
    expect(readEnv({ FLEETSYNC_METRICS_PORT: 'nope' }).metricsPortText).toBe('nope');
  });
});

describe('metricsPort', () => {
  it('takes the config value when the variable is unset or empty', () => {
    expect(metricsPort(readEnv({}), 9200)).toBe(9200);
    expect(metricsPort(readEnv({ FLEETSYNC_METRICS_PORT: '' }), 0)).toBe(0);
  });

  it('lets the variable win over the config', () => {
    expect(metricsPort(readEnv({ FLEETSYNC_METRICS_PORT: '9100' }), 9200)).toBe(9100);
    expect(metricsPort(readEnv({ FLEETSYNC_METRICS_PORT: '0' }), 9200)).toBe(0);
  });

  it('refuses what is not a port number, with the documented text', () => {
    for (const bad of ['nope', '-1', '65536', '80.5']) {
      expect(() => metricsPort(readEnv({ FLEETSYNC_METRICS_PORT: bad }), 0), bad).toThrow(new EnvError('FLEETSYNC_METRICS_PORT must be a port number'));
    }
  });
});
