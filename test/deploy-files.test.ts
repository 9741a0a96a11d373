import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../src/app.js';
import { startMetricsServer } from '../src/metrics.js';
import { AutomoxSimulator, generateAutomoxData } from '../src/simulators/automox.js';
import { createTestEnv, type TestEnv } from './helpers.js';
import { automoxSource, FAST, testConfig } from './helpers/config.js';
import { syncOnce } from './helpers/sync.js';

const API_KEY = 'deploy-files-key';


/** Every PromQL expression in a parsed Grafana dashboard (any `expr` field, at any depth). */
function grafanaExprs(node: unknown): string[] {
  if (Array.isArray(node)) return node.flatMap(grafanaExprs);
  if (node !== null && typeof node === 'object') {
    return Object.entries(node).flatMap(([k, v]) => (k === 'expr' && typeof v === 'string' ? [v] : grafanaExprs(v)));
  }
  return [];
}

/** fleetsync's and prom-client's metric names an expression reads (PromQL functions and `up` are not ours). */
function metricNames(expr: string): string[] {
  return [...expr.matchAll(/\b((?:fleetsync|process|nodejs)_[a-zA-Z0-9_]+)\b/g)].map((m) => m[1]!);
}

/** Label names an expression puts on a metric in a selector: `name{a="x", b=~"y"}`. */
function selectorLabels(expr: string): Array<{ metric: string; label: string }> {
  const out: Array<{ metric: string; label: string }> = [];
  for (const m of expr.matchAll(/\b((?:fleetsync|process|nodejs)_[a-zA-Z0-9_]+)\{([^}]*)\}/g)) {
    for (const l of m[2]!.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)/g)) out.push({ metric: m[1]!, label: l[1]! });
  }
  return out;
}

describe('deploy files: the Grafana dashboard and the Prometheus alerts read metrics that exist', () => {
  let env: TestEnv;
  let sim: AutomoxSimulator;
  let app: App;

  beforeAll(async () => {
    env = await createTestEnv();
    sim = new AutomoxSimulator({ apiKey: API_KEY, data: generateAutomoxData({ seed: 5, orgs: 1, devicesPerOrg: [4], packagesPerDevice: 1 }) });
    const origin = await sim.start();
    app = await env.open(testConfig([automoxSource('automox-d', `${origin}/api`, 'D_KEY', { rateLimits: { servers: FAST } })]), { ...process.env, D_KEY: API_KEY });
  });
  afterAll(async () => {
    await sim.stop();
    await env.cleanup();
  });

  it('every metric and selector label in deploy/grafana/fleetsync.json and deploy/prometheus/alerts.yml is in /metrics after a sync', async () => {
    const dashboard = JSON.parse(await readFile('deploy/grafana/fleetsync.json', 'utf8')) as unknown;
    const alerts = parseYaml(await readFile('deploy/prometheus/alerts.yml', 'utf8')) as { groups: Array<{ rules: Array<{ alert: string; expr: string }> }> };
    const alertNames = alerts.groups.flatMap((g) => g.rules.map((r) => r.alert));
    // The four the operators asked for, at least.
    expect(alertNames).toEqual(expect.arrayContaining(['FleetsyncSourceStale', 'FleetsyncRunsFailing', 'FleetsyncRateLimited', 'FleetsyncHeldSweeps']));
    const exprs = [...grafanaExprs(dashboard), ...alerts.groups.flatMap((g) => g.rules.map((r) => r.expr))];
    expect(exprs.length).toBeGreaterThan(10);

    app.engine.startWorkers();
    // One 429, so the rate-limit and lane-wait counters have samples whose labels can be checked.
    sim.inject({ kind: 'status', status: 429, headers: { 'retry-after': '1' }, times: 1, match: (r) => r.path === '/api/servers' });
    expect((await syncOnce(app, 'automox-d')).run.status).toBe('succeeded');
    // One organization listed empty: the guard holds its sweep, so the held-sweeps gauge has a sample.
    const org = sim.data.orgs[0]!.id;
    sim.data.servers = sim.data.servers.filter((d) => d.organization_id !== org);
    expect((await syncOnce(app, 'automox-d')).run.status).toBe('succeeded');
    const server = await startMetricsServer(app.metrics, { port: 0, host: '127.0.0.1' });
    let text: string;
    try {
      text = await (await fetch(`http://127.0.0.1:${server.port}/metrics`)).text();
    } finally {
      await server.close();
    }
    // Names the registry declares (# TYPE) and the samples it wrote, with their label names.
    const declared = new Set([...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]!));
    const labelsOf = new Map<string, Set<string>>();
    for (const line of text.split('\n')) {
      const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{([^}]*)\})? /.exec(line);
      if (!m) continue;
      const set = labelsOf.get(m[1]!) ?? new Set<string>();
      for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="/g)) set.add(l[1]!);
      labelsOf.set(m[1]!, set);
    }
    const exists = (name: string) => declared.has(name) || labelsOf.has(name) || declared.has(name.replace(/_(bucket|count|sum)$/, ''));

    const used = [...new Set(exprs.flatMap(metricNames))].sort();
    expect(used).toEqual(expect.arrayContaining(['fleetsync_last_success_timestamp_seconds', 'fleetsync_rows_written_total', 'fleetsync_queue_jobs', 'process_resident_memory_bytes']));
    const missing = used.filter((n) => !exists(n));
    expect(missing, 'metrics the deploy files read but the registry lacks').toEqual([]);

    // A selector on a label the metric does not carry matches nothing, silently.
    for (const { metric, label } of exprs.flatMap(selectorLabels)) {
      expect(labelsOf.get(metric)?.has(label), `${metric} has no label "${label}"`).toBe(true);
    }
    // ... and so does an aggregation by a label the metric does not carry.
    for (const e of exprs) {
      for (const m of e.matchAll(/by \(([^)]*)\) \(\s*(?:[a-z_]+\()?\s*((?:fleetsync|process|nodejs)_[a-zA-Z0-9_]+)/g)) {
        const metric = m[2]!;
          for (const label of m[1]!.split(',').map((s) => s.trim()).filter((l) => l !== 'le')) {
          expect(labelsOf.get(metric)?.has(label) || labelsOf.get(`${metric}_bucket`)?.has(label), `${metric} has no label "${label}" (in: ${e})`).toBe(true);
        }
      }
    }
  });
});
