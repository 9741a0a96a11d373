/** The bench's targets, judged from its figures, and the printed and written result. */
import { writeFile } from 'node:fs/promises';
import type { Figures } from './settings.js';
import type { SyncResult } from './sync-run.js';

export interface Target {
  name: string;
  value: number;
  target: string;
  pass: boolean;
}

type LoaderShape = { orgs: number; devices: number; fleetsyncMedian: number; resyncMedian: number; loaderMedian: number };

/** Every target whose figures the run measured. */
export function judge(figures: Figures, targets: Target[]): void {
  const target = (name: string, value: number, text: string, pass: boolean) => targets.push({ name, value: Math.round(value * 1000) / 1000, target: text, pass });
  const tp = figures.throughput as SyncResult | undefined;
  const ceil = figures.ceiling as { rowsPerSec: number } | undefined;
  const base = figures.baseline as { rowsPerSec: number } | undefined;
  if (tp) target('throughput rows/s (beat a sequential unnest loop, ~7,000)', tp.rowsPerSec, '>= 7000', tp.rowsPerSec >= 7000);
  if (tp && ceil) target('throughput / ceiling', tp.rowsPerSec / ceil.rowsPerSec, '>= 0.75', tp.rowsPerSec / ceil.rowsPerSec >= 0.75);
  if (tp && base) target('throughput / baseline', tp.rowsPerSec / base.rowsPerSec, '>= 5', tp.rowsPerSec / base.rowsPerSec >= 5);
  const rs = figures.resync as { walShare: number; rowsPerSec: number } | undefined;
  if (rs) target('resync WAL / first sync WAL', rs.walShare, '<= 0.10', rs.walShare <= 0.1);
  if (tp && rs) target('resync rows/s / first sync rows/s', rs.rowsPerSec / tp.rowsPerSec, '>= 1.5', rs.rowsPerSec / tp.rowsPerSec >= 1.5);
  for (const sh of (figures.loader as LoaderShape[] | undefined) ?? []) {
    const r = sh.fleetsyncMedian / sh.loaderMedian;
    target(`fleetsync / hand-tuned loader, ${sh.orgs} org(s), ${sh.devices} devices`, r, '>= 1.0', r >= 1);
    const q = sh.resyncMedian / sh.fleetsyncMedian;
    target(`resync / first sync rows/s, ${sh.orgs} org(s)`, q, '>= 1.5', q >= 1.5);
    if (base) target(`fleetsync / naive per-row loop, ${sh.orgs} org(s)`, sh.fleetsyncMedian / base.rowsPerSec, '>= 5', sh.fleetsyncMedian / base.rowsPerSec >= 5);
  }
  const rl = figures.rateLimited as { share: number; status429: number } | undefined;
  if (rl) {
    target('rate-limited: achieved / allowed request rate', rl.share, '>= 0.95', rl.share >= 0.95);
    target('rate-limited: 429s received', rl.status429, '= 0', rl.status429 === 0);
  }
  if (tp) target(`worker peak RSS MB at ${tp.rows} devices`, tp.peakRssMb[0]!, '< 250', tp.peakRssMb[0]! < 250);
  const m = figures.memory100k as { peakRssMb: number } | undefined;
  if (tp && m) {
    const growth = tp.peakRssMb[0]! / m.peakRssMb - 1;
    target(`peak RSS growth ${tp.rows} vs 100k devices`, growth, '<= 0.20', growth <= 0.2);
  }
}

/** Prints the targets with PASS/FAIL and every figure, and writes bench/results.json. */
export async function report(figures: Figures, targets: Target[]): Promise<void> {
  const pad = (s: string, n: number) => (s.length >= n ? s : s + ' '.repeat(n - s.length));
  console.log('');
  console.log(`${pad('target', 58)} ${pad('value', 12)} ${pad('wanted', 10)} result`);
  for (const t of targets) console.log(`${pad(t.name, 58)} ${pad(String(t.value), 12)} ${pad(t.target, 10)} ${t.pass ? 'PASS' : 'FAIL'}`);
  const fmt = (x: unknown) => JSON.stringify(x, (_k, v: unknown) => (typeof v === 'number' && !Number.isInteger(v) ? Math.round(v * 100) / 100 : v));
  for (const [k, v] of Object.entries(figures)) console.log(`${k}: ${fmt(v)}`);
  const out = new URL('./results.json', import.meta.url);
  await writeFile(out, `${JSON.stringify({ generatedAt: new Date().toISOString(), targets, figures }, null, 2)}\n`);
  console.log(`\nwrote ${out.pathname}`);
}
