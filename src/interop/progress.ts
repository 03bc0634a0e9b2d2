/** The matrix's progress on stderr: one line per finished cell, with a running count. */
import type { ProgressEvent } from './matrix.js';
import { failureText, passRate } from './report/summary.js';

export function stderrProgress(write: (text: string) => void = (t) => process.stderr.write(t)): (event: ProgressEvent) => void {
  const started = Date.now();
  return (event) => {
    if (event.type === 'start') write(`matrix: ${event.total} cells\n`);
    if (event.type !== 'cell-done') return;
    const { cell } = event;
    const mark = { pass: 'PASS', 'known-failure': 'KNOWN', unsupported: 'n/a', fail: cell.decisive ? 'FAIL' : 'fail', flaky: cell.decisive ? 'FLAKY' : 'flaky' }[cell.status];
    const rate = passRate(cell);
    const why = cell.status === 'pass' ? '' : `  ${failureText(cell).slice(0, 160)}`;
    const elapsed = ((Date.now() - started) / 1000).toFixed(0);
    write(
      `[${String(event.done).padStart(String(event.total).length)}/${event.total} ${elapsed.padStart(4)} s] ${cell.network === 'direct' ? '' : `${cell.network} `}test ${cell.test} ${cell.server.padStart(14)} → ${cell.client.padEnd(14)} ${mark.padEnd(5)}${rate ? ` ${rate}` : ''} ${(cell.timings.cellMs / 1000).toFixed(1).padStart(5)} s${why}\n`,
    );
  };
}
