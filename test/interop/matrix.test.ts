/**
 * The interop matrix over our peers and every foreign peer installed here: every cell with
 * one of our engines in it (as server or client, each test) must pass or fail only the way
 * a recorded known failure of the other stack does. Cells between two foreign peers are not
 * run here (`webrtc-echo matrix` shows them). Needs `npm run build` (the peers run the built CLI).
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { decisiveFailures, runMatrix } from '../../src/interop/matrix.js';
import { allPeers } from '../../src/interop/adapters/index.js';
import { stderrProgress } from '../../src/interop/progress.js';
import { writeReports } from '../../src/interop/report/write.js';
import { ENGINE_NAMES } from '../../src/engines/registry.js';
import { namespacesUnavailable } from '../../src/net/namespaces.js';
import { ROOT } from '../helpers/cli.js';
import { skipUnlessCi } from '../helpers/timeout.js';

test('every matrix cell with one of our peers passes or is a recorded known failure', { timeout: 420_000 }, async (t) => {
  const result = await runMatrix({ root: ROOT, peers: allPeers(), oursOnly: true, onProgress: stderrProgress() });
  const out = await mkdtemp(join(tmpdir(), 'webrtc-echo-matrix-'));
  t.after(() => rm(out, { recursive: true, force: true }));
  await writeReports(result, out);

  const missing = result.peers.filter((p) => !p.availability.available);
  for (const peer of missing) t.diagnostic(`not installed: ${peer.name} (${peer.availability.available ? '' : peer.availability.reason}), so not in the matrix`);
  // .ci/run installs every foreign peer: in CI a missing one is a broken setup, not a smaller matrix.
  if (process.env.CI) assert.deepEqual(missing.map((p) => p.name), [], 'CI has every foreign peer');
  assert.deepEqual(result.ourMissing, [], 'every engine of the registry runs');
  assert.ok(result.cells.length > 0, 'the matrix ran cells');
  assert.ok(result.cells.every((c) => c.decisive || c.status === 'unsupported'), 'only cells with one of our peers ran');
  // On loopback, the peers whose ICE cannot be kept off this machine's other addresses are n/a:
  // the browsers as clients, Janus as a server (they run on the namespaced networks).
  const offLoopback = new Set(['chromium', 'firefox', 'janus']);
  const unsupported = result.cells.filter((c) => c.status === 'unsupported');
  assert.deepEqual(unsupported.filter((c) => !offLoopback.has(c.client) && !offLoopback.has(c.server)).map((c) => `${c.server} → ${c.client}`), [], 'n/a only for the browsers and Janus');

  const failures = decisiveFailures(result).map((c) => `test ${c.test} ${c.server} → ${c.client}: ${c.reason ?? ''} ${c.message ?? ''}\n${c.logs.client.slice(-1500)}`);
  assert.deepEqual(failures, [], `failing cells (logs in the reports):\n${failures.join('\n\n')}`);

  const json = JSON.parse(await readFile(join(out, 'report.json'), 'utf8')) as { cells: unknown[]; summary: { cells: number } };
  assert.equal(json.cells.length, result.cells.length, 'report.json holds every cell');

  // Sub-checks: every cell our clients (and the browsers) ran says what it saw on the wire.
  const ours = ENGINE_NAMES as string[];
  const expected: Record<0 | 1, string[]> = {
    0: ['dtls-role', 'srtp-profile', 'mid-extension', 'nack', 'pli-keyframe'],
    1: ['dtls-role', 'sctp-zero-checksum', 'max-message-size', 'dc-binary', 'dc-empty-string', 'dc-empty-binary'],
  };
  const reporting = result.cells.filter((c) => (ours.includes(c.client) || c.client === 'chromium' || c.client === 'firefox') && c.status !== 'unsupported');
  assert.ok(reporting.length > 0);
  const absent = reporting.flatMap((c) => {
    const names: string[] = (c.checks ?? []).map((k) => k.name);
    const lacking = c.status === 'pass' ? expected[c.test].filter((n) => !names.includes(n)) : names.includes('dtls-role') ? [] : ['dtls-role'];
    return lacking.length ? [`test ${c.test} ${c.server} → ${c.client}: no ${lacking.join(', ')}`] : [];
  });
  assert.deepEqual(absent, [], 'sub-checks in every cell of our clients and the browsers');
  // Between two of our own peers, nothing the client can see may fail.
  const oursFailing = result.cells
    .filter((c) => ours.includes(c.server) && ours.includes(c.client))
    .flatMap((c) => (c.checks ?? []).filter((k) => k.status === 'fail').map((k) => `test ${c.test} ${c.server} → ${c.client}: ${k.name}: ${k.detail}`));
  assert.deepEqual(oursFailing, [], 'no failed sub-check between our own peers');
  t.diagnostic(`sub-checks: ${result.cells.flatMap((c) => c.checks ?? []).filter((k) => k.status === 'fail').length} failed in cells with a foreign peer (see the reports)`);
});

test('on a NAT, through a TURN relay and behind a server NAT, every cell with our peers passes against pion and Chromium', { timeout: 900_000 }, async (t) => {
  const unavailable = await namespacesUnavailable();
  if (skipUnlessCi(unavailable)) return t.skip(unavailable);
  const ours = ENGINE_NAMES as string[];
  const result = await runMatrix({
    root: ROOT,
    peers: allPeers(),
    networks: ['nat', 'relay', 'server-nat'],
    servers: [...ours, 'pion'],
    clients: [...ours, 'pion', 'chromium'],
    oursOnly: true,
    concurrency: 3,
    onProgress: stderrProgress(),
  });
  assert.deepEqual(result.ourMissing, [], 'every engine of the registry runs');
  const ran = (network: string) => result.cells.filter((c) => c.network === network && c.status !== 'unsupported');
  for (const network of ['nat', 'relay', 'server-nat']) assert.ok(ran(network).length > 0, `cells ran on ${network}`);
  // Our servers and clients declare every network: only foreign pairs may be n/a.
  const unsupportedOurs = result.cells.filter((c) => c.status === 'unsupported' && ours.includes(c.server) && ours.includes(c.client));
  assert.deepEqual(unsupportedOurs, []);
  const failures = decisiveFailures(result).map((c) => `${c.network} test ${c.test} ${c.server} → ${c.client}: ${c.reason ?? ''} ${c.message ?? ''}\n${c.logs.client.slice(-1500)}`);
  assert.deepEqual(failures, [], `failing cells:\n${failures.join('\n\n')}`);
});
