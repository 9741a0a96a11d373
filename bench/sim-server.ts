/**
 * The Automox simulator in its own process, so it shares neither the worker's event loop nor its
 * RSS. Started by bench/lib.ts with IPC: options come in BENCH_SIM (JSON), the origin goes out
 * as the first message; `{ cmd: 'stats' }` answers with request figures, `{ cmd: 'reset' }`
 * clears them.
 */
import { AutomoxSimulator, type GeneratedAutomoxOptions } from '../src/simulators/automox.js';
import type { RateWindow } from '../src/simulators/http-sim-windows.js';

interface SimSpec {
  apiKey: string;
  generated: GeneratedAutomoxOptions;
  rateLimit?: RateWindow[];
  rateLimitPath?: string;
}

const spec = JSON.parse(process.env.BENCH_SIM ?? '{}') as SimSpec;
const sim = new AutomoxSimulator({
  apiKey: spec.apiKey,
  generated: spec.generated,
  ...(spec.rateLimit ? { rateLimit: spec.rateLimit } : {}),
  ...(spec.rateLimitPath ? { rateLimitPath: new RegExp(spec.rateLimitPath) } : {}),
});
const origin = await sim.start();
process.send?.({ origin });

process.on('message', (msg: { cmd: string }) => {
  if (msg.cmd === 'stats') {
    const servers = sim.requests.filter((r) => r.path.startsWith('/api/servers'));
    process.send?.({
      stats: {
        requests: sim.requests.length,
        rateLimited: sim.rateLimited,
        status429: sim.requests.filter((r) => r.status === 429).length,
        serverTimes: servers.filter((r) => r.status === 200).map((r) => r.at),
      },
    });
  } else if (msg.cmd === 'reset') {
    sim.reset();
    process.send?.({ reset: true });
  } else if (msg.cmd === 'stop') {
    void sim.stop().then(() => process.exit(0));
  }
});
process.on('disconnect', () => void sim.stop().then(() => process.exit(0)));
