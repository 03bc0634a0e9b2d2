/** The three reports render a matrix as the Echo Test suite publishes it: servers as rows, clients as columns, a table per test. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KNOWN_FAILURES } from '../../src/interop/known-failures.js';
import type { CellResult, MatrixResult } from '../../src/interop/matrix.js';
import { renderHtml } from '../../src/interop/report/html.js';
import { renderJson } from '../../src/interop/report/json.js';
import { renderMarkdown } from '../../src/interop/report/markdown.js';

function cell(server: string, client: string, test: 0 | 1, status: CellResult['status'], extra: Partial<CellResult> = {}): CellResult {
  const timings = { serverStartMs: 300, client: { connected: 42, exited: 900 }, cellMs: 1200 };
  return {
    id: `direct.test${test}.${server}.${client}`,
    server,
    client,
    test,
    network: 'direct',
    status,
    decisive: server === 'ours' || client === 'ours',
    timings,
    phases: [],
    runs: [{ run: 1, status: status === 'flaky' ? 'fail' : status, timings, phases: [], port: 40000, logs: { server: '', client: '' } }],
    passed: status === 'pass' ? 1 : 0,
    port: 40000,
    logs: { server: `server log of ${server} <b>`, client: `client log of ${client}` },
    ...extra,
  };
}

const result: MatrixResult = {
  startedAt: '2026-01-01T00:00:00.000Z',
  durationMs: 5000,
  tests: [0, 1],
  networks: ['direct'],
  repeat: 1,
  capture: false,
  servers: ['ours', 'pion'],
  clients: ['ours', 'pion', 'chromium'],
  peers: [
    { name: 'ours', label: 'webrtc-echo', ours: true, roles: ['server', 'client'], availability: { available: true } },
    { name: 'gstreamer', label: 'GStreamer', ours: false, roles: ['server', 'client'], availability: { available: false, reason: 'python3-gst-1.0 missing', install: 'bash interop/setup/gstreamer.sh' } },
  ],
  cells: [
    cell('ours', 'ours', 0, 'pass'),
    cell('ours', 'pion', 0, 'fail', { reason: 'timeout', message: 'no RTP | echoed' }),
    cell('pion', 'ours', 1, 'known-failure', { reason: 'timeout', knownFailure: { id: 'k', why: 'pion rejects zero checksum', link: 'https://github.com/pion/webrtc/issues/2618' } }),
    cell('pion', 'chromium', 1, 'fail', { decisive: false, reason: 'x' }),
  ],
  ourMissing: [],
};

test('report.md has one table per test, servers as rows and clients as columns, and explains each failure', () => {
  const md = renderMarkdown(result);
  assert.match(md, /## Test 0:/);
  assert.match(md, /## Test 1:/);
  assert.match(md, /\| server ＼ client \| ours \| pion \| chromium \|/);
  assert.match(md, /\| \*\*ours\*\* \| ✅ 42 \| ❌ \|  \|/);
  assert.match(md, /ours → pion \| ❌ fail \| timeout: no RTP \\\| echoed/);
  assert.match(md, /pion → ours \| ⚠️ known failure \| pion rejects zero checksum/);
  assert.match(md, /pion → chromium \| ❌ fail \(foreign pair\)/);
  assert.match(md, /missing: python3-gst-1.0 missing; install: `bash interop\/setup\/gstreamer.sh`/);
});

test('report.html is self-contained, colours each cell and opens its timings and both logs', () => {
  const html = renderHtml(result);
  assert.doesNotMatch(html, /<script|<link|src=/, 'no scripts or external assets');
  assert.match(html, /<td class="pass"><details><summary>pass 42 ms<\/summary>/);
  assert.match(html, /<td class="known-failure">/);
  assert.match(html, /<td class="fail foreign">/);
  assert.match(html, /server log of ours &lt;b&gt;/, 'logs are escaped');
  assert.match(html, /client log of pion/);
  assert.match(html, /whole cell<\/td><td>1200 ms/);
});

test('report.json carries every cell, a summary and the table of known failures', () => {
  const json = JSON.parse(renderJson(result)) as { summary: Record<string, number>; cells: CellResult[]; knownFailures: unknown[] };
  assert.equal(json.cells.length, 4);
  assert.equal(json.summary.pass, 1);
  assert.equal(json.summary.knownFailure, 1);
  assert.equal(json.summary.decisiveFailures, 1, 'the foreign pair does not count');
  assert.equal(json.knownFailures.length, KNOWN_FAILURES.length, 'the whole table (empty today)');
});

/** A matrix whose cells carry sub-checks: a failure that names its first failed one, a pass with one failed, an n/a cell. */
const withChecks: MatrixResult = {
  ...result,
  tests: [0, 1],
  servers: ['ours', 'pion'],
  clients: ['ours', 'pion'],
  cells: [
    cell('ours', 'ours', 0, 'pass', {
      checks: [
        { name: 'dtls-role', status: 'pass', detail: 'we are the DTLS client' },
        { name: 'srtp-profile', status: 'n/a', detail: 'node-datachannel 0.33 exposes no SRTP profile' },
        { name: 'nack', status: 'pass', detail: 'packet 7 came back <fast>' },
      ],
    }),
    cell('pion', 'ours', 0, 'fail', {
      reason: 'timeout',
      message: 'timed out after 15000 ms waiting for the connection',
      checks: [
        { name: 'dtls-role', status: 'fail', detail: 'both sides active: two DTLS clients (offer active, answer active)' },
        { name: 'pli-keyframe', status: 'fail', detail: 'no keyframe within 500 ms' },
      ],
      failedCheck: { name: 'dtls-role', status: 'fail', detail: 'both sides active: two DTLS clients (offer active, answer active)' },
    }),
    cell('pion', 'ours', 1, 'pass', {
      checks: [
        { name: 'dtls-role', status: 'pass', detail: 'ok' },
        { name: 'max-message-size', status: 'fail', detail: 'a 65536-byte binary message did not come back within 3000 ms' },
      ],
    }),
    cell('ours', 'pion', 1, 'unsupported', { decisive: false, reason: 'unsupported', message: 'this pion build has no SCTP: no data channels' }),
  ],
};

test('a failed cell names its first failed sub-check before the client reason, in both reports', () => {
  const md = renderMarkdown(withChecks);
  assert.match(md, /pion → ours \| ❌ fail \| dtls-role: both sides active: two DTLS clients \(offer active, answer active\) \(timeout: timed out after 15000 ms waiting for the connection\); sub-check failed: pli-keyframe: no keyframe within 500 ms \|/);
  const html = renderHtml(withChecks);
  assert.match(html, /<p>dtls-role: both sides active: two DTLS clients \(offer active, answer active\) \(timeout: timed out/);
});

test('a passing cell with a failed sub-check stays a pass and says so', () => {
  const md = renderMarkdown(withChecks);
  assert.match(md, /\| \*\*pion\*\* \| ✅ 42 \|  \|/, 'the grid: a pass');
  assert.match(md, /\| \*\*ours\*\* \|  \| n\/a \|/, 'and the n/a cell');
  assert.match(md, /pion → ours \| ✅ pass \| sub-check failed: max-message-size: a 65536-byte binary message did not come back within 3000 ms \|/);
  const html = renderHtml(withChecks);
  assert.match(html, /<summary>pass 42 ms, 1 check failed<span class="marks"><span class="mark pass" title="dtls-role: pass: ok"><\/span><span class="mark fail"/);
});

test('the HTML shows every sub-check of a cell with its status and detail, escaped, and a legend of them all', () => {
  const html = renderHtml(withChecks);
  assert.match(html, /<tr><td>srtp-profile<\/td><td class="check-na">n\/a<\/td><td>node-datachannel 0.33 exposes no SRTP profile<\/td><\/tr>/);
  assert.match(html, /packet 7 came back &lt;fast&gt;/);
  assert.match(html, /<h2>Sub-checks<\/h2>/);
  assert.match(html, /<tr><th>pli-keyframe<\/th>/);
  const md = renderMarkdown(withChecks);
  assert.match(md, /\| server → client \| dtls-role \| srtp-profile \| nack \| pli-keyframe \|/);
  assert.match(md, /\| ours → ours \| ✅ \| n\/a \| ✅ \|  \|/);
});

test('n/a cells are explained, not counted as failures', () => {
  const md = renderMarkdown(withChecks);
  assert.match(md, /ours → pion \| n\/a \| unsupported: this pion build has no SCTP: no data channels \|/);
  const html = renderHtml(withChecks);
  assert.match(html, /<td class="unsupported"><details><summary>n\/a<\/summary>/);
  assert.match(html, /n\/a is not a failure/);
  const json = JSON.parse(renderJson(withChecks)) as { summary: Record<string, number>; cells: CellResult[] };
  assert.equal(json.summary.unsupported, 1);
  assert.equal(json.summary.decisiveFailures, 1, 'only the real failure');
  assert.equal(json.cells[0]!.checks!.length, 3, 'report.json keeps the sub-checks');
});

test('with --repeat a cell shows its pass rate, a flaky one is neither pass nor fail, and every run links its evidence and the rerun', () => {
  const timings = { serverStartMs: 300, client: { connected: 40, exited: 900 }, cellMs: 1200 };
  const run = (n: number, status: 'pass' | 'fail', connected: number) => ({
    run: n,
    status,
    ...(status === 'fail' ? { reason: 'timeout', message: 'no echo' } : {}),
    timings: { ...timings, client: { connected, exited: 900 } },
    phases: [{ name: 'dtls-connected' as const, atMs: connected, source: 'client' }],
    port: 40000,
    logs: { server: '', client: '' },
    evidence: { offer: `cells/x/run-${n}/offer.sdp`, answer: `cells/x/run-${n}/answer.sdp` },
  });
  const flaky = cell('ours', 'pion', 0, 'flaky', { runs: [run(1, 'pass', 30), run(2, 'fail', 50), run(3, 'pass', 70)], passed: 2, reason: 'timeout', message: 'no echo', evidence: { offer: 'cells/x/run-2/offer.sdp' } });
  const steady = cell('ours', 'ours', 0, 'pass', { runs: [run(1, 'pass', 30), run(2, 'pass', 90), run(3, 'pass', 50)], passed: 3, rerun: { command: "webrtc-echo matrix --add-client 'a=b c' --servers ours --clients ours", cwd: '/w' } });
  const repeated: MatrixResult = { ...result, repeat: 3, servers: ['ours'], clients: ['ours', 'pion'], cells: [steady, flaky] };
  const md = renderMarkdown(repeated);
  assert.match(md, /\| \*\*ours\*\* \| ✅ 3\/3 50 \| 🎲 2\/3 \|/, 'the median of the passing runs, and the rate');
  assert.match(md, /ours → pion \| 🎲 flaky 2\/3 \| timeout: no echo \| \[cells\/direct\.test0\.ours\.pion\]/);
  assert.match(md, /3 runs per cell: 5 of 6 runs passed/);
  const html = renderHtml(repeated);
  assert.match(html, /<td class="flaky"><details><summary>flaky 2\/3<\/summary>/);
  assert.match(html, /2 of 3 runs passed: <strong>flaky<\/strong>\. Below: run 2, the first that did not pass\./);
  assert.match(html, /<a href="cells\/x\/run-3\/answer\.sdp">answer\.sdp<\/a>/, 'each run links its files');
  assert.match(html, /webrtc-echo matrix --add-client &#39;a=b c&#39;/, 'the rerun command, escaped');
  const json = JSON.parse(renderJson(repeated)) as { summary: Record<string, number>; cells: CellResult[] };
  assert.equal(json.summary.flaky, 1);
  assert.equal(json.summary.decisiveFailures, 1, 'a flaky cell with our peer fails the run');
  assert.equal(json.cells[1]!.runs.length, 3);
  assert.equal((json.cells[1]!.runs[0] as { logs?: unknown }).logs, undefined, "each run's logs are in its files, not repeated in report.json");
});
