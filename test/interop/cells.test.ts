/**
 * What one matrix cell makes of what a client says: sub-checks from `check …` lines (the foreign
 * clients' protocol, interop/peers/README.md), the first failed one named on a failed cell, and
 * exit 127 as n/a with the client's own explanation. The client here is a few lines of node
 * speaking the protocol against our real libdatachannel server.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runCell } from '../../src/interop/matrix.js';
import { ourPeers } from '../../src/interop/adapters/ours.js';
import { runClientProcess, startServerProcess } from '../../src/interop/adapters/spawn-peer.js';
import { DEFAULT_CLIENT_NETWORKS, type InteropPeer } from '../../src/interop/peer.js';
import { failureText } from '../../src/interop/report/summary.js';
import { ROOT } from '../helpers/cli.js';
import { renderHtml } from '../../src/interop/report/html.js';
import { renderMarkdown } from '../../src/interop/report/markdown.js';
import { skipWithoutAddon } from '../native/plane-harness.js';

const server = ourPeers().find((p) => p.name === 'libdatachannel')!;

/** A client that prints `stderr` and exits with `code`, whatever the server. */
function scriptedClient(name: string, stderr: string[], code: number): InteropPeer {
  const script = `${stderr.map((line) => `console.error(${JSON.stringify(line)});`).join('')} process.exit(${code});`;
  return {
    name,
    ours: false,
    label: name,
    detect: async () => ({ available: true }),
    client: { run: ({ root, timeoutMs, site }) => runClientProcess(process.execPath, ['-e', script], { root, timeoutMs, site }) },
  };
}

test('a passing cell carries the check lines its client printed, in the canonical order', { timeout: 30_000 }, async () => {
  const client = scriptedClient('lines', ['offer_ms 3', 'check max-message-size n/a no data channel here', 'check dtls-role pass we are the DTLS client', 'ok test 1'], 0);
  const cell = await runCell(server, client, 1, 'direct', { root: ROOT, timeoutMs: 5_000 }, 'cells1');
  assert.equal(cell.status, 'pass');
  assert.deepEqual(cell.checks?.map((c) => `${c.name} ${c.status} ${c.detail}`), ['dtls-role pass we are the DTLS client', 'max-message-size n/a no data channel here']);
  assert.equal(cell.failedCheck, undefined);
});

test('a failed cell names its first failed sub-check ahead of the client reason', { timeout: 30_000 }, async () => {
  const client = scriptedClient('broken', ['check pli-keyframe fail no keyframe within 500 ms', 'check dtls-role fail both sides active: two DTLS clients', 'error: timeout: waiting for connection (ICE+DTLS)'], 1);
  const cell = await runCell(server, client, 0, 'direct', { root: ROOT, timeoutMs: 5_000 }, 'cells2');
  assert.equal(cell.status, 'fail');
  assert.equal(cell.reason, 'timeout', "the client's own reason is kept");
  assert.equal(cell.failedCheck?.name, 'dtls-role', 'first in the canonical order, not in print order');
  assert.equal(failureText(cell), 'dtls-role: both sides active: two DTLS clients (timeout: waiting for connection (ICE+DTLS))');
});

test('a client exiting 127 is n/a, not a failure, with its own explanation', { timeout: 30_000 }, async () => {
  const client = scriptedClient('no-sctp', ['error: unsupported: this build has no SCTP elements (sctpenc): no data channels'], 127);
  const cell = await runCell(server, client, 1, 'direct', { root: ROOT, timeoutMs: 5_000 }, 'cells3');
  assert.equal(cell.status, 'unsupported');
  assert.equal(cell.decisive, false);
  assert.equal(failureText(cell), 'unsupported: this build has no SCTP elements (sctpenc): no data channels');
});

test('every client, ours and foreign, says a test type it does not run is unsupported (exit 127), and the cell is n/a', { timeout: 120_000 }, async (t) => {
  const { allPeers } = await import('../../src/interop/adapters/index.js');
  const { detectPeers } = await import('../../src/interop/matrix.js');
  const peers = allPeers().filter((p) => p.client);
  const available = new Set((await detectPeers(peers, ROOT)).filter((p) => p.availability.available).map((p) => p.name));
  const ran: string[] = [];
  // On direct only: the browsers run on the namespaced networks (they gather no loopback), where
  // a cell needs namespaces; their refusal (src/interop/browser/main.ts) comes before the browser starts.
  const onDirect = (p: (typeof peers)[number]) => (p.client!.networks ?? DEFAULT_CLIENT_NETWORKS).includes('direct');
  for (const client of peers.filter((p) => available.has(p.name) && onDirect(p))) {
    // A test type the matrix does not have (yet): 2.
    const cell = await runCell(server, client, 2 as 0, 'direct', { root: ROOT, timeoutMs: 10_000 }, `cells-${client.name}`);
    assert.equal(cell.status, 'unsupported', `${client.name}: ${cell.reason} ${cell.message}\n${cell.logs.client}`);
    assert.match(cell.message ?? '', /test type "?2"? is not one this client runs/, client.name);
    ran.push(client.name);
  }
  t.diagnostic(`clients checked: ${ran.join(', ')}`);
  assert.ok(ran.includes('libdatachannel') && ran.length > 3, ran.join(', '));
});

test("a native server's cell carries the server's own sub-checks (its session-connected facts) beside the client's, in both reports", { timeout: 60_000, skip: skipWithoutAddon() }, async () => {
  const native = ourPeers().find((p) => p.name === 'native')!;
  const client = ourPeers().find((p) => p.name === 'libdatachannel')!;
  const cell = await runCell(native, client, 1, 'direct', { root: ROOT, timeoutMs: 15_000 }, 'cells-native');
  assert.equal(cell.status, 'pass', failureText(cell));
  const checks = Object.fromEntries((cell.serverChecks ?? []).map((c) => [c.name, `${c.status}: ${c.detail}`]));
  // A libdatachannel offer leaves the role to us (actpass) and the native engine answers passive (stack-policy.ts).
  assert.equal(checks['dtls-role'], "pass: the server's stack took DTLS server, as its answer's a=setup says");
  // libdatachannel offers use_srtp even for a data channel only: DTLS negotiates a profile all the same.
  assert.match(checks['srtp-profile'] ?? '', /^pass: the server's stack chose SRTP_(AEAD_AES_128_GCM|AES128_CM_HMAC_SHA1_80)$/);
  assert.match(checks['sctp-zero-checksum'] ?? '', /^pass: the server's SCTP did not announce zero checksum/);
  const markdown = renderMarkdown({ startedAt: '', durationMs: 0, tests: [1], networks: ['direct'], repeat: 1, capture: false, servers: ['native'], clients: ['libdatachannel'], peers: [], cells: [cell], ourMissing: [] });
  assert.match(markdown, /Server sub-checks of these cells[\s\S]*\| native → libdatachannel \| ✅ \| ✅ \| ✅ \|/);
  assert.match(renderHtml({ startedAt: '', durationMs: 0, tests: [1], networks: ['direct'], repeat: 1, capture: false, servers: ['native'], clients: ['libdatachannel'], peers: [], cells: [cell], ourMissing: [] }), /Server sub-checks \(what the server&#39;s own stack says\)|Server sub-checks \(what the server's own stack says\)/);
});

test("a server that exits before it listens fails the cell as server-start, with the server's own last line", { timeout: 30_000 }, async () => {
  const script = `console.error('starting'); console.error('Error: listen EADDRINUSE: address already in use 127.0.0.1:8080'); process.exit(1);`;
  const broken: InteropPeer = {
    name: 'broken-server',
    ours: false,
    label: 'broken-server',
    detect: async () => ({ available: true }),
    server: { start: (port, root, site) => startServerProcess(process.execPath, ['-e', script], { root, port, site }) },
  };
  const client = scriptedClient('unused', ['ok test 0'], 0);
  const cell = await runCell(broken, client, 0, 'direct', { root: ROOT, timeoutMs: 5_000 }, 'cells-server-start');
  assert.equal(cell.status, 'fail');
  assert.equal(cell.reason, 'server-start');
  assert.match(cell.message ?? '', /exited \(code 1\).*; it said: Error: listen EADDRINUSE: address already in use 127\.0\.0\.1:8080$/);
});
