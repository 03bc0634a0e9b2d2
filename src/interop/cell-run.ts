/**
 * One run of a cell: a fresh network where it needs one, a fresh server on a fresh port, the
 * recording signaling proxy in front of it, one client run through the proxy, a capture with
 * `--capture`; everything stopped and removed after, and the run's evidence written to its
 * directory when there is one. Never throws.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { firstFailure, type SubCheck } from '../client/sub-checks.js';
import { freePort } from '../net/free-port.js';
import { NETWORK_LABELS, createTopology, type NetworkName } from '../net/namespaces.js';
import { startTurnServer, type TurnServer } from '../net/turn-server.js';
import { ServerStartError } from './adapters/spawn-peer.js';
import { CAPTURE_FILE, KEY_FILES, captureUnavailable, finishCapture, isolatedDirectSite, startCapture, type CaptureEvidence } from './evidence/capture.js';
import { startSignalingRecorder, type SignalingRecorder } from './evidence/server-host.js';
import { phasesOf, type Phase } from './evidence/phases.js';
import { serverChecksOf } from './evidence/server-facts.js';
import { signalingOf, type SignalingEvidence } from './evidence/signaling.js';
import { knownFailureFor } from './known-failures.js';
import { DEFAULT_CLIENT_NETWORKS, DEFAULT_SERVER_NETWORKS, type ClientOutcome, type InteropPeer, type RunningServer, type Site, type TestType } from './peer.js';
import type { PeerProcess } from './process.js';

export type RunStatus = 'pass' | 'fail' | 'known-failure' | 'unsupported';

export interface RunResult {
  /** 1 for the first run of a cell. */
  run: number;
  status: RunStatus;
  reason?: string;
  message?: string;
  knownFailure?: { id: string; why: string; link?: string };
  timings: {
    /** Server spawn until it listens. */
    serverStartMs?: number;
    /** The client's own steps (ms since it started) and `exited`: its wall time. */
    client: Record<string, number>;
    /** The whole run, server start to server stop. */
    cellMs: number;
  };
  /** POST, ICE connected, DTLS connected, first echo: each with its source, or unknown and why. */
  phases: Phase[];
  /** What the client reported about the echo. */
  details?: unknown;
  /** The client's sub-checks (src/client/sub-checks.ts), where it reports them; they do not change the status. */
  checks?: SubCheck[];
  /**
   * The server's own side, where our server engine logs it (the `transport` facts of its
   * `session-connected` line, evidence/server-facts.ts): DTLS role, SRTP profile, SCTP zero
   * checksum. Like the client's, they never change the status.
   */
  serverChecks?: SubCheck[];
  /** On a failed run: the first sub-check that failed, which the reports name before the client's reason. */
  failedCheck?: SubCheck;
  /** The HTTP exchange as the proxy recorded it: the offer, the answer, when. */
  signaling?: SignalingEvidence;
  /** With --capture. */
  capture?: CaptureEvidence;
  port: number;
  logs: { server: string; client: string };
  /** The run's evidence files, relative to the report directory (set when the run has a directory). */
  evidence?: Record<string, string>;
}

export interface RunOptions {
  root: string;
  /** Overrides each client's own timeout. */
  timeoutMs?: number;
  /** A pcapng of the run with the DTLS keys (needs root and dumpcap). */
  capture?: boolean;
  /** Where the run's evidence goes (`<report>/cells/<cell>/run-<n>`), and the report directory it is relative to. */
  evidence?: { reportDir: string; runDir: string };
}

const DEFAULT_CLIENT_TIMEOUT_MS = 15_000;

/** `tag` names the run's namespaces: unique among runs at the same time. */
export async function runOnce(
  server: InteropPeer,
  client: InteropPeer,
  test: TestType,
  network: NetworkName,
  run: number,
  options: RunOptions,
  tag: string,
): Promise<RunResult> {
  const started = performance.now();
  const port = await freePort();
  const unsupportedBy = [
    !(server.server!.networks ?? DEFAULT_SERVER_NETWORKS).includes(network) && `the ${server.name} server`,
    !(client.client!.networks ?? DEFAULT_CLIENT_NETWORKS).includes(network) && `the ${client.name} client`,
  ].filter(Boolean);
  if (unsupportedBy.length > 0) {
    const message = `${unsupportedBy.join(' and ')} cannot run on the ${network} network (${NETWORK_LABELS[network]})`;
    return { run, status: 'unsupported', reason: 'unsupported', message, timings: { client: {}, cellMs: 0 }, phases: [], port, logs: { server: '', client: '' } };
  }
  const dir = options.evidence?.runDir;
  if (dir) await mkdir(dir, { recursive: true });
  const captureWhyNot = !options.capture
    ? undefined
    : !dir
      ? 'no report directory to write it to'
      : server.server!.external
        ? "the server was already running outside the matrix's namespaces, and this machine's loopback carries other traffic"
        : await captureUnavailable();
  const capturing = options.capture === true && captureWhyNot === undefined;
  const env = (role: 'server' | 'client') => (capturing ? { SSLKEYLOGFILE: join(dir!, KEY_FILES[role]) } : undefined);

  let site: Site | undefined;
  let turn: TurnServer | undefined;
  let dumpcap: PeerProcess | undefined;
  let running: RunningServer | undefined;
  let recorder: SignalingRecorder | undefined;
  let outcome: ClientOutcome | undefined;
  let failure: { reason: string; message: string } | undefined;
  let serverLog = '';
  let captureNote = captureWhyNot;
  try {
    site = capturing && network === 'direct' ? await isolatedDirectSite(tag) : await createTopology(network, tag);
    if (network === 'relay') turn = await startTurnServer({ exec: site.serverExec });
    if (capturing) {
      try {
        dumpcap = await startCapture(site, join(dir!, CAPTURE_FILE));
      } catch (err) {
        captureNote = (err as Error).message;
      }
    }
    running = await server.server!.start(port, options.root, site, { env: env('server') });
    // The proxy speaks http: an https server is reached directly, its exchange unrecorded.
    if (running.url.startsWith('http:')) recorder = await startSignalingRecorder(site, options.root, proxyTarget(running.url, site, server.server!.external));
    outcome = await client.client!.run({
      url: recorder?.url ?? running.url,
      test,
      timeoutMs: options.timeoutMs ?? client.client!.timeoutMs ?? DEFAULT_CLIENT_TIMEOUT_MS,
      server: { name: server.name, quirks: server.server!.quirks ?? {} },
      root: options.root,
      site,
      env: env('client'),
    });
  } catch (err) {
    if (err instanceof ServerStartError) {
      failure = { reason: 'server-start', message: `${server.name} server ${err.message}` };
      serverLog = err.process.log();
    } else {
      failure = { reason: 'harness-error', message: (err as Error).message };
    }
  } finally {
    await running?.process?.stop();
    await recorder?.stop();
    await dumpcap?.stop();
    await turn?.stop();
    await site?.remove();
  }
  if (running) serverLog = running.process ? running.process.log() : `(the server at ${running.url} was already running: its output is not the matrix's to see)`;
  // Exit 127: the client says it cannot run this test at all (as the QUIC interop runner has it).
  const unsupported = outcome?.exitCode === 127;
  const exchanges = recorder?.exchanges();
  const result: RunResult = {
    run,
    status: outcome?.ok ? 'pass' : unsupported ? 'unsupported' : 'fail',
    reason: unsupported ? 'unsupported' : outcome && !outcome.ok ? outcome.reason : failure?.reason,
    message: outcome && !outcome.ok ? outcome.message : failure?.message,
    timings: { serverStartMs: running?.startMs, client: outcome?.timings ?? {}, cellMs: Math.round(performance.now() - started) },
    phases: outcome ? phasesOf(outcome.timings, exchanges, outcome.process.startedAt) : [],
    details: outcome?.details,
    checks: outcome?.checks,
    serverChecks: serverChecksOf(serverLog, { offer: exchanges && signalingOf(exchanges).offer, answer: exchanges && signalingOf(exchanges).answer }),
    signaling: exchanges ? signalingOf(exchanges) : running ? { exchanges: [], note: `not recorded: the proxy speaks http, the server ${running.url}` } : undefined,
    port,
    logs: { server: serverLog, client: outcome?.process.log() ?? '' },
  };
  if (options.capture) {
    result.capture = { note: captureNote ?? 'no capture: the run stopped before it started' };
    if (dumpcap && dir) {
      const connected = outcome?.timings.connected !== undefined || outcome?.ok === true;
      try {
        result.capture = { ...(await finishCapture(dir, join(dir, CAPTURE_FILE), { server, client }, connected)), ...(captureNote ? { note: captureNote } : {}) };
      } catch (err) {
        result.capture = { note: `the capture could not be finished: ${(err as Error).message.split('\n')[0]}` };
      }
    }
  }
  if (result.status === 'fail') {
    const known = knownFailureFor({
      server: server.name,
      client: client.name,
      test,
      reason: result.reason,
      message: result.message,
      timings: result.timings.client,
      clientLog: result.logs.client,
      serverLog: result.logs.server,
    });
    if (known) {
      result.status = 'known-failure';
      result.knownFailure = { id: known.id, why: known.why, link: known.link };
    }
  }
  // A failure that is not a known one names what broke first, where the client saw it.
  if (result.status === 'fail') result.failedCheck = firstFailure(result.checks);
  if (options.evidence) result.evidence = await writeRunEvidence(result, options.evidence.reportDir, options.evidence.runDir);
  return result;
}

/**
 * Where the proxy, beside the server, reaches it: the address it listens on. The URL's host is
 * where the client reaches it, which from the server's own host can be a router's outside
 * (server-nat: the router drops a flow the server side starts). A server that was already
 * running is reached at its URL as given.
 */
function proxyTarget(url: string, site: Site, external: boolean | undefined): string {
  if (external) return url;
  const target = new URL(url);
  target.hostname = site.serverListen.includes(':') ? `[${site.serverListen}]` : site.serverListen;
  return target.href;
}

/** The run's files: the offer and the answer, the exchange, both logs, run.json (and the capture, already there). */
async function writeRunEvidence(result: RunResult, reportDir: string, dir: string): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  const write = async (key: string, name: string, text: string | undefined) => {
    if (text === undefined) return;
    await writeFile(join(dir, name), text);
    files[key] = relative(reportDir, join(dir, name));
  };
  await write('offer', 'offer.sdp', result.signaling?.offer);
  await write('answer', 'answer.sdp', result.signaling?.answer);
  await write('signaling', 'signaling.json', result.signaling && `${JSON.stringify(result.signaling.exchanges, null, 2)}\n`);
  await write('serverLog', 'server.log', result.logs.server);
  await write('clientLog', 'client.log', result.logs.client);
  if (result.capture?.file) files.capture = relative(reportDir, join(dir, result.capture.file));
  if (result.capture?.keys && (result.capture.keys.server.lines || result.capture.keys.client.lines)) files.keys = relative(reportDir, join(dir, 'keys.log'));
  files.run = relative(reportDir, join(dir, 'run.json'));
  const { logs: _logs, ...rest } = result;
  await writeFile(join(dir, 'run.json'), `${JSON.stringify({ ...rest, evidence: files }, null, 2)}\n`);
  return files;
}
