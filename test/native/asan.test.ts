/**
 * The native plane's addon tests again, on the ASan+UBSan build of the addon
 * (`node scripts/build-native.mjs --asan`, native/build-asan/) loaded into node with clang's
 * ASan runtime preloaded: the echo in both roles and profiles, the RTCP relay, WHEP playback, sessions
 * closed under traffic, shared sockets, packet info, OpenSSL's peers, the crash hook, and the
 * native engine's conformance suite and control-plane tests. Any ASan or UBSan
 * report fails it. (Leak checking is off: node itself does not free everything at exit; the
 * fuzz targets check leaks of the same classes.) Needs clang and libclang-rt-14-dev.
 * Run: node --import tsx --test test/native/asan.test.ts
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { runCommand } from '../helpers/run-command.js';
import { skipUnlessCi } from '../helpers/timeout.js';

const ROOT = resolve(import.meta.dirname, '..', '..');
const ADDON = join(ROOT, 'native', 'build-asan', 'build', 'Release', 'webrtc_echo_native.node');
const ADDON_SUITES = ['echo-werift', 'rtcp-relay', 'playback', 'sessions', 'addresses', 'stun-answers', 'dtls-openssl', 'crash-hook', 'teardown'].map((name) => join('test', 'native', `${name}.test.ts`));
/**
 * The engine itself on the ASan build: its conformance suite (WEBRTC_ECHO_CONFORMANCE_ENGINES)
 * and its control plane against our client stacks on the real plane. These load
 * node-datachannel, whose addon links libstdc++ statically: ASan, preloaded, sees its
 * `operator new` and the `free` under its static `operator delete` as a mismatch inside
 * libdatachannel (rtc::Description::Media::RtpMap::~RtpMap, on every video offer). That one check
 * is off for this run; every other ASan and UBSan check stays on, for our addon as before.
 */
const ENGINE_SUITES = ['engines/conformance', 'engines/native-session', 'engines/native-ice'].map((name) => join('test', `${name}.test.ts`));

function asanRuntime(): string | undefined {
  const result = spawnSync('clang', ['-print-file-name=libclang_rt.asan-x86_64.so'], { encoding: 'utf8' });
  const path = result.status === 0 ? result.stdout.trim() : '';
  return existsSync(path) ? path : undefined;
}

const runtime = asanRuntime();
const skip = skipUnlessCi(runtime ? undefined : "clang's ASan runtime is not installed (clang, libclang-rt-14-dev)");

test('the addon builds with ASan and UBSan', { skip, timeout: 900_000 }, async () => {
  const build = await runCommand(process.execPath, [join(ROOT, 'scripts', 'build-native.mjs'), '--asan'], process.env, 840_000, ROOT);
  assert.equal(build.code, 0, `${build.stdout}\n${build.stderr}`);
  assert.ok(existsSync(ADDON));
});

async function runOnAsan(suites: string[], extraAsanOptions = ''): Promise<void> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    LD_PRELOAD: runtime!,
    // node was not built with ASan: no leak check at its exit, no complaint about its own ODR.
    ASAN_OPTIONS: `detect_leaks=0:detect_odr_violation=0:abort_on_error=1:print_summary=1${extraAsanOptions}`,
    UBSAN_OPTIONS: 'print_stacktrace=1:halt_on_error=1',
    WEBRTC_ECHO_NATIVE_ADDON: ADDON,
    WEBRTC_ECHO_EXPECT_SANITIZERS: '1',
    WEBRTC_ECHO_CONFORMANCE_ENGINES: 'native',
  };
  delete env.NODE_TEST_CONTEXT; // a test runner of its own, reporting as usual

  const run = await runCommand(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=tap', '--test-concurrency=1', ...suites], env, 840_000, ROOT);
  const output = `${run.stdout}\n${run.stderr}`;
  const tail = output.split('\n').slice(-60).join('\n');
  // (The crash hook's own report stays inside its child process unless that test fails.)
  assert.doesNotMatch(output, /ERROR: AddressSanitizer/, tail);
  assert.doesNotMatch(output, /runtime error:/, tail);
  assert.equal(run.code, 0, tail);
  assert.match(run.stdout, /# fail 0/);
}

test('the addon tests pass on the ASan build without a sanitizer report', { skip, timeout: 900_000 }, async () => {
  await runOnAsan(ADDON_SUITES);
});

test("the native engine's conformance suite and control-plane tests pass on the ASan build without a sanitizer report", { skip, timeout: 900_000 }, async () => {
  await runOnAsan(ENGINE_SUITES, ':alloc_dealloc_mismatch=0');
});
