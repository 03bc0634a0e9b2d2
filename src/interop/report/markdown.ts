/** report.md: servers as rows, clients as columns, one table per test, as the Echo Test suite publishes it. */
import { SUB_CHECK_LABELS, SUB_CHECK_NAMES, describeCheck } from '../../client/sub-checks.js';
import { PHASE_LABELS, PHASE_NAMES } from '../evidence/phases.js';
import type { CellResult, MatrixResult } from '../matrix.js';
import { cellAt, connectMs, failedChecks, failureText, passRate, STATUS_MARK, summarize, tablesOf } from './summary.js';

export function renderMarkdown(result: MatrixResult): string {
  const summary = summarize(result);
  const out: string[] = [];
  out.push('# WebRTC Echo Test interop matrix', '');
  out.push(
    `${result.startedAt}, ${(result.durationMs / 1000).toFixed(1)} s. ${summary.cells} cells: ${summary.pass} pass, ${summary.fail} fail, ${summary.flaky ? `${summary.flaky} flaky, ` : ''}${summary.knownFailure} known failures, ${summary.unsupported} n/a. ` +
      ((result.repeat ?? 1) > 1 ? `${result.repeat} runs per cell: ${summary.runsPassed} of ${summary.runs} runs passed. ` : '') +
      (summary.decisiveFailures || summary.ourMissing.length
        ? `**${summary.decisiveFailures} failures involve our peers${summary.ourMissing.length ? `; our peers missing: ${summary.ourMissing.join(', ')}` : ''}.**`
        : 'Every cell with one of our peers passed or is a known failure.'),
    '',
  );
  out.push(
    `✅ pass (ms until connected${(result.repeat ?? 1) > 1 ? ', median of the runs' : ''}) · ❌ fail · 🎲 flaky: some runs passed, some did not (runs passed/runs) · ⚠️ known failure of the other stack (see below) · n/a: the pair cannot run this (see below) · blank: not run. ` +
      'Each cell\'s evidence (offer, answer, phase timings, logs, capture) and the command that reruns it: report.html, report.json and cells/.',
    '',
  );

  for (const { network, test, heading } of tablesOf(result)) {
    out.push(`## ${heading}`, '');
    out.push(`| server ＼ client | ${result.clients.join(' | ')} |`);
    out.push(`|---|${result.clients.map(() => ':---:').join('|')}|`);
    for (const server of result.servers) {
      const row = result.clients.map((client) => {
        const cell = cellAt(result, server, client, test, network);
        if (!cell) return '';
        const ms = connectMs(cell);
        const rate = cell.status === 'unsupported' ? undefined : passRate(cell);
        return [STATUS_MARK[cell.status], rate, cell.status === 'pass' && ms !== undefined ? Math.round(ms) : undefined].filter((p) => p !== undefined).join(' ');
      });
      out.push(`| **${server}** | ${row.join(' | ')} |`);
    }
    out.push('');
    const inTable = result.cells.filter((c) => c.test === test && (c.network ?? 'direct') === network);
    // Cells that did not pass, and passing ones with a failed sub-check (which never changes the verdict).
    const notPassed = inTable.filter((c) => c.status !== 'pass' || failedChecks(c).length > 0);
    if (notPassed.length) {
      out.push('| server → client | result | why | evidence |', '|---|---|---|---|');
      for (const cell of notPassed) {
        const why = cell.knownFailure ? `${cell.knownFailure.why}${cell.knownFailure.link ? ` (${cell.knownFailure.link})` : ''}` : failureText(cell);
        const rate = passRate(cell);
        const status =
          { fail: cell.decisive ? '❌ fail' : '❌ fail (foreign pair)', 'known-failure': '⚠️ known failure', unsupported: 'n/a', pass: '✅ pass', flaky: cell.decisive ? '🎲 flaky' : '🎲 flaky (foreign pair)' }[cell.status] +
          (rate && cell.status !== 'unsupported' ? ` ${rate}` : '');
        const parts = cell.status === 'pass' ? [] : [why];
        const others = failedChecks(cell).filter((c) => c.name !== cell.failedCheck?.name); // the first is in `why` already
        // Each one short: report.html and report.json have them whole.
        if (others.length) parts.push(`sub-check${others.length > 1 ? 's' : ''} failed: ${others.map((c) => clip(describeCheck(c), 160)).join('; ')}`);
        const evidence = cell.evidence ? `[cells/${cell.id}](cells/${cell.id}/)` : '';
        out.push(`| ${cell.server} → ${cell.client} | ${status} | ${escapeCell(parts.join('; '))} | ${evidence} |`);
      }
      out.push('');
    }
    out.push(...subCheckTable(inTable));
    out.push(...subCheckTable(inTable, 'server'));
    out.push(...phaseTable(inTable));
  }

  out.push('## Sub-checks', '', 'What each client saw on the wire, where it can see it: ✅ pass, ❌ fail, n/a the client cannot see it (the reason is in report.json and report.html). They never change a cell\'s verdict; a failed cell names its first failed sub-check.', '');
  out.push('| sub-check | what passes |', '|---|---|');
  for (const name of SUB_CHECK_NAMES) out.push(`| ${name} | ${escapeCell(SUB_CHECK_LABELS[name])} |`);
  out.push('');

  out.push('## Peers', '', '| peer | roles | status |', '|---|---|---|');
  for (const peer of result.peers) {
    const status = peer.availability.available
      ? `available${peer.availability.version ? `: ${peer.availability.version}` : ''}`
      : `missing: ${peer.availability.reason}; install: \`${peer.availability.install}\``;
    out.push(`| ${peer.name}${peer.ours ? ' (ours)' : ''} — ${peer.label} | ${peer.roles.join(', ')} | ${escapeCell(status)} |`);
  }
  out.push('');
  return out.join('\n');
}

/**
 * One row per cell that reported sub-checks, one column per sub-check any of them reported:
 * the client's, or (`side` server) what our server engine said of its own side.
 */
function subCheckTable(cells: CellResult[], side: 'client' | 'server' = 'client'): string[] {
  const of = (cell: CellResult) => (side === 'client' ? cell.checks : cell.serverChecks) ?? [];
  const reporting = cells.filter((c) => of(c).length > 0);
  if (reporting.length === 0) return [];
  const names = SUB_CHECK_NAMES.filter((name) => reporting.some((c) => of(c).some((k) => k.name === name)));
  const mark = { pass: '✅', fail: '❌', 'n/a': 'n/a' } as const;
  const title = side === 'client' ? 'Sub-checks of these cells' : "Server sub-checks of these cells (what the server's own stack says)";
  const out = [`<details><summary>${title}</summary>`, '', `| server → client | ${names.join(' | ')} |`, `|---|${names.map(() => ':---:').join('|')}|`];
  for (const cell of reporting) {
    const row = names.map((name) => {
      const check = of(cell).find((k) => k.name === name);
      return check ? mark[check.status] : '';
    });
    out.push(`| ${cell.server} → ${cell.client} | ${row.join(' | ')} |`);
  }
  out.push('', '</details>', '');
  return out;
}

/**
 * How long each phase took, per cell (the median over its passing runs): where stacks differ.
 * Blank where the client does not say (its phases are unknown).
 */
function phaseTable(cells: CellResult[]): string[] {
  const rows = cells.filter((c) => c.status === 'pass' || c.status === 'flaky').map((cell) => {
    const passing = (cell.runs ?? []).filter((r) => r.status === 'pass');
    const took = PHASE_NAMES.map((name) => median(passing.map((r) => r.phases.find((p) => p.name === name)?.tookMs)));
    return { cell, took };
  });
  if (!rows.some((r) => r.took.some((v) => v !== undefined))) return [];
  const out = [
    '<details><summary>Phase timings of these cells (ms each took, median of the passing runs)</summary>',
    '',
    `| server → client | ${PHASE_NAMES.map((n) => PHASE_LABELS[n]).join(' | ')} |`,
    `|---|${PHASE_NAMES.map(() => '---:').join('|')}|`,
  ];
  for (const { cell, took } of rows) out.push(`| ${cell.server} → ${cell.client} | ${took.map((v) => (v === undefined ? '' : String(Math.round(v * 10) / 10))).join(' | ')} |`);
  out.push('', 'POST: the server\'s time to answer (the signaling proxy). ICE: from the answer to ICE connected; DTLS: from ICE to DTLS connected; first echo: from DTLS connected, by the client\'s clock.', '', '</details>', '');
  return out;
}

function median(values: (number | undefined)[]): number | undefined {
  const known = values.filter((v): v is number => v !== undefined).sort((a, b) => a - b);
  return known.length ? known[Math.floor((known.length - 1) / 2)] : undefined;
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

function escapeCell(text: string): string {
  return clip(text.replace(/\|/g, '\\|').replace(/\n/g, ' '), 900);
}
