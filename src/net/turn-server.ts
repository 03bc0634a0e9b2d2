/** coturn (Debian `coturn`) as a TURN server: the relay network's, in the server's namespace, or one on loopback. */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TURN } from './namespaces.js';

export const TURNSERVER_PATH = '/usr/bin/turnserver';

export interface TurnServer {
  /** coturn's output, for a failing test's message. */
  log(): string;
  stop(): Promise<void>;
}

export interface TurnServerOptions {
  /** Prefix that runs it on a namespace's host (the relay network's `serverExec`). Default: here. */
  exec?: readonly string[];
  /** Where it listens and relays from. Default: the relay network's TURN address. */
  address?: string;
  port?: number;
}

/** Starts coturn with TURN's credentials (namespaces.ts) and resolves once it serves. */
export async function startTurnServer(options: TurnServerOptions = {}, readyMs = 10_000): Promise<TurnServer> {
  const { exec = [], address = TURN.address, port = TURN.port } = options;
  const dir = mkdtempSync(join(tmpdir(), 'webrtc-echo-turn-'));
  const [command, ...prefix] = [...exec, TURNSERVER_PATH];
  const child = spawn(command!, [
    ...prefix,
    '-n', // no config file: everything is here
    `--listening-ip=${address}`, `--relay-ip=${address}`, `--listening-port=${port}`,
    '--lt-cred-mech', `--user=${TURN.username}:${TURN.credential}`, `--realm=${TURN.realm}`,
    '--no-tls', '--no-dtls', '--no-cli', '--fingerprint',
    `--userdb=${join(dir, 'turndb')}`, `--pidfile=${join(dir, 'turn.pid')}`,
    '--log-file=stdout', '--simple-log',
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`coturn did not start within ${readyMs} ms:\n${output}`)), readyMs);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      // coturn prints this once its listeners and relay threads are up.
      if (/Total General servers/.test(output)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`coturn exited:\n${output}`));
    });
  });
  const stop = async () => {
    child.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 2_000))]);
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await ready;
  } catch (err) {
    await stop();
    throw err;
  }
  return { log: () => output, stop };
}
