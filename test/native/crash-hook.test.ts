/**
 * The test hook that crashes the data-plane thread on demand (for the integration's test that
 * a crash takes down one worker process only): present only with WEBRTC_ECHO_TEST_HOOKS=1,
 * and a real fault that ends the process it runs in.
 * Run: node --import tsx --test test/native/crash-hook.test.ts
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { test } from 'node:test';
import { skipWithoutAddon } from './plane-harness.js';

const SKIP = skipWithoutAddon();

const FIXTURE = resolve(import.meta.dirname, 'fixtures', 'crash-plane.ts');

function runFixture(hooks: boolean): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
  const env = { ...process.env };
  if (hooks) env.WEBRTC_ECHO_TEST_HOOKS = '1';
  else delete env.WEBRTC_ECHO_TEST_HOOKS;
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const killer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(killer);
      resolvePromise({ code, signal, stdout, stderr });
    });
  });
}

test('without WEBRTC_ECHO_TEST_HOOKS=1 a plane has no crash hook', { skip: SKIP }, async () => {
  const result = await runFixture(false);
  assert.match(result.stdout, /hook: undefined/);
  assert.equal(result.code, 0, result.stderr);
});

test('with WEBRTC_ECHO_TEST_HOOKS=1 the hook crashes the data-plane thread, and with it the process', { skip: SKIP }, async () => {
  const result = await runFixture(true);
  assert.match(result.stdout, /hook: function/);
  assert.doesNotMatch(result.stdout, /still alive/);
  if (process.env.LD_PRELOAD?.includes('asan')) {
    // Under the sanitizers the fault is reported first (UBSan sees the null store before the
    // fault, ASan the fault), then the process ends all the same.
    assert.match(result.stderr, /AddressSanitizer: SEGV|runtime error: store to null pointer/);
    assert.notEqual(result.code, 0);
  } else {
    assert.equal(result.signal, 'SIGSEGV', `exit ${result.code} ${result.signal}: ${result.stderr}`);
  }
});
