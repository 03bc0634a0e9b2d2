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
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { runOnce, type RunOptions, type RunResult, type RunStatus } from './cell-run.js';
import type { Availability, InteropPeer, TestType } from './peer.js';
import { TEST_TYPES } from './peer.js';
import { NETWORKS, namespacesUnavailable, type NetworkName } from '../net/namespaces.js';

export type { RunResult, RunStatus } from './cell-run.js';

/** A cell's verdict over its runs: `flaky` when some passed and some did not. */
export type CellStatus = RunStatus | 'flaky';

/**
 * One server × client × test × network. With --repeat it holds every run; the fields it shares
 * with a run are those of its first run that did not pass (the one that says why), else its first.
 */
export interface CellResult extends Omit<RunResult, 'run' | 'status'> {
  /** `<network>.test<N>.<server>.<client>`: the cell's folder under cells/ in the report directory. */
  id: string;
  server: string;
  client: string;
  test: TestType;
  network: NetworkName;
  status: CellStatus;
  /** True when one of our peers is in the cell: its failure fails the run. */
  decisive: boolean;
  runs: RunResult[];
  /** Runs that passed. */
  passed: number;
  /** One command that runs this cell again, with the same peers and options. */
  rerun?: { command: string; cwd: string };
  /** The stacks' versions, where they can be told (Debian's or npm's package version). */
  versions?: { server?: string; client?: string };
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
  /** Runs per cell. Default 1. */
  repeat?: number;
  /** A pcapng of every run with the DTLS keys (needs root, dumpcap, and `reportDir`). */
  capture?: boolean;
  /** The report directory: each run's evidence goes to cells/<cell id>/run-<n>/ in it (an earlier run's cell folders are removed first). */
  reportDir?: string;
  /** The command that reruns one cell (the CLI knows how it was started and what was added). */
  rerunCommand?: (cell: CellKey) => { command: string; cwd: string };
  /** Each peer's version, by name (runMatrix fills it from the peers' detection). */
  versions?: Record<string, string | undefined>;
  onProgress?: (event: ProgressEvent) => void;
}

export interface CellKey {
  server: string;
  client: string;
  test: TestType;
  network: NetworkName;
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
  /** Runs per cell asked for. */
  repeat: number;
  capture: boolean;
  servers: string[];
  clients: string[];
  peers: PeerAvailability[];
  cells: CellResult[];
  /** Our own peers that should have been in the matrix but could not run. */
  ourMissing: string[];
}

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
  const versions = Object.fromEntries(availability.map((p) => [p.name, p.availability.available ? p.availability.version : undefined]));
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

  // Evidence of an earlier run in the same directory would be mistaken for this one's.
  if (options.reportDir) await removeOldEvidence(join(options.reportDir, CELLS_DIR));
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
      const cell = await runCell(server, client, test, network, { ...options, versions }, `${process.pid % 1000}x${index}`);
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
    repeat: Math.max(1, options.repeat ?? 1),
    capture: options.capture === true,
    servers: servers.map((p) => p.name),
    clients: clients.map((p) => p.name),
    peers: availability,
    cells,
    ourMissing,
  };
}

/** The folder under the report directory that holds every cell's evidence. */
export const CELLS_DIR = 'cells';

export function cellId({ server, client, test, network }: CellKey): string {
  return `${network}.test${test}.${server}.${client}`;
}

/** Removes the cell folders of an earlier run (named as cellId names them), and nothing else a user may keep there. */
async function removeOldEvidence(dir: string): Promise<void> {
  const entries = await readdir(dir).catch(() => [] as string[]);
  const ours = new RegExp(`^(${NETWORKS.join('|')})\\.test\\d+\\.[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+$`);
  await Promise.all(entries.filter((name) => ours.test(name)).map((name) => rm(join(dir, name), { recursive: true, force: true })));
}

/**
 * One cell, `repeat` times (a fresh server and network each run). A run the client cannot
 * do at all (n/a) is not repeated. `tag` names the runs' namespaces. Never throws.
 */
export async function runCell(
  server: InteropPeer,
  client: InteropPeer,
  test: TestType,
  network: NetworkName,
  options: Pick<MatrixOptions, 'root' | 'timeoutMs' | 'repeat' | 'capture' | 'reportDir' | 'rerunCommand' | 'versions'>,
  tag: string,
): Promise<CellResult> {
  const key: CellKey = { server: server.name, client: client.name, test, network };
  const id = cellId(key);
  const repeat = Math.max(1, options.repeat ?? 1);
  const runs: RunResult[] = [];
  for (let run = 1; run <= repeat; run++) {
    const runOptions: RunOptions = {
      root: options.root,
      timeoutMs: options.timeoutMs,
      capture: options.capture,
      evidence: options.reportDir ? { reportDir: options.reportDir, runDir: join(options.reportDir, CELLS_DIR, id, `run-${run}`) } : undefined,
    };
    const result = await runOnce(server, client, test, network, run, runOptions, repeat > 1 ? `${tag}r${run}` : tag);
    runs.push(result);
    if (result.status === 'unsupported') break;
  }
  const status = cellStatus(runs);
  // The run that says why the cell is not a pass, where there is one.
  const shown = runs.find((r) => r.status === 'fail') ?? runs.find((r) => r.status !== 'pass' && r.status !== 'unsupported') ?? runs[0]!;
  const { run: _run, status: _status, ...fields } = shown;
  const cell: CellResult = {
    ...fields,
    id,
    ...key,
    status,
    decisive: (server.ours || client.ours) && status !== 'unsupported',
    runs,
    passed: runs.filter((r) => r.status === 'pass').length,
    rerun: options.rerunCommand?.(key),
    ...(options.versions ? { versions: { server: options.versions[server.name], client: options.versions[client.name] } } : {}),
  };
  if (options.reportDir) await writeCellJson(cell, options.reportDir);
  return cell;
}

/** Every run the same: that status. Passes mixed with anything else: flaky. Otherwise a plain failure outweighs a known one. */
export function cellStatus(runs: readonly RunResult[]): CellStatus {
  const statuses = new Set(runs.map((r) => r.status));
  if (statuses.size === 1) return runs[0]!.status;
  if (statuses.has('pass')) return 'flaky';
  return statuses.has('fail') ? 'fail' : statuses.has('known-failure') ? 'known-failure' : 'unsupported';
}

async function writeCellJson(cell: CellResult, reportDir: string): Promise<void> {
  const dir = join(reportDir, CELLS_DIR, cell.id);
  await mkdir(dir, { recursive: true });
  const { logs: _logs, runs, ...rest } = cell;
  await writeFile(join(dir, 'cell.json'), `${JSON.stringify({ ...rest, runs: runs.map(({ logs: _l, ...run }) => run) }, null, 2)}\n`);
}

/** The cells that fail the run: a failure (not a known one) or a flaky cell, with one of our peers in it. */
export function decisiveFailures(result: MatrixResult): CellResult[] {
  return result.cells.filter((c) => c.decisive && (c.status === 'fail' || c.status === 'flaky'));
}
