/** Shared by the reports: counts, cell lookup, and the one-word look of a cell. */
import { describeCheck, type SubCheck } from '../../client/sub-checks.js';
import type { CellResult, MatrixResult } from '../matrix.js';
import { NETWORK_LABELS, type NetworkName } from '../../net/namespaces.js';
import { TEST_NAMES, type TestType } from '../peer.js';

export interface MatrixSummary {
  cells: number;
  pass: number;
  fail: number;
  knownFailure: number;
  /** Cells whose runs (--repeat) did not all agree: some passed, some did not. */
  flaky: number;
  /** Pairs that cannot run a test or a network: n/a, not failures. */
  unsupported: number;
  /** Failures (and flaky cells) with one of our peers in them: these fail the run. */
  decisiveFailures: number;
  /** Runs over every cell, and those that passed. */
  runs: number;
  runsPassed: number;
  ourMissing: string[];
}

export function summarize(result: MatrixResult): MatrixSummary {
  const count = (status: CellResult['status']) => result.cells.filter((c) => c.status === status).length;
  return {
    cells: result.cells.length,
    pass: count('pass'),
    fail: count('fail'),
    knownFailure: count('known-failure'),
    flaky: count('flaky'),
    unsupported: count('unsupported'),
    decisiveFailures: result.cells.filter((c) => c.decisive && (c.status === 'fail' || c.status === 'flaky')).length,
    runs: result.cells.reduce((n, c) => n + (c.runs?.length ?? 1), 0),
    runsPassed: result.cells.reduce((n, c) => n + (c.passed ?? (c.status === 'pass' ? 1 : 0)), 0),
    ourMissing: result.ourMissing,
  };
}

export function cellAt(result: MatrixResult, server: string, client: string, test: TestType, network: NetworkName = 'direct'): CellResult | undefined {
  return result.cells.find((c) => c.server === server && c.client === client && c.test === test && (c.network ?? 'direct') === network);
}

export const STATUS_MARK: Record<CellResult['status'], string> = { pass: '✅', fail: '❌', 'known-failure': '⚠️', unsupported: 'n/a', flaky: '🎲' };

/** `2/3` (runs passed of runs) where a cell ran more than once, else nothing. */
export function passRate(cell: CellResult): string | undefined {
  const runs = cell.runs?.length ?? 1;
  return runs > 1 ? `${cell.passed}/${runs}` : undefined;
}

/** The (network, test) tables of a report, in order; a network heading only when there is more than loopback. */
export function tablesOf(result: MatrixResult): Array<{ network: NetworkName; test: TestType; heading: string }> {
  const networks = result.networks ?? ['direct'];
  const named = networks.length > 1 || networks[0] !== 'direct';
  return networks.flatMap((network) =>
    result.tests.map((test) => ({ network, test, heading: `Test ${test}: ${TEST_NAMES[test]}${named ? ` — network ${network}: ${NETWORK_LABELS[network]}` : ''}` })),
  );
}

/** The time a cell's client took to connect, where it reports it: the median over the runs that passed, with --repeat. */
export function connectMs(cell: CellResult): number | undefined {
  const passing = (cell.runs ?? []).filter((r) => r.status === 'pass');
  if (passing.length === 0) return connectMsOf(cell.timings.client);
  const values = passing.map((r) => connectMsOf(r.timings.client)).filter((v): v is number => v !== undefined).sort((a, b) => a - b);
  return values.length ? values[Math.floor((values.length - 1) / 2)] : undefined;
}

function connectMsOf(client: Record<string, number>): number | undefined {
  return client.connected ?? client.iceConnected;
}

/** Why a cell did not pass: the first failed sub-check where there is one, then the client's own reason. */
export function failureText(cell: CellResult): string {
  const reason = [cell.reason, cell.message].filter(Boolean).join(': ') || 'failed';
  return cell.failedCheck ? `${describeCheck(cell.failedCheck)} (${reason})` : reason;
}

/** The sub-checks of a cell that failed (a passing cell can have some: they never change the verdict). */
export function failedChecks(cell: CellResult): SubCheck[] {
  return (cell.checks ?? []).filter((c) => c.status === 'fail');
}
