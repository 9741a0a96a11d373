import { readFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { parse as parseYaml } from 'yaml';
import { describe, expect, it } from 'vitest';
import { Metrics, startMetricsServer } from '../src/metrics.js';

// The metrics server listens on loopback unless told otherwise (FLEETSYNC_METRICS_HOST); the
// compose file opts in to every interface inside the container and publishes on the host's loopback.

describe('where the metrics server listens', () => {
  it('on 127.0.0.1 by default, on the interface given otherwise', async () => {
    const metrics = new Metrics();
    const loopback = await startMetricsServer(metrics, { port: 0 });
    try {
      expect((loopback.server.address() as AddressInfo).address).toBe('127.0.0.1');
    } finally {
      await loopback.close();
    }
    const all = await startMetricsServer(metrics, { port: 0, host: '0.0.0.0' });
    try {
      expect((all.server.address() as AddressInfo).address).toBe('0.0.0.0');
    } finally {
      await all.close();
    }
  });

  it('docker-compose.yml opts in to 0.0.0.0 inside the worker container and publishes on the host loopback only', async () => {
    const compose = parseYaml(await readFile('docker-compose.yml', 'utf8')) as { services: Record<string, { environment?: Record<string, string>; ports?: string[] }> };
    const worker = compose.services.worker!;
    expect([worker.environment?.FLEETSYNC_METRICS_PORT, worker.environment?.FLEETSYNC_METRICS_HOST]).toEqual(['9464', '0.0.0.0']);
    expect(worker.ports).toEqual(['127.0.0.1:9464:9464']);
  });
});
