/**
 * Every parser of the native plane that reads the network, fuzzed with libFuzzer under ASan and
 * UBSan for a bounded time (WEBRTC_ECHO_FUZZ_SECONDS, 20 s per target by default):
 * the RFC 7983 demultiplexer, RTP headers and extensions, SRTP/SRTCP unprotect, the echo and
 * RTCP relay behind a valid tag (with playback: the viewer rewrite, viewers' feedback, feedback
 * written to a publisher), DTLS records into a session, and the STUN Binding request reader of
 * the ICE fast path (with its integrity check and the response written to it). Targets are in native/fuzz/; a crash leaves its input in
 * native/fuzz/artifacts/ for `./fuzz_<target> <file>` to replay.
 * Needs clang, libclang-rt-14-dev and libssl-dev (.ci/run installs them); skipped without them outside CI.
 * Run: node --import tsx --test test/native/fuzz.test.ts
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { runCommand } from '../helpers/run-command.js';
import { skipUnlessCi } from '../helpers/timeout.js';
import { iceRoleAttribute, priorityAttribute, useCandidateAttribute, usernameAttribute } from '../../src/stun/attributes.js';
import { encodeStun } from '../../src/stun/message.js';
import { rtcp, words } from './echo-pair.js';
import { rtpPacket } from './werift-peer.js';

const ROOT = resolve(import.meta.dirname, '..', '..');
const FUZZ_DIR = join(ROOT, 'native', 'fuzz');
const SOURCES = ['rtp_packet', 'rtp_forward', 'srtp_cipher', 'srtp_profile', 'replay_window', 'media_echo', 'dtls_transport', 'certificate', 'stun_binding', 'triggered_checks', 'endpoint'];
const TARGETS = ['demux', 'rtp_header', 'srtp', 'echo', 'dtls', 'stun'] as const;
const SECONDS = Number(process.env.WEBRTC_ECHO_FUZZ_SECONDS ?? 20);
const SANITIZE = ['-fno-sanitize-recover=undefined', '-fno-omit-frame-pointer', '-g', '-O1', '-std=c++17'];

function missingTool(): string | undefined {
  if (spawnSync('clang++', ['--version']).status !== 0) return 'clang++ is not installed';
  const runtime = spawnSync('clang++', ['-print-file-name=libclang_rt.fuzzer-x86_64.a'], { encoding: 'utf8' }).stdout.trim();
  if (!existsSync(runtime)) return "libFuzzer's runtime is not installed (libclang-rt-14-dev)";
  if (!existsSync('/usr/include/openssl/ssl.h')) return 'the OpenSSL headers are not installed (libssl-dev)';
  return undefined;
}

const skip = skipUnlessCi(missingTool());

/** A run of packets, each prefixed by its length (the framing fuzz_echo and fuzz_dtls read). */
function framed(...packets: Buffer[]): Buffer {
  return Buffer.concat(packets.flatMap((p) => [Buffer.from([p.length >> 8, p.length & 0xff]), p]));
}

/** Seeds: one well-formed example of what each target reads, for the fuzzer to mutate. */
function seeds(target: (typeof TARGETS)[number]): Buffer[] {
  const media = rtpPacket({ ssrc: 0x1000, seq: 7, payloadType: 96, payload: Buffer.from('payload'), mid: { id: 1, value: 'video' } });
  const plain = rtpPacket({ ssrc: 0x1001, seq: 9, payloadType: 111, payload: Buffer.from('opus') });
  const compound = Buffer.concat([
    rtcp(200, 1, Buffer.concat([words(0x1000, 1, 2, 3, 4, 5), words(0xe0, 0, 0, 0, 0, 0)])),
    rtcp(201, 1, Buffer.concat([words(1), words(0xe1, 0, 0, 0, 0, 0)])),
    rtcp(206, 1, words(1, 0xe0)),
    rtcp(206, 4, words(1, 0, 0xe0, 0x07000000)),
    rtcp(205, 1, words(1, 0xe0, 0x03e80005)),
    rtcp(203, 1, words(0x1000)),
  ]);
  // A viewer's feedback about the SSRC it is played on (0xe3): PLI, FIR, NACK.
  const viewerFeedback = Buffer.concat([rtcp(206, 1, words(2, 0xe3)), rtcp(206, 4, words(2, 0, 0xe3, 0x01000000)), rtcp(205, 1, words(2, 0xe3, 0x00640003))]);
  switch (target) {
    case 'demux':
    case 'rtp_header':
      return [media, plain, compound, Buffer.concat([Buffer.from([0x90, 96, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0x10, 0x00, 0, 1]), Buffer.from([1, 1, 0x61, 0])])];
    case 'srtp':
      return [Buffer.concat([Buffer.from([0]), media, Buffer.alloc(10)]), Buffer.concat([Buffer.from([2]), compound, Buffer.alloc(20)])];
    case 'echo':
      return [Buffer.concat([Buffer.from([2, 1]), framed(media, plain, compound, media)]), Buffer.concat([Buffer.from([0, 2]), framed(media, viewerFeedback, plain)]),
        // A publisher section (midId odd: section 1 not echoed): feedback about its SSRC is nobody's.
        Buffer.concat([Buffer.from([1, 1]), framed(plain, rtcp(206, 1, words(2, 0xe1)), rtcp(205, 1, words(2, 0xe1, 0x00640003)))])];
    case 'dtls':
      // A DTLS 1.2 record header with a ClientHello's handshake header: the fuzzer grows it.
      return [Buffer.concat([Buffer.from([0]), framed(Buffer.from('16fefd000000000000000000300100002400000000000000240000', 'hex'))])];
    case 'stun': {
      // An ICE check as a client sends it, and RFC 5769's sample request (integrity valid under the target's password).
      const transactionId = Buffer.from('b7e7a701bc34d686fa87dfae', 'hex');
      const check = encodeStun({
        class: 'request',
        transactionId,
        attributes: [usernameAttribute('abcd:wxyz'), priorityAttribute(0x6e0001ff), iceRoleAttribute('controlling', 7n), useCandidateAttribute()],
        integrityKey: 'VOkJxbRl1RmTxUk/WvJxBt',
        fingerprint: true,
      });
      const rfc5769 = Buffer.from(
        '000100582112a442b7e7a701bc34d686fa87dfae802200105354554e207465737420636c69656e74002400046e0001ff80290008932ff9b151263b36000600096576746a3a68367659202020000800149aeaa70cbfd8cb56781ef2b5b2d3f249c1b571a280280004e57a3bcf',
        'hex',
      );
      return [check, rfc5769];
    }
  }
}

let workDir: string | undefined;

test('the fuzz targets build with libFuzzer, ASan and UBSan', { skip, timeout: 600_000 }, async () => {
  workDir = mkdtempSync(join(tmpdir(), 'native-fuzz-'));
  const jobs = Math.max(1, Math.min(2, cpus().length));
  const pending = [...SOURCES];
  const compile = async () => {
    for (let source = pending.shift(); source; source = pending.shift()) {
      const result = await runCommand(
        'clang++',
        [...SANITIZE, '-fsanitize=fuzzer-no-link,address,undefined', '-c', join(ROOT, 'native', 'src', `${source}.cc`), '-o', join(workDir!, `${source}.o`)],
        process.env,
        300_000,
      );
      assert.equal(result.code, 0, `${source}.cc: ${result.stderr}`);
    }
  };
  await Promise.all(Array.from({ length: jobs }, compile));
  for (const target of TARGETS) {
    const result = await runCommand(
      'clang++',
      [...SANITIZE, '-fsanitize=fuzzer,address,undefined', join(FUZZ_DIR, `fuzz_${target}.cc`), ...SOURCES.map((s) => join(workDir!, `${s}.o`)), '-lssl', '-lcrypto', '-o', join(workDir!, `fuzz_${target}`)],
      process.env,
      300_000,
    );
    assert.equal(result.code, 0, `fuzz_${target}: ${result.stderr}`);
  }
});

for (const target of TARGETS) {
  test(`fuzz_${target} runs ${SECONDS} s without a finding`, { skip, timeout: (SECONDS + 120) * 1000 }, async () => {
    assert.ok(workDir && existsSync(join(workDir, `fuzz_${target}`)), 'the targets were built');
    const corpus = join(workDir, `corpus-${target}`);
    const artifacts = join(workDir, `artifacts-${target}`);
    mkdirSync(corpus, { recursive: true });
    mkdirSync(artifacts, { recursive: true });
    seeds(target).forEach((seed, i) => writeFileSync(join(corpus, `seed-${i}`), seed));
    const result = await runCommand(
      join(workDir, `fuzz_${target}`),
      [`-max_total_time=${SECONDS}`, '-rss_limit_mb=2048', '-timeout=10', '-print_final_stats=1', `-artifact_prefix=${artifacts}/`, corpus],
      { ...process.env, ASAN_OPTIONS: 'detect_leaks=1:abort_on_error=1', UBSAN_OPTIONS: 'print_stacktrace=1:halt_on_error=1' },
      (SECONDS + 90) * 1000,
    );
    const findings = readdirSync(artifacts);
    if (result.code !== 0 || findings.length > 0) {
      const keep = join(FUZZ_DIR, 'artifacts');
      mkdirSync(keep, { recursive: true });
      for (const finding of findings) copyFileSync(join(artifacts, finding), join(keep, `${target}-${finding}`));
      assert.fail(`fuzz_${target} found something (kept in native/fuzz/artifacts/):\n${result.stderr.split('\n').slice(-40).join('\n')}`);
    }
    const runs = /stat::number_of_executed_units:\s*(\d+)/.exec(result.stderr)?.[1];
    assert.ok(Number(runs) > 1000, `fuzz_${target} executed ${runs} inputs`);
  });
}

test('the fuzz work directory goes when every target passed', { skip }, () => {
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});
