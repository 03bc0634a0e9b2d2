/** report.json: every cell with its status, reason, timings and both peers' logs. */
import { KNOWN_FAILURES } from '../known-failures.js';
import type { MatrixResult } from '../matrix.js';
import { summarize } from './summary.js';

export function renderJson(result: MatrixResult): string {
  const knownFailures = KNOWN_FAILURES.map(({ id, server, client, tests, why, link }) => ({ id, server, client, tests, why, link }));
  return `${JSON.stringify({ summary: summarize(result), ...result, knownFailures }, null, 2)}\n`;
}
