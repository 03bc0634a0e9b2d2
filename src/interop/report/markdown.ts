/** report.md: servers as rows, clients as columns, one table per test, as the Echo Test suite publishes it. */
import type { MatrixResult } from '../matrix.js';
import { cellAt, connectMs, failureText, STATUS_MARK, summarize, tablesOf } from './summary.js';

export function renderMarkdown(result: MatrixResult): string {
  const summary = summarize(result);
  const out: string[] = [];
  out.push('# WebRTC Echo Test interop matrix', '');
  out.push(
    `${result.startedAt}, ${(result.durationMs / 1000).toFixed(1)} s. ${summary.cells} cells: ${summary.pass} pass, ${summary.fail} fail, ${summary.knownFailure} known failures, ${summary.unsupported} n/a. ` +
      (summary.decisiveFailures || summary.ourMissing.length
        ? `**${summary.decisiveFailures} failures involve our peers${summary.ourMissing.length ? `; our peers missing: ${summary.ourMissing.join(', ')}` : ''}.**`
        : 'Every cell with one of our peers passed or is a known failure.'),
    '',
  );
  out.push('✅ pass (ms until connected) · ❌ fail · ⚠️ known failure of the other stack (see below) · n/a: the pair cannot run this (see below) · blank: not run', '');

  for (const { network, test, heading } of tablesOf(result)) {
    out.push(`## ${heading}`, '');
    out.push(`| server ＼ client | ${result.clients.join(' | ')} |`);
    out.push(`|---|${result.clients.map(() => ':---:').join('|')}|`);
    for (const server of result.servers) {
      const row = result.clients.map((client) => {
        const cell = cellAt(result, server, client, test, network);
        if (!cell) return '';
        const ms = connectMs(cell);
        return cell.status === 'pass' && ms !== undefined ? `${STATUS_MARK.pass} ${Math.round(ms)}` : STATUS_MARK[cell.status];
      });
      out.push(`| **${server}** | ${row.join(' | ')} |`);
    }
    out.push('');
    const notPassed = result.cells.filter((c) => c.test === test && (c.network ?? 'direct') === network && c.status !== 'pass');
    if (notPassed.length) {
      out.push('| server → client | result | why |', '|---|---|---|');
      for (const cell of notPassed) {
        const why = cell.knownFailure ? `${cell.knownFailure.why}${cell.knownFailure.link ? ` (${cell.knownFailure.link})` : ''}` : failureText(cell);
        const status = { fail: cell.decisive ? '❌ fail' : '❌ fail (foreign pair)', 'known-failure': '⚠️ known failure', unsupported: 'n/a', pass: '' }[cell.status];
        out.push(`| ${cell.server} → ${cell.client} | ${status} | ${escapeCell(why)} |`);
      }
      out.push('');
    }
  }

  out.push('## Peers', '', '| peer | roles | status |', '|---|---|---|');
  for (const peer of result.peers) {
    const status = peer.availability.available ? 'available' : `missing: ${peer.availability.reason}; install: \`${peer.availability.install}\``;
    out.push(`| ${peer.name}${peer.ours ? ' (ours)' : ''} — ${peer.label} | ${peer.roles.join(', ')} | ${escapeCell(status)} |`);
  }
  out.push('');
  return out.join('\n');
}

function escapeCell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ').slice(0, 400);
}
