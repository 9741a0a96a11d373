import { spawn, type ChildProcess } from 'node:child_process';
import { Socket } from 'node:net';
import { waitFor } from '../helpers.js';

function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = new Socket();
    let buf = '';
    sock.once('error', () => resolve(false));
    sock.on('data', (d: Buffer) => {
      buf += d.toString();
      if (buf.includes('\r\n')) {
        sock.destroy();
        resolve(buf.startsWith('+PONG'));
      }
    });
    sock.connect(port, '127.0.0.1', () => sock.write('PING\r\n'));
  });
}

/**
 * A redis-server owned by one test, on its own port, without persistence: stopping it loses
 * everything, as a Redis restarted without persistence does. Never touches the shared Redis.
 */
export class TestRedis {
  private child: ChildProcess | null = null;

  constructor(readonly port: number) {}

  /** redis://127.0.0.1:<port> */
  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Starts the server and resolves once it answers PING. */
  async start(): Promise<void> {
    const child = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', '/tmp'], { stdio: 'ignore' });
    this.child = child;
    await waitFor(async () => child.exitCode === null && (await answersPing(this.port)), `redis-server on port ${this.port} to answer`, 20_000, 50);
  }

  /** Stops the server with SHUTDOWN NOSAVE (everything in it is lost) and resolves once it has exited. */
  async stop(): Promise<void> {
    const child = this.child;
    this.child = null;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const sock = new Socket();
    sock.once('error', () => child.kill('SIGKILL'));
    sock.connect(this.port, '127.0.0.1', () => sock.end('SHUTDOWN NOSAVE\r\n'));
    await gone;
    sock.destroy();
  }

  /** Kills the server if a test left it running. */
  kill(): void {
    if (this.child && this.child.exitCode === null) this.child.kill('SIGKILL');
    this.child = null;
  }
}
