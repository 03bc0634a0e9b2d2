/**
 * The interop matrix: every available server × client × test, each cell on its own port
 * with its own server process, a few cells at once.
 *
 * Why a fresh server per cell rather than one per row: the cell's server log then holds that
 * cell's session only (the reports show both peers' logs per cell), a server that a client
 * crashed or wedged cannot spoil the rest of its row, and every cell starts from the same
 * state. It costs one server start per cell: ~0.3 s for ours and pion, ~1 s for the Python peers.
 *
 * Networks are a dimension too: a cell on `nat`, `relay` or `server-nat` builds its own small
 * network of namespaces (src/net/namespaces.ts) and a TURN server where it needs one, and
 * removes them after. A pair that cannot run on a network (a client without TURN options on
 * `relay`) is `unsupported`, shown as n/a: not a failure.
 */
import { cpus } from 'node:os';
import { knownFailureFor, type KnownFailure } from './known-failures.js';
import {
  DEFAULT_CLIENT_NETWORKS, DEFAULT_SERVER_NETWORKS, TEST_TYPES, type Availability, type ClientOutcome, type InteropPeer, type RunningServer, type Site, type TestType,
} from './peer.js';
import { freePort } from '../net/free-port.js';
import { NETWORK_LABELS, createTopology, namespacesUnavailable, type NetworkName } from '../net/namespaces.js';
import { startTurnServer, type TurnServer } from '../net/turn-server.js';
import { ServerStartError } from './adapters/spawn-peer.js';
import { firstFailure, type SubCheck } from '../client/sub-checks.js';

export type CellStatus = 'pass' | 'fail' | 'known-failure' | 'unsupported';

export interface CellResult {
  server: string;
  client: string;
  test: TestType;
  network: NetworkName;
  status: CellStatus;
  /** True when one of our peers is in the cell: its failure fails the run. */
  decisive: boolean;
  reason?: string;
  message?: string;
  knownFailure?: { id: string; why: string; link?: string };
  timings: {
    /** Server spawn until it listens. */
    serverStartMs?: number;
    /** The client's own steps (ms since it started) and `exited`: its wall time. */
    client: Record<string, number>;
    /** The whole cell, server start to server stop. */
    cellMs: number;
  };
  /** What the client reported about the echo. */
  details?: unknown;
  /** The client's sub-checks (src/client/sub-checks.ts), where it reports them; they do not change the status. */
  checks?: SubCheck[];
  /** On a failed cell: the first sub-check that failed, which the reports name before the client's reason. */
  failedCheck?: SubCheck;
  port: number;
  logs: { server: string; client: string };
}

export interface PeerAvailability {
  name: string;
  label: string;
  ours: boolean;
  roles: ('server' | 'client')[];
  availability: Availability;
}

export interface MatrixOptions {
  root: string;
  peers: InteropPeer[];
  /** Narrow to these peer names (default: every available one). */
  servers?: string[];
  clients?: string[];
  tests?: TestType[];
  /** Only cells with one of our peers in them (what `npm test` needs). Default false. */
  oursOnly?: boolean;
  /** Cells run at once. Default: min(2, CPUs). */
  concurrency?: number;
  /** Overrides each client's own timeout. */
  timeoutMs?: number;
  /** Networks to run every pair on. Default: direct (loopback) only. */
  networks?: NetworkName[];
  onProgress?: (event: ProgressEvent) => void;
}

export type ProgressEvent =
  | { type: 'start'; total: number }
  | { type: 'cell-start'; index: number; total: number; server: string; client: string; test: TestType; network: NetworkName }
  | { type: 'cell-done'; index: number; done: number; total: number; cell: CellResult };

export interface MatrixResult {
  startedAt: string;
  durationMs: number;
  tests: TestType[];
  networks: NetworkName[];
  servers: string[];
  clients: string[];
  peers: PeerAvailability[];
  cells: CellResult[];
  /** Our own peers that should have been in the matrix but could not run. */
  ourMissing: string[];
}

const DEFAULT_CLIENT_TIMEOUT_MS = 15_000;

export async function detectPeers(peers: InteropPeer[], root: string): Promise<PeerAvailability[]> {
  return Promise.all(
    peers.map(async (peer) => ({
      name: peer.name,
      label: peer.label,
      ours: peer.ours,
      roles: [...(peer.server ? (['server'] as const) : []), ...(peer.client ? (['client'] as const) : [])],
      availability: await peer.detect(root).catch((err: Error): Availability => ({ available: false, reason: err.message, install: '?' })),
    })),
  );
}

export async function runMatrix(options: MatrixOptions): Promise<MatrixResult> {
  const started = Date.now();
  const tests = options.tests ?? [...TEST_TYPES];
  const networks = options.networks ?? ['direct'];
  if (networks.some((n) => n !== 'direct')) {
    const why = await namespacesUnavailable();
    if (why) throw new Error(`networks other than direct need network namespaces: ${why}`);
  }
  const availability = await detectPeers(options.peers, options.root);
  const usable = new Set(availability.filter((p) => p.availability.available).map((p) => p.name));
  const wanted = (names: string[] | undefined, name: string) => !names || names.includes(name);
  const servers = options.peers.filter((p) => p.server && usable.has(p.name) && wanted(options.servers, p.name));
  const clients = options.peers.filter((p) => p.client && usable.has(p.name) && wanted(options.clients, p.name));
  const ourMissing = availability
    .filter((p) => p.ours && !p.availability.available && (wanted(options.servers, p.name) || wanted(options.clients, p.name)))
    .map((p) => p.name);

  const plan: { server: InteropPeer; client: InteropPeer; test: TestType; network: NetworkName }[] = [];
  for (const network of networks)
    for (const test of tests)
      for (const server of servers)
        for (const client of clients) if (!options.oursOnly || server.ours || client.ours) plan.push({ server, client, test, network });

  options.onProgress?.({ type: 'start', total: plan.length });
  const cells: CellResult[] = new Array(plan.length);
  let next = 0;
  let done = 0;
  const concurrency = Math.max(1, options.concurrency ?? Math.min(2, cpus().length));
  const worker = async () => {
    while (next < plan.length) {
      const index = next++;
      const { server, client, test, network } = plan[index]!;
      options.onProgress?.({ type: 'cell-start', index, total: plan.length, server: server.name, client: client.name, test, network });
      const cell = await runCell(server, client, test, network, options, `${process.pid % 1000}x${index}`);
      cells[index] = cell;
      options.onProgress?.({ type: 'cell-done', index, done: ++done, total: plan.length, cell });
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, plan.length) }, worker));

  return {
    startedAt: new Date(started).toISOString(),
    durationMs: Date.now() - started,
    tests,
    networks,
    servers: servers.map((p) => p.name),
    clients: clients.map((p) => p.name),
    peers: availability,
    cells,
    ourMissing,
  };
}

/**
 * One cell: a fresh network where it needs one, a fresh server on a fresh port, one client run
 * against it, all stopped and removed. `tag` names the cell's namespaces. Never throws.
 */
export async function runCell(
  server: InteropPeer,
  client: InteropPeer,
  test: TestType,
  network: NetworkName,
  options: Pick<MatrixOptions, 'root' | 'timeoutMs'>,
  tag: string,
): Promise<CellResult> {
  const started = performance.now();
  const port = await freePort();
  const base = { server: server.name, client: client.name, test, network, decisive: server.ours || client.ours, port };
  const unsupportedBy = [
    !(server.server!.networks ?? DEFAULT_SERVER_NETWORKS).includes(network) && `the ${server.name} server`,
    !(client.client!.networks ?? DEFAULT_CLIENT_NETWORKS).includes(network) && `the ${client.name} client`,
  ].filter(Boolean);
  if (unsupportedBy.length > 0) {
    const message = `${unsupportedBy.join(' and ')} cannot run on the ${network} network (${NETWORK_LABELS[network]})`;
    return { ...base, decisive: false, status: 'unsupported', reason: 'unsupported', message, timings: { client: {}, cellMs: 0 }, logs: { server: '', client: '' } };
  }
  let site: Site | undefined;
  let turn: TurnServer | undefined;
  let running: RunningServer | undefined;
  let outcome: ClientOutcome | undefined;
  let failure: { reason: string; message: string } | undefined;
  let serverLog = '';
  try {
    site = await createTopology(network, tag);
    if (network === 'relay') turn = await startTurnServer({ exec: site.serverExec });
    running = await server.server!.start(port, options.root, site);
    outcome = await client.client!.run({
      url: running.url,
      test,
      timeoutMs: options.timeoutMs ?? client.client!.timeoutMs ?? DEFAULT_CLIENT_TIMEOUT_MS,
      server: { name: server.name, quirks: server.server!.quirks ?? {} },
      root: options.root,
      site,
    });
  } catch (err) {
    if (err instanceof ServerStartError) {
      failure = { reason: 'server-start', message: `${server.name} server ${err.message}` };
      serverLog = err.process.log();
    } else {
      failure = { reason: 'harness-error', message: (err as Error).message };
    }
  } finally {
    await running?.process.stop();
    await turn?.stop();
    await site?.remove();
  }
  if (running) serverLog = running.process.log();
  // Exit 127: the client says it cannot run this test at all (as the QUIC interop runner has it).
  const unsupported = outcome?.exitCode === 127;
  const cell: CellResult = {
    ...base,
    ...(unsupported ? { decisive: false } : {}),
    status: outcome?.ok ? 'pass' : unsupported ? 'unsupported' : 'fail',
    reason: unsupported ? 'unsupported' : outcome && !outcome.ok ? outcome.reason : failure?.reason,
    message: outcome && !outcome.ok ? outcome.message : failure?.message,
    timings: { serverStartMs: running?.startMs, client: outcome?.timings ?? {}, cellMs: Math.round(performance.now() - started) },
    details: outcome?.details,
    checks: outcome?.checks,
    logs: { server: serverLog, client: outcome?.process.log() ?? '' },
  };
  if (cell.status === 'fail') {
    const known: KnownFailure | undefined = knownFailureFor({
      server: cell.server,
      client: cell.client,
      test,
      reason: cell.reason,
      message: cell.message,
      timings: cell.timings.client,
      clientLog: cell.logs.client,
      serverLog: cell.logs.server,
    });
    if (known) {
      cell.status = 'known-failure';
      cell.knownFailure = { id: known.id, why: known.why, link: known.link };
    }
  }
  // A failure that is not a known one names what broke first, where the client saw it.
  if (cell.status === 'fail') cell.failedCheck = firstFailure(cell.checks);
  return cell;
}

/** The cells that fail the run: a failure (not a known one) with one of our peers in it. */
export function decisiveFailures(result: MatrixResult): CellResult[] {
  return result.cells.filter((c) => c.decisive && c.status === 'fail');
}
