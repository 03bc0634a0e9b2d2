/**
 * The server under test, when the bench starts it: any command line (`{port}` is replaced
 * by a free port), or our own `serve` with a given engine. The bench waits for the port to
 * accept connections and kills the process (and its group) when done.
 */
import { freePort } from '../net/free-port.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { EngineName } from '../engines/engine.js';

export interface ServerProcess {
  readonly pid: number;
  readonly url: string;
  readonly command: string;
  stop(): Promise<void>;
}

export interface OwnServerOptions {
  /** Extra node flags for the server, e.g. `--cpu-prof --cpu-prof-dir=prof`. */
  nodeArgs?: string[];
  /** `serve --workers`: session worker processes (default 1, every session in the one process). */
  workers?: number;
}

/** The shell command that runs our own server with `engine`, from source (tsx) or from dist. */
export function ownServerCommand(engine: EngineName, options: OwnServerOptions = {}): string {
  const here = fileURLToPath(import.meta.url);
  const ext = extname(here);
  const cli = fileURLToPath(new URL(`../cli${ext}`, import.meta.url));
  const node = [process.execPath, ...(ext === '.ts' ? ['--import', 'tsx'] : []), ...(options.nodeArgs ?? [])];
  return [...node, cli, 'serve', '--host', '127.0.0.1', '--ice-addresses', 'loopback', '--port', '{port}', '--engine', engine, '--workers', String(options.workers ?? 1), '--max-sessions', '5000', '--max-unconnected-per-address', '5000', '--offer-rate', '0', '--log-level', 'warn', '--drain-timeout', '0']
    .map(shellQuote)
    .join(' ')
    .replace("'{port}'", '{port}');
}

export async function spawnServer(command: string, timeoutMs = 20_000): Promise<ServerProcess> {
  const port = await freePort();
  const line = command.replaceAll('{port}', String(port));
  // `exec` makes the shell become the server, so the pid we sample is the server's own.
  const child = spawn('/bin/sh', ['-c', `exec ${line}`], { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4_000);
  });
  const stop = () => stopProcess(child);
  try {
    await waitForPort(port, child, timeoutMs);
  } catch (err) {
    await stop();
    throw new Error(`${(err as Error).message}; command: ${line}${stderr ? `\n${stderr.trim()}` : ''}`);
  }
  return { pid: child.pid!, url: `http://127.0.0.1:${port}/offer`, command: line, stop };
}


async function waitForPort(port: number, child: ChildProcess, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`the server exited (${child.signalCode ?? child.exitCode}) before listening`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the server did not listen on port ${port} within ${timeoutMs} ms`);
}

/** SIGTERM to the group (a server may have children), SIGKILL if it lingers. */
async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const signal = (sig: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, sig);
    } catch {
      child.kill(sig);
    }
  };
  signal('SIGTERM');
  const kill = setTimeout(() => signal('SIGKILL'), 5_000);
  await exited;
  clearTimeout(kill);
}

function shellQuote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", `'\\''`)}'`;
}
