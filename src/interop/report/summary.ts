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
  /** Pairs that cannot run a test or a network: n/a, not failures. */
  unsupported: number;
  /** Failures with one of our peers in them: these fail the run. */
  decisiveFailures: number;
  ourMissing: string[];
}

export function summarize(result: MatrixResult): MatrixSummary {
  const count = (status: CellResult['status']) => result.cells.filter((c) => c.status === status).length;
  return {
    cells: result.cells.length,
    pass: count('pass'),
    fail: count('fail'),
    knownFailure: count('known-failure'),
    unsupported: count('unsupported'),
    decisiveFailures: result.cells.filter((c) => c.decisive && c.status === 'fail').length,
    ourMissing: result.ourMissing,
  };
}

export function cellAt(result: MatrixResult, server: string, client: string, test: TestType, network: NetworkName = 'direct'): CellResult | undefined {
  return result.cells.find((c) => c.server === server && c.client === client && c.test === test && (c.network ?? 'direct') === network);
}

export const STATUS_MARK: Record<CellResult['status'], string> = { pass: '✅', fail: '❌', 'known-failure': '⚠️', unsupported: 'n/a' };

/** The (network, test) tables of a report, in order; a network heading only when there is more than loopback. */
export function tablesOf(result: MatrixResult): Array<{ network: NetworkName; test: TestType; heading: string }> {
  const networks = result.networks ?? ['direct'];
  const named = networks.length > 1 || networks[0] !== 'direct';
  return networks.flatMap((network) =>
    result.tests.map((test) => ({ network, test, heading: `Test ${test}: ${TEST_NAMES[test]}${named ? ` — network ${network}: ${NETWORK_LABELS[network]}` : ''}` })),
  );
}

/** The time a cell's client took to connect (or its wall time, for clients that report no steps). */
export function connectMs(cell: CellResult): number | undefined {
  return cell.timings.client.connected ?? cell.timings.client.iceConnected;
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
