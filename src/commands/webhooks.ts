import { Option } from 'commander';
import type { App } from '../app.js';
import { EXIT_USAGE } from '../exit-codes.js';
import type { ResolvedSource } from '../sources.js';
import { table } from '../status.js';
import { callbackUrl, DEFAULT_WEBHOOK_PORT } from '../webhooks/config.js';
import { currentCallback, registerIzuma, removeIzuma } from '../webhooks/izuma-setup.js';
import { routeOfSource } from '../webhooks/route.js';
import { startWebhookReceiver } from '../webhooks/start.js';
import { TOGGL_PLANS, TOGGL_WEBHOOK_LIMITS } from '../webhooks/toggl-plan.js';
import { listToggl, registerToggl, removeToggl } from '../webhooks/toggl-setup.js';
import { vendorCaller } from '../webhooks/vendor-call.js';
import { collect, CommandError, onShutdown, requireSource, untilAborted, withApp, type CommandContext } from './common.js';

/** The source of a set-up command, with its credentials and webhookSecret; CommandError when it cannot receive events. */
function receivingSource(app: App, id: string): { src: ResolvedSource; secret: string } {
  requireSource(app, id);
  const src = app.sources.get(id)!;
  const route = routeOfSource(src);
  if (!route.ok) throw new CommandError(route.reason, EXIT_USAGE);
  return { src, secret: route.secret };
}

function publicUrlOf(app: App): string {
  const url = app.config.webhooks.publicUrl;
  if (url === undefined) throw new CommandError('webhooks.publicUrl is not set: the https URL the vendors reach the receiver at (docs/freshness.md)', EXIT_USAGE);
  return url;
}

/** The plan whose webhook limits apply: --plan, else the source's `quota` when it names one, else premium. */
function planOf(src: ResolvedSource, given: string | undefined): string {
  if (given !== undefined) return given;
  const quota = src.config.quota;
  return typeof quota === 'string' && quota in TOGGL_WEBHOOK_LIMITS ? quota : 'premium';
}

function finish(problems: readonly string[]): void {
  if (problems.length > 0) throw new CommandError(problems.join('\n'));
}

interface SetupFlags {
  source: string;
  workspace: string[];
  plan?: string;
  force: boolean;
  json?: boolean;
}

async function register(app: App, flags: SetupFlags): Promise<void> {
  const { src, secret } = receivingSource(app, flags.source);
  const url = callbackUrl(publicUrlOf(app), src.id);
  const setup = { src, call: vendorCaller(app, src, 'api'), out: (line: string) => console.log(line) };
  if (src.config.vendor === 'izuma') return finish(await registerIzuma(setup, { url, secret, force: flags.force }));
  finish(await registerToggl(setup, { url, secret, plan: planOf(src, flags.plan), workspaces: flags.workspace }));
}

async function list(app: App, flags: SetupFlags): Promise<void> {
  const { src } = receivingSource(app, flags.source);
  const setup = { src, call: vendorCaller(app, src, 'api'), out: (line: string) => console.log(line) };
  if (src.config.vendor === 'izuma') {
    const cb = await currentCallback(setup);
    const mine = app.config.webhooks.publicUrl === undefined ? null : callbackUrl(app.config.webhooks.publicUrl, src.id);
    if (flags.json) console.log(JSON.stringify({ callback: cb && { ...cb, ours: cb.url === mine } }, null, 2));
    else console.log(cb ? `callback: ${cb.url}${cb.url === mine ? ' (this receiver)' : ''}; headers: ${cb.headerNames.join(', ') || 'none'}` : `${src.id}: no callback set`);
    return;
  }
  const rows = await listToggl(setup, flags.workspace);
  if (flags.json) console.log(JSON.stringify(rows, null, 2));
  else console.log(rows.length ? table([['workspace', 'id', 'description', 'url', 'enabled', 'validated', 'pending', 'events'], ...rows.map((r) => [r.workspace, String(r.id), r.description + (r.ours ? '' : ' (not this source)'), r.url, String(r.enabled), String(r.validated), String(r.pending), r.events])]).join('\n') : `${src.id}: no subscriptions`);
}

async function remove(app: App, flags: SetupFlags): Promise<void> {
  const { src } = receivingSource(app, flags.source);
  const setup = { src, call: vendorCaller(app, src, 'api'), out: (line: string) => console.log(line) };
  if (src.config.vendor === 'izuma') {
    const mine = app.config.webhooks.publicUrl === undefined ? null : callbackUrl(app.config.webhooks.publicUrl, src.id);
    return finish(await removeIzuma(setup, { url: mine, force: flags.force }));
  }
  const n = await removeToggl(setup, flags.workspace);
  if (n === 0) console.log(`${src.id}: no subscriptions of this source`);
}

/** `fleetsync webhooks`: the receiver of vendor events and the vendors' subscriptions to it (docs/freshness.md). */
export function registerWebhooks(ctx: CommandContext): void {
  const cmd = ctx.program.command('webhooks').description('receive vendor events between walks (Toggl webhooks, Izuma notification channel): serve the receiver, register, list or remove the vendor subscriptions');
  cmd
    .command('serve')
    .description('serve the webhook receiver (POST/PUT /webhooks/<source id>) until SIGTERM/SIGINT; it queues the events for the workers')
    .option('--port <n>', `port (default webhooks.listen.port, else ${DEFAULT_WEBHOOK_PORT})`, (v) => Number(v))
    .option('--host <addr>', 'address to listen on (default webhooks.listen.host, else 127.0.0.1: put a TLS reverse proxy in front)')
    .action(async (opts: { port?: number; host?: string }) => {
      await withApp(ctx, async (app) => {
        const listen = app.config.webhooks.listen;
        const port = opts.port ?? listen?.port ?? DEFAULT_WEBHOOK_PORT;
        if (!Number.isInteger(port) || port < 0 || port > 65535) throw new CommandError(`--port ${String(opts.port)}: expected a port number`, EXIT_USAGE);
        const signal = onShutdown(ctx.logger);
        const server = await startWebhookReceiver(app, { host: opts.host ?? listen?.host ?? '127.0.0.1', port });
        await untilAborted(signal);
        await server.close();
      }, { whenDown: 'wait' });
    });
  const setup = (name: string, description: string) =>
    cmd
      .command(name)
      .description(description)
      .requiredOption('--source <id>', 'a toggl or izuma source whose credentials include webhookSecret')
      .option('--workspace <id>', 'Toggl: only this workspace (repeatable; default every workspace of the token)', collect, [] as string[]);
  setup('register', 'subscribe the vendor to <webhooks.publicUrl>/webhooks/<source>: Toggl subscriptions per workspace (validated by a ping), or the Izuma callback')
    .addOption(new Option('--plan <plan>', "Toggl: the plan whose webhook limits apply (default the source's quota plan, else premium)").choices(TOGGL_PLANS))
    .option('--force', 'Izuma: replace a callback that goes elsewhere (Izuma keeps one per API key)', false)
    .action(async (flags: SetupFlags) => withApp(ctx, (app) => register(app, flags)));
  setup('list', "the vendor's subscriptions (Toggl) or callback (Izuma), never their secrets")
    .option('--json', 'machine-readable output', false)
    .action(async (flags: SetupFlags) => withApp(ctx, (app) => list(app, flags)));
  setup('remove', "remove the source's subscriptions (Toggl) or the callback (Izuma) when it is this receiver's")
    .option('--force', 'Izuma: remove the callback whatever it points at', false)
    .action(async (flags: SetupFlags) => withApp(ctx, (app) => remove(app, flags)));
}
