/**
 * Bring your own stack: foreign peers driven through `webrtc-echo matrix` flags alone (the
 * built CLI, as a library author runs it). pion's server as a command (`{port}`) and as a URL
 * this test started, aiortc's client as a command and our own ./client.sh (shaped like the
 * Echo Test suite's: `client $1`), beside our libdatachannel client; every cell twice
 * (--repeat 2), with its evidence on disk, and one cell rerun by its own command.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { CellResult, MatrixResult } from '../../src/interop/matrix.js';
import { startProcess } from '../../src/interop/process.js';
import { ROOT, runCli } from '../helpers/cli.js';
import { skipUnlessCi } from '../helpers/timeout.js';

const PION_SERVER = 'interop/peers/pion/bin/pion-server';
const PION_CLIENT = 'interop/peers/pion/bin/pion-client';
const AIORTC_CLIENT = 'interop/peers/aiortc/client.py';
const missing = [PION_SERVER, PION_CLIENT, AIORTC_CLIENT].filter((path) => !existsSync(join(ROOT, path)));
const skip = skipUnlessCi(missing.length ? `missing ${missing.join(', ')} (bash interop/setup/all.sh)` : undefined);

type Report = MatrixResult & { summary: { runs: number; runsPassed: number; flaky: number } };

async function readReport(dir: string): Promise<Report> {
  return JSON.parse(await readFile(join(dir, 'report.json'), 'utf8')) as Report;
}

test('foreign peers added with --add-server and --add-client run in the matrix like our own, twice each, with their evidence', { skip, timeout: 240_000 }, async (t) => {
  const out = await mkdtemp(join(tmpdir(), 'webrtc-echo-byo-'));
  t.after(() => rm(out, { recursive: true, force: true }));
  // A server that is already running, as a library author's own would be.
  const running = startProcess(join(ROOT, PION_SERVER), ['--host', '127.0.0.1', '--port', '0'], { cwd: ROOT });
  t.after(() => running.stop());
  const port = Number((await running.waitFor(/^listening (\d+)/m, 10_000))[1]);

  const args = [
    'matrix',
    '--add-server', `pion2=${PION_SERVER} --host {host} --port {port}`,
    '--add-server', `x=http://127.0.0.1:${port}/offer`,
    '--add-client', `aiortc2=/usr/bin/python3 ${AIORTC_CLIENT}`,
    '--add-client', 'sh2=./client.sh',
    '--servers', 'pion2,x',
    '--clients', 'aiortc2,libdatachannel,sh2',
    '--tests', '0',
    '--repeat', '2',
    '--out', out,
  ];
  const run = await runCli(args, 200_000);
  assert.equal(run.code, 0, `the matrix passed:\n${run.stderr}`);
  const report = await readReport(out);
  assert.deepEqual(report.servers, ['pion2', 'x']);
  assert.deepEqual(report.clients, ['libdatachannel', 'aiortc2', 'sh2'], 'ours first, then those added');
  assert.equal(report.cells.length, 6);
  assert.equal(report.repeat, 2);
  assert.deepEqual([report.summary.runs, report.summary.runsPassed], [12, 12]);
  for (const cell of report.cells) {
    const where = `${cell.server} → ${cell.client}`;
    assert.equal(cell.status, 'pass', `${where}: ${cell.reason} ${cell.message}`);
    assert.equal(cell.runs.length, 2, where);
    assert.equal(cell.passed, 2, where);
    assert.deepEqual(cell.runs.map((r) => r.run), [1, 2]);
    for (const r of cell.runs) await checkRunEvidence(out, cell, r);
  }

  // The SDP is the stacks' own: pion's answer (16-letter ufrag, 32-letter password), aiortc's offer (video only, as it runs).
  const pionToAiortc = report.cells.find((c) => c.server === 'pion2' && c.client === 'aiortc2')!;
  assert.match(pionToAiortc.signaling!.answer!, /a=ice-ufrag:[A-Za-z]{16}\r?\n/);
  assert.match(pionToAiortc.signaling!.answer!, /a=ice-pwd:[A-Za-z]{32}\r?\n/);
  assert.match(pionToAiortc.signaling!.offer!, /^m=video /m);
  assert.doesNotMatch(pionToAiortc.signaling!.offer!, /^m=audio /m);
  // aiortc prints its steps (interop/peers/README.md): every phase known, each from its own clock.
  for (const phase of pionToAiortc.phases) assert.ok(phase.atMs !== undefined || phase.name === 'first-echo', `${phase.name}: ${phase.source}`);
  assert.equal(pionToAiortc.phases.find((p) => p.name === 'ice-connected')?.source, 'client');
  // Which build gave the result: our engine's npm package; an added peer's command is in the peer table.
  assert.match(report.cells.find((c) => c.client === 'libdatachannel')!.versions?.client ?? '', /^node-datachannel \d+\.\d+/);
  assert.match(report.peers.find((p) => p.name === 'pion2')!.label, /server `interop\/peers\/pion\/bin\/pion-server --host \{host\} --port \{port\}`/);
  const url = report.cells.find((c) => c.server === 'x')!;
  assert.match(url.logs.server, /already running/);

  // report.html links each run's evidence, and shows the rerun command and the pass rate.
  const html = await readFile(join(out, 'report.html'), 'utf8');
  assert.match(html, /<a href="cells\/direct\.test0\.pion2\.aiortc2\/run-1\/offer\.sdp">offer\.sdp<\/a>/);
  assert.match(html, /<a href="cells\/direct\.test0\.x\.libdatachannel\/run-2\/answer\.sdp">answer\.sdp<\/a>/);
  assert.match(html, /pass 2\/2/);
  assert.match(html, /Rerun this cell/);
  const md = await readFile(join(out, 'report.md'), 'utf8');
  assert.match(md, /\| \*\*pion2\*\* \| ✅ 2\/2 \d+ \| ✅ 2\/2 \d+ \|/);
  assert.match(md, /\| pion2 → aiortc2 \| [\d.]+ \| [\d.]+ \| [\d.]+ \|/, 'what each phase took, to compare stacks');

  // One command reruns one cell, with the same peers: it works as printed, from where it says.
  const rerun = pionToAiortc.rerun!;
  assert.match(rerun.command, /--add-server 'pion2=interop\/peers\/pion\/bin\/pion-server --host \{host\} --port \{port\}'/);
  assert.match(rerun.command, /--add-client 'aiortc2=\/usr\/bin\/python3 interop\/peers\/aiortc\/client\.py'/);
  assert.doesNotMatch(rerun.command, /--add-server x=/, 'only the peers of that cell');
  assert.match(rerun.command, /--servers pion2 --clients aiortc2 --tests 0 --network direct --repeat 1 --out /);
  const again = await runCli(['-c', rerun.command.replace(/^node dist\/cli\.js /, `"${process.execPath}" dist/cli.js `)], 60_000, '/bin/sh', []);
  assert.equal(again.code, 0, again.stderr);
  const rerunReport = await readReport(join(out, 'rerun', pionToAiortc.id));
  assert.deepEqual(rerunReport.cells.map((c) => [c.id, c.status, c.runs.length]), [[pionToAiortc.id, 'pass', 1]]);
});

async function checkRunEvidence(out: string, cell: CellResult, run: CellResult['runs'][number]): Promise<void> {
  const where = `${cell.id} run ${run.run}`;
  const files = run.evidence ?? {};
  for (const key of ['offer', 'answer', 'signaling', 'serverLog', 'clientLog', 'run']) assert.ok(files[key], `${where}: ${key} in ${JSON.stringify(files)}`);
  assert.equal(files.offer, `cells/${cell.id}/run-${run.run}/offer.sdp`);
  const offer = await readFile(join(out, files.offer!), 'utf8');
  const answer = await readFile(join(out, files.answer!), 'utf8');
  assert.match(offer, /^v=0\r?\n/, where);
  assert.match(answer, /^v=0\r?\n[\s\S]*a=setup:active/, where);
  assert.equal(offer, run.signaling?.offer, 'the file is the exchange the proxy saw');
  // The proxy's record: one POST answered 200, and how long the server took.
  const post = run.signaling!.exchanges.find((e) => e.method === 'POST');
  assert.equal(post?.status, 200, where);
  const phase = run.phases.find((p) => p.name === 'post');
  assert.ok(phase?.tookMs !== undefined && phase.tookMs >= 0, `${where}: ${JSON.stringify(phase)}`);
  const dtls = run.phases.find((p) => p.name === 'dtls-connected');
  if (cell.client === 'sh2') {
    // Our CLI without --json prints words, not the contract's `<step>_ms` lines: unknown, and said so.
    assert.equal(dtls?.atMs, undefined);
    assert.match(dtls?.source ?? '', /^unknown: the client reported no connected_ms/);
  } else {
    assert.ok(dtls?.atMs !== undefined, `${where}: DTLS connected is known`);
  }
  const runJson = JSON.parse(await readFile(join(out, files.run!), 'utf8')) as { status: string; checks?: unknown[] };
  assert.equal(runJson.status, 'pass');
  // sh2 (our CLI in words) prints no `check` lines; the others report sub-checks.
  if (cell.client !== 'sh2') assert.ok((runJson.checks ?? []).length > 0, `${where}: the sub-checks are in run.json`);
}

test('--repeat shows a cell that passes some runs as flaky, not as a pass, and a flaky cell with our peer fails the matrix', { skip, timeout: 120_000 }, async (t) => {
  const out = await mkdtemp(join(tmpdir(), 'webrtc-echo-flaky-'));
  t.after(() => rm(out, { recursive: true, force: true }));
  const client = `alternating=sh test/interop/fixtures/alternating-client.sh ${join(out, 'client-runs')}`;
  const run = await runCli(['matrix', '--add-client', client, '--servers', 'libdatachannel', '--clients', 'alternating', '--tests', '0', '--repeat', '2', '--out', out], 100_000);
  assert.equal(run.code, 1, run.stderr);
  assert.match(run.stderr, /FLAKY direct test 0 libdatachannel → alternating \(1\/2 runs passed\): timeout run 1 of this client fails on purpose/);
  assert.match(run.stderr, /rerun: .* matrix --add-client 'alternating=sh test\/interop\/fixtures\/alternating-client\.sh .*' --servers libdatachannel --clients alternating/);
  const report = await readReport(out);
  const [cell] = report.cells;
  assert.equal(cell?.status, 'flaky');
  assert.deepEqual(cell?.runs.map((r) => r.status), ['fail', 'pass']);
  assert.equal(cell?.passed, 1);
  assert.equal(cell?.reason, 'timeout', 'the cell shows the run that failed');
  assert.equal(report.summary.flaky, 1);
  assert.match(await readFile(join(out, 'report.md'), 'utf8'), /\| \*\*libdatachannel\*\* \| 🎲 1\/2 \|/);
  assert.match(await readFile(join(out, 'report.html'), 'utf8'), /<td class="flaky"><details><summary>flaky 1\/2/);
});
