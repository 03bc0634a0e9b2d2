/**
 * report.json: every cell with its status, runs and pass count, reason, phase timings,
 * sub-checks, the offer and answer of each run, the paths of its evidence files, its rerun
 * command and both peers' logs (those of the run it shows: each run's own are in its files).
 */
import { KNOWN_FAILURES } from '../known-failures.js';
import type { MatrixResult } from '../matrix.js';
import { summarize } from './summary.js';

export function renderJson(result: MatrixResult): string {
  const knownFailures = KNOWN_FAILURES.map(({ id, server, client, tests, why, link }) => ({ id, server, client, tests, why, link }));
  const cells = result.cells.map((cell) => ({ ...cell, runs: (cell.runs ?? []).map(({ logs: _logs, ...run }) => run) }));
  return `${JSON.stringify({ summary: summarize(result), ...result, cells, knownFailures }, null, 2)}\n`;
}
