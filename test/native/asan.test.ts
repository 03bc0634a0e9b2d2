/**
 * The native plane's addon tests again, on the ASan+UBSan build of the addon
 * (`node scripts/build-native.mjs --asan`, native/build-asan/) loaded into node with clang's
 * ASan runtime preloaded: the echo in both roles and profiles, the RTCP relay, sessions
 * closed under traffic, shared sockets, OpenSSL's peers, the crash hook. Any ASan or UBSan
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
const SUITES = ['echo-werift', 'rtcp-relay', 'sessions', 'dtls-openssl', 'crash-hook', 'teardown'].map((name) => join('test', 'native', `${name}.test.ts`));

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

test('the addon tests pass on the ASan build without a sanitizer report', { skip, timeout: 900_000 }, async () => {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    LD_PRELOAD: runtime!,
    // node was not built with ASan: no leak check at its exit, no complaint about its own ODR.
    ASAN_OPTIONS: 'detect_leaks=0:detect_odr_violation=0:abort_on_error=1:print_summary=1',
    UBSAN_OPTIONS: 'print_stacktrace=1:halt_on_error=1',
    WEBRTC_ECHO_NATIVE_ADDON: ADDON,
    WEBRTC_ECHO_EXPECT_SANITIZERS: '1',
  };
  delete env.NODE_TEST_CONTEXT; // a test runner of its own, reporting as usual

  const run = await runCommand(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=tap', '--test-concurrency=1', ...SUITES], env, 840_000, ROOT);
  const output = `${run.stdout}\n${run.stderr}`;
  const tail = output.split('\n').slice(-60).join('\n');
  // (The crash hook's own report stays inside its child process unless that test fails.)
  assert.doesNotMatch(output, /ERROR: AddressSanitizer/, tail);
  assert.doesNotMatch(output, /runtime error:/, tail);
  assert.equal(run.code, 0, tail);
  assert.match(run.stdout, /# fail 0/);
});
