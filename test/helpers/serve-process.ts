/**
 * `webrtc-echo serve` as a child process, as users and containers run it: its JSON log lines,
 * the URL it logs, a way to wait for a log event, and its exit. Killed when the test ends.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import type { TestContext } from 'node:test';
import { CLI, ROOT } from './cli.js';
import { withTimeout } from './timeout.js';

export interface ServeProcess {
  child: ChildProcess;
  /** The base URL it logged (`http://127.0.0.1:PORT` or `https://…`). */
  url: string;
  /** Every JSON log line so far. */
  logs: Record<string, unknown>[];
  /** Resolves with the first log line whose `event` is `event` (one already logged counts). */
  event(event: string, ms?: number): Promise<Record<string, unknown>>;
  /** Resolves with the exit code (or the signal's name). */
  exited: Promise<number | string>;
}

export interface ServeProcessOptions {
  /** Runs `command [...prefix, 'serve', ...args]` instead of `node dist/cli.js serve …`. */
  command?: string;
  prefix?: string[];
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Default 20 s: the engine loads before it listens. */
  listenTimeoutMs?: number;
}

export async function spawnServe(t: TestContext | undefined, args: string[], options: ServeProcessOptions = {}): Promise<ServeProcess> {
  const command = options.command ?? process.execPath;
  const prefix = options.prefix ?? [CLI];
  const spawnOptions: SpawnOptions = { cwd: options.cwd ?? ROOT, env: options.env ?? process.env, stdio: ['ignore', 'ignore', 'pipe'] };
  const child = spawn(command, [...prefix, 'serve', ...args], spawnOptions);
  t?.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const exited = once(child, 'exit').then(([code, signal]) => (code ?? signal) as number | string);
  const logs: Record<string, unknown>[] = [];
  const waiters: { event: string; resolve: (entry: Record<string, unknown>) => void }[] = [];
  let stderrText = '';
  createInterface({ input: child.stderr! }).on('line', (line) => {
    let entry: Record<string, unknown>;
    try {
      entry = JSON.parse(line) as Record<string, unknown>;
    } catch {
      stderrText += `${line}\n`;
      return;
    }
    logs.push(entry);
    for (const waiter of waiters.filter((w) => w.event === entry.event)) {
      waiters.splice(waiters.indexOf(waiter), 1);
      waiter.resolve(entry);
    }
  });
  const event = (name: string, ms = 15_000) => {
    const seen = logs.find((entry) => entry.event === name);
    if (seen) return Promise.resolve(seen);
    return withTimeout(new Promise<Record<string, unknown>>((resolve) => waiters.push({ event: name, resolve })), ms, `server log event ${name}`);
  };
  const listening = event('listening', options.listenTimeoutMs ?? 20_000);
  const early = exited.then((code) => {
    throw new Error(`serve exited (${code}) before listening: ${stderrText.slice(-2000)}`);
  });
  const entry = await Promise.race([listening, early]);
  early.catch(() => {});
  return { child, url: String(entry.url), logs, event, exited };
}
