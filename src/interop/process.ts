/**
 * Child processes of the matrix: every peer runs as its own process (its own group, so a
 * browser or a Python interpreter it starts dies with it), its output kept as the cell's log.
 */
import { spawn, type ChildProcess } from 'node:child_process';

/** Logs are kept for the reports; a chatty peer is cut to its first and last bytes. */
const MAX_LOG_CHARS = 48 * 1024;

export interface PeerProcess {
  readonly child: ChildProcess;
  readonly command: string;
  /** When it was spawned, in ms since the epoch (fractional): comparable with other processes' clocks. */
  readonly startedAt: number;
  /** stdout and stderr as they came, each line prefixed with its stream and ms since start. */
  log(): string;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code (or null when killed by a signal); never rejects. */
  readonly exited: Promise<number | null>;
  /** Resolves with the first match of `pattern` on stdout or stderr; rejects when the process exits or `ms` passes. */
  waitFor(pattern: RegExp, ms: number): Promise<RegExpMatchArray>;
  /** SIGTERM to the whole group, SIGKILL after `graceMs`. Idempotent, never throws. */
  stop(graceMs?: number): Promise<void>;
}

export function startProcess(command: string, args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv }): PeerProcess {
  const started = performance.now();
  const startedAt = performance.timeOrigin + started;
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true, // its own process group: stop() reaches its children too
  });
  let out = '';
  let err = '';
  let log = '';
  const listeners = new Set<() => void>();
  const append = (stream: 'out' | 'err', chunk: Buffer) => {
    const text = chunk.toString('utf8');
    if (stream === 'out') out += text;
    else err += text;
    const ms = (performance.now() - started).toFixed(0).padStart(6);
    log += text.replace(/\n$/, '').split('\n').map((line) => `${ms} ${stream} | ${line}\n`).join('');
    for (const listener of listeners) listener();
  };
  child.stdout?.on('data', (chunk: Buffer) => append('out', chunk));
  child.stderr?.on('data', (chunk: Buffer) => append('err', chunk));
  let spawnError = '';
  const exited = new Promise<number | null>((resolve) => {
    child.once('error', (error) => {
      spawnError = error.message;
      log += `spawn failed: ${error.message}\n`;
      resolve(null);
    });
    child.once('close', (code) => resolve(code));
  });
  let exitedAlready = false;
  void exited.then(() => {
    exitedAlready = true;
    for (const listener of listeners) listener();
  });

  const commandLine = [command, ...args].map((a) => (/[\s"']/.test(a) ? JSON.stringify(a) : a)).join(' ');
  let stopping: Promise<void> | undefined;
  return {
    child,
    command: commandLine,
    startedAt,
    log: () => truncate(`$ ${commandLine}\n${log}`),
    stdout: () => out,
    stderr: () => err,
    exited,
    waitFor(pattern, ms) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const match = out.match(pattern) ?? err.match(pattern);
          if (match) finish(() => resolve(match));
          else if (exitedAlready) finish(() => reject(new Error(spawnError || `exited (code ${child.exitCode ?? child.signalCode}) before printing ${pattern}`)));
        };
        const timer = setTimeout(() => finish(() => reject(new Error(`no ${pattern} within ${ms} ms`))), ms);
        const finish = (settle: () => void) => {
          clearTimeout(timer);
          listeners.delete(check);
          settle();
        };
        listeners.add(check);
        check();
      });
    },
    stop(graceMs = 2_000) {
      return (stopping ??= (async () => {
        if (exitedAlready || child.pid === undefined) return;
        signalGroup(child, 'SIGTERM');
        const timer = setTimeout(() => signalGroup(child, 'SIGKILL'), graceMs);
        await exited;
        clearTimeout(timer);
        // Whatever the leader left behind in its group goes too.
        signalGroup(child, 'SIGKILL');
      })());
    },
  };
}

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    if (child.pid !== undefined) process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

function truncate(text: string): string {
  if (text.length <= MAX_LOG_CHARS) return text;
  const half = MAX_LOG_CHARS / 2;
  return `${text.slice(0, half)}\n… ${text.length - MAX_LOG_CHARS} characters left out …\n${text.slice(-half)}`;
}
