/**
 * report.html: one self-contained file (no scripts, no external assets). A coloured grid per
 * test; each cell is a <details> that opens its reason, timings, and the logs of both peers.
 */
import { SUB_CHECK_LABELS, SUB_CHECK_NAMES, type SubCheck } from '../../client/sub-checks.js';
import type { CellResult, MatrixResult, RunResult } from '../matrix.js';
import { PHASE_LABELS, type Phase } from '../evidence/phases.js';
import { cellAt, connectMs, failedChecks, failureText, passRate, summarize, tablesOf } from './summary.js';

const STYLE = `
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5rem; color: #1d1d1f; }
h1 { font-size: 1.4rem; } h2 { font-size: 1.1rem; margin-top: 2rem; }
table.grid { border-collapse: collapse; }
table.grid th, table.grid td { border: 1px solid #ccc; padding: 0; vertical-align: top; }
table.grid th { background: #f3f3f5; padding: .35rem .6rem; text-align: left; }
td.pass { background: #d9f5dd; } td.fail { background: #fbd5d5; } td.known-failure { background: #fff1c2; }
td.none { background: #f7f7f7; } td.unsupported { background: #ececec; color: #555; }
td.fail.foreign { background: #f3e3e3; } td.flaky { background: #ffd9a8; } td.flaky.foreign { background: #f6e6d2; }
details > summary { cursor: pointer; padding: .35rem .6rem; list-style: none; white-space: nowrap; }
details[open] { position: relative; }
details[open] > div { position: absolute; z-index: 2; left: 0; top: 100%; width: min(90vw, 60rem); background: #fff;
  border: 1px solid #999; box-shadow: 0 4px 16px rgba(0,0,0,.2); padding: .6rem .8rem; }
pre { background: #f6f6f6; padding: .5rem; max-height: 22rem; overflow: auto; font-size: 12px; white-space: pre-wrap; word-break: break-all; }
table.kv td { border: none; padding: 0 .8rem 0 0; }
.muted { color: #666; }
.marks { display: block; margin-top: .15rem; line-height: 0; }
.mark { display: inline-block; width: .55rem; height: .55rem; margin-right: 2px; border: 1px solid rgba(0,0,0,.25); }
.mark.pass { background: #2e9e44; } .mark.fail { background: #d22; } .mark.na { background: #fff; }
table.checks { border-collapse: collapse; margin: .4rem 0; } table.checks td { border-top: 1px solid #ddd; padding: .15rem .6rem .15rem 0; vertical-align: top; }
td.check-pass { color: #1b7a30; } td.check-fail { color: #b00; font-weight: 600; } td.check-na { color: #666; }
`;

export function renderHtml(result: MatrixResult): string {
  const summary = summarize(result);
  const parts: string[] = [];
  parts.push(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>WebRTC Echo Test interop matrix</title><style>${STYLE}</style></head><body>`);
  parts.push('<h1>WebRTC Echo Test interop matrix</h1>');
  parts.push(
    `<p>${esc(result.startedAt)}, ${(result.durationMs / 1000).toFixed(1)} s. ${summary.cells} cells: ${summary.pass} pass, ${summary.fail} fail, ${summary.flaky ? `${summary.flaky} flaky, ` : ''}${summary.knownFailure} known failures, ${summary.unsupported} n/a; ` +
      `${(result.repeat ?? 1) > 1 ? `${result.repeat} runs per cell, ${summary.runsPassed} of ${summary.runs} runs passed; ` : ''}` +
      `<strong>${summary.decisiveFailures}</strong> failures involve our peers.${summary.ourMissing.length ? ` Our peers missing: <strong>${esc(summary.ourMissing.join(', '))}</strong>.` : ''}</p>`,
  );
  parts.push(
    '<p class="muted">Servers are rows, clients columns. Green: pass (ms until connected, the median of the runs that passed); red: fail (pale red: between two foreign peers); orange: flaky, some runs passed and some did not (runs passed / runs); yellow: known failure of the other stack; grey n/a: the pair cannot run this test or network (the client exited 127, or the network needs what one peer lacks). ' +
      'The small squares under a cell are its sub-checks, in the order of the table at the end (green pass, red fail, white n/a: the client could not see it); they never change the verdict, and a failed cell names its first failed one. Click a cell for its sub-checks, phase timings, logs, its evidence files (offer, answer, logs, capture) and the command that reruns it.</p>',
  );
  for (const { network, test, heading } of tablesOf(result)) {
    parts.push(`<h2>${esc(heading)}</h2><table class="grid"><tr><th>server ＼ client</th>`);
    for (const client of result.clients) parts.push(`<th>${esc(client)}</th>`);
    parts.push('</tr>');
    for (const server of result.servers) {
      parts.push(`<tr><th>${esc(server)}</th>`);
      for (const client of result.clients) {
        const cell = cellAt(result, server, client, test, network);
        parts.push(cell ? renderCell(cell) : '<td class="none"></td>');
      }
      parts.push('</tr>');
    }
    parts.push('</table>');
  }
  parts.push('<h2>Peers</h2><table class="grid"><tr><th>peer</th><th>roles</th><th>status</th></tr>');
  for (const peer of result.peers) {
    const status = peer.availability.available ? `available${peer.availability.version ? `: ${esc(peer.availability.version)}` : ''}` : `missing: ${esc(peer.availability.reason)} — install: <code>${esc(peer.availability.install)}</code>`;
    parts.push(
      `<tr><th>${esc(peer.name)}${peer.ours ? ' (ours)' : ''}<br><span class="muted" style="font-weight:normal">${esc(peer.label)}</span></th><td style="padding:.35rem .6rem">${esc(peer.roles.join(', '))}</td><td style="padding:.35rem .6rem">${status}</td></tr>`,
    );
  }
  parts.push('</table>');
  parts.push('<h2>Sub-checks</h2><p class="muted">What each client reports where it can see it (see interop/peers/README.md for who measures what).</p><table class="grid"><tr><th>sub-check</th><th>what passes</th></tr>');
  for (const name of SUB_CHECK_NAMES) parts.push(`<tr><th>${esc(name)}</th><td style="padding:.35rem .6rem">${esc(SUB_CHECK_LABELS[name])}</td></tr>`);
  parts.push('</table></body></html>\n');
  return parts.join('');
}

function statusClass(check: SubCheck): string {
  return check.status === 'n/a' ? 'na' : check.status;
}

function renderChecks(checks: readonly SubCheck[], title = 'Sub-checks', none = 'No sub-checks reported by this client.'): string {
  if (checks.length === 0) return none ? `<p class="muted">${esc(none)}</p>` : '';
  const rows = checks.map((c) => `<tr><td>${esc(c.name)}</td><td class="check-${statusClass(c)}">${esc(c.status)}</td><td>${esc(c.detail)}</td></tr>`);
  return `<p>${esc(title)}</p><table class="checks">${rows.join('')}</table>`;
}

function renderCell(cell: CellResult): string {
  const ms = connectMs(cell);
  // Words, not emoji: a machine without an emoji font still shows what each cell is.
  const broken = failedChecks(cell).length;
  const rate = passRate(cell);
  const label =
    { pass: 'pass', fail: 'FAIL', 'known-failure': 'known failure', unsupported: 'n/a', flaky: 'flaky' }[cell.status] +
    (rate && cell.status !== 'unsupported' ? ` ${rate}` : '') +
    (cell.status === 'pass' && ms !== undefined ? ` ${Math.round(ms)} ms` : '') +
    (broken > 0 && cell.status !== 'fail' ? `, ${broken} check${broken > 1 ? 's' : ''} failed` : '');
  const marks = (cell.checks ?? []).map((c) => `<span class="mark ${statusClass(c)}" title="${esc(`${c.name}: ${c.status}: ${c.detail}`)}"></span>`).join('');
  const classes = [cell.status, (cell.status === 'fail' || cell.status === 'flaky') && !cell.decisive ? 'foreign' : ''].filter(Boolean).join(' ');
  const body: string[] = [];
  body.push(`<p><strong>${esc(cell.server)}</strong> server → <strong>${esc(cell.client)}</strong> client, test ${cell.test}, network ${esc(cell.network ?? 'direct')}, port ${cell.port}: <strong>${esc(cell.status)}</strong></p>`);
  const versions = [cell.versions?.server && `server ${cell.versions.server}`, cell.versions?.client && `client ${cell.versions.client}`].filter(Boolean);
  if (versions.length) body.push(`<p class="muted">${esc(versions.join('; '))}</p>`);
  const runs = cell.runs ?? [];
  if (runs.length > 1) body.push(`<p>${cell.passed} of ${runs.length} runs passed${cell.status === 'flaky' ? ': <strong>flaky</strong>' : ''}.${cell.status !== 'pass' ? ` Below: run ${shownRun(cell)}, the first that did not pass.` : ' Below: run 1.'}</p>`);
  if (cell.status !== 'pass') body.push(`<p>${esc(failureText(cell))}</p>`);
  if (cell.status === 'unsupported') body.push('<p class="muted">n/a is not a failure: this pair cannot run this test or network, so nothing was checked.</p>');
  body.push(renderChecks(cell.checks ?? []));
  // Where our server engine says what its own stack saw (EchoPeer.transportFacts).
  body.push(renderChecks(cell.serverChecks ?? [], "Server sub-checks (what the server's own stack says)", ''));
  if (cell.knownFailure) {
    const link = cell.knownFailure.link ? ` <a href="${esc(cell.knownFailure.link)}">${esc(cell.knownFailure.link)}</a>` : '';
    body.push(`<p>Known failure <code>${esc(cell.knownFailure.id)}</code>: ${esc(cell.knownFailure.why)}.${link}</p>`);
  }
  const timings: [string, number | undefined][] = [
    ['server start', cell.timings.serverStartMs],
    ...Object.entries(cell.timings.client).map(([step, value]): [string, number] => [`client ${step}`, value]),
    ['whole cell', cell.timings.cellMs],
  ];
  body.push(renderPhases(cell.phases ?? []));
  body.push('<details class="raw"><summary class="muted">every timing</summary><table class="kv">');
  for (const [name, value] of timings) if (value !== undefined) body.push(`<tr><td>${esc(name)}</td><td>${value} ms</td></tr>`);
  body.push('</table></details>');
  body.push(renderEvidence(cell));
  if (runs.length > 1) body.push(renderRuns(runs));
  if (cell.details !== undefined) body.push(`<p>Client details</p><pre>${esc(JSON.stringify(cell.details, null, 2))}</pre>`);
  body.push(`<p>Server log (${esc(cell.server)})</p><pre>${esc(cell.logs.server || '(none)')}</pre>`);
  body.push(`<p>Client log (${esc(cell.client)})</p><pre>${esc(cell.logs.client || '(none)')}</pre>`);
  const summary = `${esc(label)}${marks ? `<span class="marks">${marks}</span>` : ''}`;
  return `<td class="${classes}"><details><summary>${summary}</summary><div>${body.join('')}</div></details></td>`;
}

/** The run whose details a cell shows: the first that did not pass, else the first. */
function shownRun(cell: CellResult): number {
  const runs = cell.runs ?? [];
  return (runs.find((r) => r.status === 'fail') ?? runs.find((r) => r.status !== 'pass' && r.status !== 'unsupported') ?? runs[0])?.run ?? 1;
}

function renderPhases(phases: readonly Phase[]): string {
  if (phases.length === 0) return '';
  const ms = (value: number | undefined) => (value === undefined ? '' : `${value} ms`);
  const rows = phases.map((p) => `<tr><td>${esc(PHASE_LABELS[p.name])}</td><td>${ms(p.atMs)}</td><td>${ms(p.tookMs)}</td><td class="muted">${esc(p.source)}</td></tr>`);
  return `<p>Phases (ms since the client started; took: since the phase before, or the HTTP exchange for the POST)</p><table class="checks"><tr><td></td><td>at</td><td>took</td><td>source</td></tr>${rows.join('')}</table>`;
}

const EVIDENCE_LABELS: Record<string, string> = {
  offer: 'offer.sdp',
  answer: 'answer.sdp',
  signaling: 'HTTP exchange',
  serverLog: 'server log',
  clientLog: 'client log',
  capture: 'capture.pcapng',
  keys: 'keys.log',
  run: 'run.json',
};

function evidenceLinks(files: Record<string, string> | undefined): string {
  return Object.entries(files ?? {})
    .map(([key, path]) => `<a href="${esc(path)}">${esc(EVIDENCE_LABELS[key] ?? key)}</a>`)
    .join(' · ');
}

function renderEvidence(cell: CellResult): string {
  const parts: string[] = [];
  if (cell.evidence) parts.push(`<p>Evidence: ${evidenceLinks(cell.evidence)} · <a href="cells/${esc(cell.id)}/">all runs</a></p>`);
  if (cell.signaling?.note) parts.push(`<p class="muted">Signaling: ${esc(cell.signaling.note)}</p>`);
  const capture = cell.capture;
  if (capture) {
    const keys = capture.keys ? ` Keys: ${esc(capture.keys.server.note)}; ${esc(capture.keys.client.note)}.` : '';
    const decrypted = capture.decrypted ? ` ${capture.decrypted.ok ? 'Decrypts' : 'Does not decrypt'}: ${esc(capture.decrypted.detail)}.` : '';
    const file = capture.file ? `Capture: ${capture.packets ?? '?'} packets.` : 'No capture.';
    parts.push(`<p>${file}${keys}${decrypted}${capture.note ? ` <span class="muted">${esc(capture.note)}</span>` : ''}</p>`);
  }
  if (cell.rerun) parts.push(`<p>Rerun this cell (from <code>${esc(cell.rerun.cwd)}</code>):</p><pre>${esc(cell.rerun.command)}</pre>`);
  return parts.join('');
}

function renderRuns(runs: readonly RunResult[]): string {
  const at = (run: RunResult, name: Phase['name']) => run.phases.find((p) => p.name === name)?.atMs ?? '';
  const rows = runs.map((run) => {
    const why = run.status === 'pass' ? '' : [run.reason, run.message].filter(Boolean).join(': ');
    return `<tr><td>${run.run}</td><td class="check-${run.status === 'pass' ? 'pass' : run.status === 'unsupported' ? 'na' : 'fail'}">${esc(run.status)}</td><td>${at(run, 'post')}</td><td>${at(run, 'ice-connected')}</td><td>${at(run, 'dtls-connected')}</td><td>${at(run, 'first-echo')}</td><td>${esc(why.slice(0, 200))}</td><td>${evidenceLinks(run.evidence)}</td></tr>`;
  });
  return `<p>Runs (ms since the client started)</p><table class="checks"><tr><td>run</td><td></td><td>POST</td><td>ICE</td><td>DTLS</td><td>echo</td><td>why</td><td>evidence</td></tr>${rows.join('')}</table>`;
}

function esc(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}
