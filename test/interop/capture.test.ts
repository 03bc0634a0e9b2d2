/**
 * `matrix --capture`: each run's pcapng holds that run's traffic alone and, where a side can
 * give its DTLS keys, decrypts with them, checked here with tshark as a reader would (the keys
 * file through `-o tls.keylog_file`). werift writes keys as server and client; libdatachannel
 * cannot, and the evidence says so.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { ourPeers } from '../../src/interop/adapters/ours.js';
import { pionPeer } from '../../src/interop/adapters/pion.js';
import { captureUnavailable } from '../../src/interop/evidence/capture.js';
import { runCell, runMatrix } from '../../src/interop/matrix.js';
import { ROOT } from '../helpers/cli.js';
import { skipUnlessCi } from '../helpers/timeout.js';
import { TESTED_ENGINES } from '../helpers/engines.js';

const run = promisify(execFile);

test('a captured run decrypts with the keys its peers wrote, holds only its own packets, and says who could not give keys', { timeout: 180_000 }, async (t) => {
  const unavailable = await captureUnavailable();
  if (skipUnlessCi(unavailable)) return t.skip(unavailable);
  const out = await mkdtemp(join(tmpdir(), 'webrtc-echo-capture-'));
  t.after(() => rm(out, { recursive: true, force: true }));
  const result = await runMatrix({
    root: ROOT,
    peers: ourPeers().filter((p) => p.name === 'werift' || p.name === 'libdatachannel'),
    servers: ['werift', 'libdatachannel'],
    clients: ['werift', 'libdatachannel'],
    tests: [1],
    capture: true,
    reportDir: out,
  });
  const cell = (server: string, client: string) => result.cells.find((c) => c.server === server && c.client === client)!;
  for (const c of result.cells) assert.equal(c.status, 'pass', `${c.id}: ${c.reason} ${c.message}`);

  // werift on both sides: two key lines (the same handshake, one from each), and the capture decrypts.
  const both = cell('werift', 'werift');
  assert.equal(both.capture?.keys?.server.lines, 1, both.capture?.keys?.server.note);
  assert.equal(both.capture?.keys?.client.lines, 1, both.capture?.keys?.client.note);
  assert.equal(both.capture?.decrypted?.ok, true, both.capture?.decrypted?.detail);
  const pcap = join(out, both.evidence!.capture!);
  const keys = join(out, both.evidence!.keys!);
  assert.match(await readFile(keys, 'utf8'), /^CLIENT_RANDOM [0-9a-f]{64} [0-9a-f]{96}\n$/);
  // As a reader with the key file: Finished in plain, the channel's SCTP (ports 5000) in plain; without it, neither.
  const fields = ['-T', 'fields', '-e', 'dtls.handshake.type', '-e', 'data.data'];
  const opened = rows((await run('tshark', ['-r', pcap, '-o', `tls.keylog_file:${keys}`, '-Y', 'dtls', ...fields])).stdout);
  const closed = rows((await run('tshark', ['-r', pcap, '-Y', 'dtls', ...fields])).stdout);
  const finished = (r: string[][]) => r.filter(([types]) => (types ?? '').split(',').includes('20')).length;
  assert.ok(finished(opened) >= 2, `Finished messages decrypted with the key file: ${finished(opened)}`);
  assert.equal(finished(closed), 0, 'and none without it');
  assert.ok(!closed.some(([, data]) => data), 'no application data in plain without it');
  assert.ok(opened.some(([, data]) => data?.startsWith('13881388')), 'SCTP from port 5000 to 5000 inside DTLS, in plain');

  // The run's traffic only: its own namespace's addresses, nothing of this machine's other loopback traffic.
  const hosts = new Set(rows((await run('tshark', ['-r', pcap, '-T', 'fields', '-e', 'ip.src', '-e', 'ip.dst'])).stdout).flat().filter(Boolean));
  assert.deepEqual([...hosts].filter((h) => h !== '127.0.0.1' && h !== '10.79.0.1'), [], `addresses in the capture: ${[...hosts].join(', ')}`);
  assert.ok((both.capture?.packets ?? 0) > 10);

  // One side with keys is enough; neither side: no decryption, and the evidence says why.
  const half = cell('libdatachannel', 'werift');
  assert.equal(half.capture?.decrypted?.ok, true, half.capture?.decrypted?.detail);
  assert.match(half.capture?.keys?.server.note ?? '', /libdatachannel server cannot: node-datachannel links its own OpenSSL/);
  const none = cell('libdatachannel', 'libdatachannel');
  assert.equal(none.capture?.decrypted?.ok, false);
  assert.match(none.capture?.decrypted?.detail ?? '', /no keys/);
  assert.ok(existsSync(join(out, none.evidence!.capture!)), 'the capture is kept without keys too');
  assert.equal(none.evidence?.keys, undefined);

  // Our native server writes its keys from C++ (OpenSSL's key log callback): with a client that
  // gives none (libdatachannel), its line alone decrypts the run.
  if (TESTED_ENGINES.includes('native')) {
    const native = ourPeers().find((p) => p.name === 'native')!;
    const libdatachannel = ourPeers().find((p) => p.name === 'libdatachannel')!;
    const alone = await runCell(native, libdatachannel, 1, 'direct', { root: ROOT, capture: true, reportDir: out }, 'capture-native');
    assert.equal(alone.status, 'pass', `${alone.reason} ${alone.message}`);
    assert.equal(alone.capture?.keys?.server.lines, 1, alone.capture?.keys?.server.note);
    assert.equal(alone.capture?.keys?.client.lines ?? 0, 0);
    assert.equal(alone.capture?.decrypted?.ok, true, alone.capture?.decrypted?.detail);
  }

  // pion gathers loopback candidates, werift does not: left alone they each sent on their own
  // pair, and the handshake's directions were two conversations tshark could not join.
  if ((await pionPeer.detect(ROOT)).available || process.env.CI) {
    const werift = ourPeers().find((p) => p.name === 'werift')!;
    const mixed = await runCell(pionPeer, werift, 1, 'direct', { root: ROOT, capture: true, reportDir: out }, 'capture-pion');
    assert.equal(mixed.status, 'pass', `${mixed.reason} ${mixed.message}`);
    assert.equal(mixed.capture?.keys?.server.lines, 1, mixed.capture?.keys?.server.note);
    assert.equal(mixed.capture?.decrypted?.ok, true, mixed.capture?.decrypted?.detail);
  }
});

function rows(text: string): string[][] {
  return text.split('\n').filter(Boolean).map((line) => line.split('\t'));
}
