/**
 * The plane's CRC32c (native/src/crc32c.cc): the checksum of every SCTP packet the native engine
 * sends, which the plane writes when JavaScript hands it the packets (`sendApplicationData(...,
 * sctpChecksum)`), and checks on every SCTP packet it decrypts (`sctpChecksumValid` of an
 * `app-data` event). RFC 3720's vectors on both of its paths, built as a standalone program; the
 * plane's own sealing against werift's CRC32c is in echo-werift.test.ts.
 * Run: node --import tsx --test test/native/crc32c.test.ts
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ROOT } from '../helpers/cli.js';
import { runCommand } from '../helpers/run-command.js';
import { skipUnlessCi } from '../helpers/timeout.js';

const compiler = spawnSync('c++', ['--version']).status === 0 ? undefined : 'no C++ compiler (c++)';

test('CRC32c matches RFC 3720 B.4 on the SSE 4.2 path and the table, which agree at every length and alignment', { skip: skipUnlessCi(compiler), timeout: 300_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'native-crc32c-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const binary = join(dir, 'crc32c_vectors');
  const sources = ['test/crc32c_vectors.cc', 'src/crc32c.cc'].map((s) => join(ROOT, 'native', s));
  const built = await runCommand('c++', ['-std=c++17', '-O2', '-Wall', '-Wextra', '-o', binary, ...sources], process.env, 300_000);
  assert.equal(built.code, 0, built.stderr);
  const run = await runCommand(binary, [], process.env, 60_000);
  assert.equal(run.code, 0, `${run.stdout}\n${run.stderr}`);
  for (const line of ['RFC 3720 B.4: both paths match', 'both paths agree: 12008', 'sealSctpPacket: the field, idempotent', 'sctpChecksumValid: sealed packets hold', 'all vectors passed']) {
    assert.ok(run.stdout.includes(line), `${line} in:\n${run.stdout}`);
  }
});
