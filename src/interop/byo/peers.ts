/**
 * Peers added on the command line (spec.ts), as InteropPeers like every other: they appear in
 * --servers/--clients, in every report, and in cells with ours and with each other.
 *
 * - A server COMMAND runs under /bin/sh with `{port}` (and `{host}`, where the cell wants it
 *   to listen) replaced; the cell starts once that port accepts TCP.
 * - A server URL is a server that is already running: used as it is, on the direct network only.
 * - A client COMMAND runs under /bin/sh with `-s URL -t N` appended as one argument, as the Echo
 *   Test's client containers get it (their client.sh splits it: `/app/client $1`, as does ours):
 *   exit 0 pass, 1 fail, 127 this test is not one it runs (n/a). Whatever it prints in the contract's forms counts:
 *   `error: <reason>: <detail>`, `check …` lines and `<step>_ms N` timings on stderr, or a JSON
 *   result as `webrtc-echo client --json` prints it. It is given no timeout flag (the contract
 *   has none): the matrix kills it at its timeout.
 *
 * Commands run in the directory the matrix was started from, so paths are the user's.
 */
import { execFile } from 'node:child_process';
import { checksFromJson } from '../../client/sub-checks.js';
import { DEFAULT_CLIENT_NETWORKS, DEFAULT_SERVER_NETWORKS, type Availability, type ClientOutcome, type InteropPeer, type RunningServer } from '../peer.js';
import type { PeerProcess } from '../process.js';
import { ServerStartError, lastJsonLine, readFailureLine, runClientProcess, startIn } from '../adapters/spawn-peer.js';
import { waitForServerTcp } from '../evidence/server-host.js';
import { acceptsTcp } from '../tcp-ready.js';
import { firstWord, type PeerSpec } from './spec.js';

/** How long a server command may take to accept TCP (a JVM or a container takes a while). */
const SERVER_READY_MS = 30_000;

/** One peer per name: a name given to both --add-server and --add-client is one stack in both roles. */
export function byoPeers(specs: readonly PeerSpec[], cwd: string): InteropPeer[] {
  const names = [...new Set(specs.map((s) => s.name))];
  return names.map((name) => {
    const server = specs.find((s) => s.name === name && s.role === 'server');
    const client = specs.find((s) => s.name === name && s.role === 'client');
    // The reports' peer table says what was run: a report read later still tells which build it was.
    const roles = [server && (server.kind === 'url' ? `server at ${server.value}` : `server \`${server.value}\``), client && `client \`${client.value}\``];
    return {
      name,
      ours: false,
      label: `added on the command line: ${roles.filter(Boolean).join('; ')}`,
      origin: { server: server?.value, client: client?.value },
      detect: () => detect([server, client].filter((s): s is PeerSpec => s !== undefined), cwd),
      server: server && (server.kind === 'url' ? urlServer(server.value) : commandServer(server.value, cwd)),
      client: client && commandClient(client.value, cwd),
    };
  });
}

function commandServer(command: string, cwd: string): InteropPeer['server'] {
  return {
    // server-nat needs a server that announces the router's public address: ours can be told (--public-ip), a foreign one cannot.
    networks: DEFAULT_SERVER_NETWORKS,
    async start(port, _root, site, options): Promise<RunningServer> {
      const started = performance.now();
      const line = command.replaceAll('{port}', String(port)).replaceAll('{host}', site.serverListen);
      const server = startIn(site.serverExec, '/bin/sh', ['-c', line], { cwd, env: options?.env });
      try {
        await waitForServerTcp(site, _root, port, SERVER_READY_MS, server);
      } catch (err) {
        await server.stop();
        throw new ServerStartError(`did not start: ${(err as Error).message}`, server);
      }
      return { url: `http://${site.serverHost}:${port}/offer`, process: server, startMs: Math.round(performance.now() - started) };
    },
  };
}

function urlServer(url: string): InteropPeer['server'] {
  return {
    // It runs where it runs: the matrix cannot move it into a network of namespaces.
    networks: ['direct'],
    external: true,
    async start(): Promise<RunningServer> {
      const { hostname, port, protocol } = new URL(url);
      const target = { host: hostname.replace(/^\[|\]$/g, ''), port: Number(port || (protocol === 'https:' ? 443 : 80)) };
      if (!(await acceptsTcp(target.host, target.port, 3_000))) throw new Error(`the server at ${url} does not accept TCP on ${target.host}:${target.port}`);
      return { url, startMs: 0 };
    },
  };
}

function commandClient(command: string, cwd: string): InteropPeer['client'] {
  return {
    networks: DEFAULT_CLIENT_NETWORKS,
    run: ({ url, test, timeoutMs, site, env }) =>
      // "$1" after the user's command: the flags reach it as the one argument of the contract, whatever the URL holds.
      runClientProcess('/bin/sh', ['-c', `${command} "$1"`, 'sh', `-s ${url} -t ${test}`], { root: cwd, timeoutMs, site, env, killAfterMs: timeoutMs }, readClientOutput),
  };
}

/** Our CLI's JSON result when the client printed one (`webrtc-echo client --json`), else the contract's failure line. */
function readClientOutput(client: PeerProcess, exitCode: number | null): Partial<ClientOutcome> {
  const result = lastJsonLine(client.stdout());
  if (!result || typeof result.ok !== 'boolean') return readFailureLine(client, exitCode);
  return {
    ok: result.ok && exitCode === 0,
    reason: typeof result.reason === 'string' ? result.reason : undefined,
    message: typeof result.message === 'string' ? result.message : undefined,
    timings: typeof result.timings === 'object' && result.timings ? (result.timings as Record<string, number>) : {},
    checks: result.checks === undefined ? undefined : checksFromJson(result.checks),
  };
}

async function detect(specs: PeerSpec[], cwd: string): Promise<Availability> {
  for (const spec of specs) {
    const install = `check what --add-${spec.role} ${spec.name}= was given`;
    if (spec.kind === 'url') {
      const { hostname, port, protocol } = new URL(spec.value);
      const host = hostname.replace(/^\[|\]$/g, '');
      const p = Number(port || (protocol === 'https:' ? 443 : 80));
      if (!(await acceptsTcp(host, p, 3_000))) return { available: false, reason: `nothing accepts TCP on ${host}:${p} (${spec.value})`, install };
      continue;
    }
    const word = firstWord(spec.value);
    if (word !== undefined && !(await isCommand(word, cwd))) {
      return { available: false, reason: `"${word}" is not an executable file or a command on PATH (run from ${cwd})`, install };
    }
  }
  return { available: true };
}

/** As the shell will see it: `command -v` finds executables by path and on PATH. */
function isCommand(word: string, cwd: string): Promise<boolean> {
  return new Promise((resolve) => {
    execFile('/bin/sh', ['-c', 'test -x "$1" || command -v -- "$1" >/dev/null', 'sh', word], { cwd, timeout: 5_000 }, (err) => resolve(!err));
  });
}
