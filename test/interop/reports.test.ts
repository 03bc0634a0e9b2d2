/** The three reports render a matrix as the Echo Test suite publishes it: servers as rows, clients as columns, a table per test. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KNOWN_FAILURES } from '../../src/interop/known-failures.js';
import type { CellResult, MatrixResult } from '../../src/interop/matrix.js';
import { renderHtml } from '../../src/interop/report/html.js';
import { renderJson } from '../../src/interop/report/json.js';
import { renderMarkdown } from '../../src/interop/report/markdown.js';

function cell(server: string, client: string, test: 0 | 1, status: CellResult['status'], extra: Partial<CellResult> = {}): CellResult {
  return {
    server,
    client,
    test,
    network: 'direct',
    status,
    decisive: server === 'ours' || client === 'ours',
    timings: { serverStartMs: 300, client: { connected: 42, exited: 900 }, cellMs: 1200 },
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
