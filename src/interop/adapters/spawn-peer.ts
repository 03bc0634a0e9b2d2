/** Servers and clients that are processes following the Echo Test container contract. */
import { parseCheckLines } from '../../client/sub-checks.js';
import type { IceServer } from '../../net/ice-server.js';
import type { ClientOutcome, RunningServer, Site } from '../peer.js';
import { startProcess, type PeerProcess } from '../process.js';

/** How long a server may take to say it listens (Python peers import GStreamer or aiortc first). */
const SERVER_READY_MS = 20_000;
/** A client that ignores its own --timeout is killed this long after it. */
const CLIENT_KILL_GRACE_MS = 10_000;

/**
 * Starts a server and waits for its ready line: `listening <port>` on stdout (the foreign
 * peers' contract) or our server's JSON `"event":"listening"` log line.
 */
export async function startServerProcess(
  command: string,
  args: string[],
  options: { root: string; port: number; site: Site; env?: Record<string, string>; ready?: RegExp },
): Promise<RunningServer> {
  const started = performance.now();
  const server = startIn(options.site.serverExec, command, args, { cwd: options.root, env: options.env });
  try {
    await server.waitFor(options.ready ?? /^listening (\d+)/m, SERVER_READY_MS);
  } catch (err) {
    await server.stop();
    // The server's own last words (EADDRINUSE, a refused option): the cell's reason is often all a CI log keeps.
    const said = lastLine(server.stderr()) ?? lastLine(server.stdout());
    throw new ServerStartError(`did not start: ${(err as Error).message}${said ? `; it said: ${said}` : ''}`, server);
  }
  return { url: `http://${options.site.serverHost}:${options.port}/offer`, process: server, startMs: Math.round(performance.now() - started) };
}

function lastLine(text: string): string | undefined {
  const line = text.trimEnd().split('\n').at(-1)?.trim();
  return line ? line.slice(0, 300) : undefined;
}

export class ServerStartError extends Error {
  constructor(
    message: string,
    readonly process: PeerProcess,
  ) {
    super(message);
    this.name = 'ServerStartError';
  }
}

/** Runs a client to its exit (killing it if it hangs) and reads the outcome from its exit code and output. */
export async function runClientProcess(
  command: string,
  args: string[],
  options: {
    root: string;
    timeoutMs: number;
    site: Site;
    /** Added to the environment. */
    env?: Record<string, string>;
    /** Killed after this long (default: its timeout + 10 s, for a client that was told its timeout). */
    killAfterMs?: number;
  },
  read: (process: PeerProcess, exitCode: number | null) => Partial<ClientOutcome> = readFailureLine,
): Promise<ClientOutcome> {
  const started = performance.now();
  const client = startIn(options.site.clientExec, command, args, { cwd: options.root, env: options.env });
  const killAfterMs = options.killAfterMs ?? options.timeoutMs + CLIENT_KILL_GRACE_MS;
  let killed = false;
  const killer = setTimeout(() => {
    killed = true;
    void client.stop(1_000);
  }, killAfterMs);
  const exitCode = await client.exited;
  clearTimeout(killer);
  await client.stop(); // anything it left running in its group
  const wallMs = Math.round(performance.now() - started);
  const outcome: ClientOutcome = { ok: exitCode === 0, timings: {}, exitCode, process: client, ...read(client, exitCode) };
  // A client that printed no JSON result may still speak the contract's `<step>_ms N` lines.
  if (Object.keys(outcome.timings).length === 0) outcome.timings = parseTimingLines(client.stderr());
  outcome.timings = { ...outcome.timings, exited: wallMs };
  // The sub-check protocol of interop/peers/README.md: `check <name> <status> <detail>` lines on stderr.
  if (outcome.checks === undefined) outcome.checks = parseCheckLines(client.stderr());
  if (killed) {
    outcome.ok = false;
    outcome.reason = killAfterMs === options.timeoutMs ? 'timeout' : 'killed';
    outcome.message =
      killAfterMs === options.timeoutMs
        ? `still running after the matrix's timeout of ${options.timeoutMs} ms: killed`
        : `still running ${killAfterMs} ms after start (its --timeout was ${options.timeoutMs} ms): killed`;
  } else if (!outcome.ok && !outcome.reason) {
    outcome.reason = exitCode === null ? 'crashed' : `exit-${exitCode}`;
  }
  return outcome;
}

/**
 * The foreign clients' convention: exit 1 with a last stderr line such as
 * `error: timeout: no data channel echo within 10s` (pion) or `FAIL reason: detail`.
 */
export function readFailureLine(client: PeerProcess, exitCode: number | null): Partial<ClientOutcome> {
  if (exitCode === 0) return {};
  const lines = client.stderr().split('\n').map((l) => l.trim()).filter(Boolean);
  const last = lines.at(-1) ?? client.stdout().trim().split('\n').at(-1) ?? '';
  // `error: timeout: …`, `FAIL timeout: …`, or with the program's name first (`webrtc-echo client: FAIL …`).
  const match = last.match(/^(?:[\w .-]+: )?(?:error|fail(?:ed)?|FAIL)\b[:\s]*([a-z][a-z-]+):\s*(.*)$/i);
  if (match) return { reason: match[1]!.toLowerCase(), message: match[2] };
  if (exitCode === 127 && /^unsupported\b/i.test(last)) return { reason: 'unsupported', message: last.replace(/^unsupported\b[:\s]*/i, '') };
  return { message: last.slice(0, 500) || undefined };
}

/** The last line of stdout that parses as a JSON object, if any. */
export function lastJsonLine(text: string): Record<string, unknown> | undefined {
  for (const line of text.trim().split('\n').reverse()) {
    if (!line.startsWith('{')) continue;
    try {
      return JSON.parse(line) as Record<string, unknown>;
    } catch {
      // not JSON after all
    }
  }
  return undefined;
}

/**
 * The step timings of the peers' contract (interop/peers/README.md): `<step>_ms N` lines on
 * stderr, N in ms from the client's start, named as our own client names its steps
 * (src/client/timings.ts). A client that prints none has no timings but `exited`.
 */
const TIMING_STEPS: Record<string, string> = {
  offer: 'offerReady',
  answer: 'answerReceived',
  ice_connected: 'iceConnected',
  connected: 'connected',
  dc_open: 'channelOpen',
  dc_echo: 'firstEcho',
  first_echo: 'firstEcho',
};

export function parseTimingLines(stderr: string): Record<string, number> {
  const timings: Record<string, number> = {};
  for (const [, step, value] of stderr.matchAll(/^([a-z_]+)_ms (\d+(?:\.\d+)?)\s*$/gm)) {
    const name = TIMING_STEPS[step!];
    // The first mark counts (a test 1 client marks its echo as dc_echo; first_echo is test 0's).
    if (name && timings[name] === undefined) timings[name] = Number(value);
  }
  return timings;
}

/** Runs `command` on a site's host: through its exec prefix (`ip netns exec NS`), or directly. */
export function startIn(exec: readonly string[], command: string, args: string[], options: { cwd: string; env?: Record<string, string> }): PeerProcess {
  const [first, ...rest] = [...exec, command, ...args];
  return startProcess(first!, rest, { cwd: options.cwd, env: options.env ? { ...process.env, ...options.env } : undefined });
}

/**
 * The client flags for a site's ICE servers, in the form every peer of ours parses:
 * `--ice-server stun:H:P` or `--ice-server turn://USER:PASS@H:P?transport=…`, and `--relay-only`.
 */
export function iceServerArgs(site: Site): string[] {
  const args = site.client.iceServers.flatMap((server: IceServer) => ['--ice-server', iceServerUrl(server)]);
  if (site.client.relayOnly) args.push('--relay-only');
  return args;
}

function iceServerUrl({ urls, username, credential }: IceServer): string {
  if (username === undefined) return urls;
  const [, scheme, rest] = /^(turns?):(.*)$/.exec(urls) ?? [];
  return `${scheme}://${encodeURIComponent(username)}:${encodeURIComponent(credential ?? '')}@${rest}`;
}
