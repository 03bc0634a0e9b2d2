/**
 * The portable I/O path of the native plane (recvfrom/sendto and poll(2), what macOS and other
 * systems without recvmmsg/sendmmsg/epoll get), built on Linux with ECHO_PORTABLE_IO=1
 * (`node scripts/build-native.mjs --portable`) and run through the werift echo tests, so that
 * it keeps compiling and working here. (Not a test on macOS itself: there is none here.)
 * Run: node --import tsx --test test/native/portable-io.test.ts
 */
import assert from 'node:assert/strict';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { runCommand } from '../helpers/run-command.js';
import { skipWithoutAddon } from './plane-harness.js';

const SKIP = skipWithoutAddon();

const ROOT = resolve(import.meta.dirname, '..', '..');
const ADDON = join(ROOT, 'native', 'build-portable', 'build', 'Release', 'webrtc_echo_native.node');

test('the portable build uses recvfrom/sendto and poll, and echoes like the batched one', { skip: SKIP, timeout: 600_000 }, async () => {
  const build = await runCommand(process.execPath, [join(ROOT, 'scripts', 'build-native.mjs'), '--portable'], process.env, 540_000, ROOT);
  assert.equal(build.code, 0, `${build.stdout}\n${build.stderr}`);
  const env: NodeJS.ProcessEnv = { ...process.env, WEBRTC_ECHO_NATIVE_ADDON: ADDON };
  delete env.NODE_TEST_CONTEXT;
  const versions = await runCommand(process.execPath, ['-p', `JSON.stringify(require(${JSON.stringify(ADDON)}).versions())`], env);
  assert.equal((JSON.parse(versions.stdout) as { io: string }).io, 'recvfrom/sendto, poll');
  const run = await runCommand(
    process.execPath,
    ['--import', 'tsx', '--test', '--test-reporter=tap', '--test-concurrency=1', join('test', 'native', 'echo-werift.test.ts'), join('test', 'native', 'sessions.test.ts')],
    env,
    300_000,
    ROOT,
  );
  assert.equal(run.code, 0, run.stdout.split('\n').slice(-40).join('\n'));
  assert.match(run.stdout, /# fail 0/);
});
