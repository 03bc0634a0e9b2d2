/**
 * The native plane's SRTP/SRTCP transforms, built into two standalone C++ programs
 * (native/test/) against Debian's OpenSSL: the published vectors (RFC 3711 B.2 and B.3,
 * RFC 7714 §16.1.1, §17.1 and §17.3), and Debian's libsrtp2 as an oracle, thousands of packets
 * each way for each profile across a rollover-counter wrap, SRTCP each way.
 * Needs a C++ compiler, libssl-dev and libsrtp2-dev (.ci/run installs them); skipped without them outside CI.
 * Run: node --import tsx --test test/native/srtp.test.ts
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test, type TestContext } from 'node:test';
import { runCommand } from '../helpers/run-command.js';
import { skipUnlessCi } from '../helpers/timeout.js';

const ROOT = resolve(import.meta.dirname, '..', '..');
const SOURCES = ['srtp_cipher', 'srtp_profile', 'replay_window'].map((s) => join(ROOT, 'native', 'src', `${s}.cc`));

function missing(needsLibsrtp: boolean): string | undefined {
  if (spawnSync('c++', ['--version']).status !== 0) return 'no C++ compiler (c++)';
  if (!existsSync('/usr/include/openssl/evp.h')) return 'the OpenSSL headers are not installed (libssl-dev)';
  if (needsLibsrtp && !existsSync('/usr/include/srtp2/srtp.h')) return 'libsrtp2-dev is not installed';
  return undefined;
}

async function buildAndRun(t: TestContext, program: string, libraries: string[]): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'native-srtp-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const binary = join(dir, program);
  const built = await runCommand('c++', ['-std=c++17', '-O2', '-Wall', '-Wextra', '-o', binary, join(ROOT, 'native', 'test', `${program}.cc`), ...SOURCES, ...libraries], process.env, 300_000);
  assert.equal(built.code, 0, built.stderr);
  const run = await runCommand(binary, [], process.env, 120_000);
  assert.equal(run.code, 0, `${run.stdout}\n${run.stderr}`);
  return run.stdout;
}

test('SRTP and SRTCP match the RFC 3711 and RFC 7714 vectors', { skip: skipUnlessCi(missing(false)) }, async (t) => {
  const out = await buildAndRun(t, 'srtp_vectors', ['-lcrypto']);
  for (const line of ['RFC 3711 B.3 key derivation', 'RFC 3711 B.2 AES-CM keystream', 'RFC 7714 16.1.1', 'RFC 7714 17.1/17.3', 'all vectors passed']) {
    assert.ok(out.includes(line), `${line} in:\n${out}`);
  }
});

test('libsrtp2 reads what we protect and we read what it protects, every profile, across a ROC wrap', { skip: skipUnlessCi(missing(true)) }, async (t) => {
  const out = await buildAndRun(t, 'srtp_libsrtp', ['-lsrtp2', '-lcrypto']);
  for (const profile of ['SRTP_AES128_CM_SHA1_80', 'SRTP_AES128_CM_SHA1_32', 'SRTP_AEAD_AES_128_GCM']) assert.ok(out.includes(profile), out);
  assert.equal((out.match(/libsrtp -> ours RTP: 6000 accepted, \d+ tampered and \d+ replays rejected, ROC 1/g) ?? []).length, 3, out);
  assert.equal((out.match(/ours -> libsrtp RTP: 6000 of 6000 accepted/g) ?? []).length, 3, out);
  assert.equal((out.match(/SRTCP: libsrtp -> ours 2000, ours -> libsrtp 2000 of 2000/g) ?? []).length, 3, out);
  assert.ok(out.includes('libsrtp agrees'), out);
});
