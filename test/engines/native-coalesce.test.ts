/**
 * WEBRTC_ECHO_NATIVE_COALESCE_US, the operator's knob for the native plane's interrupt
 * moderation (coalesceMicroseconds): parsed strictly, a bad value stops `serve` with the reason
 * (rather than serving with a setting it was not given), and a plane set to 0 still echoes.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { planeOptionsFromEnv } from '../../src/engines/native/plane-host.js';
import { runCli } from '../helpers/cli.js';
import { startTestServer } from '../helpers/server.js';
import { skipWithoutAddon } from '../native/plane-harness.js';

const skip = skipWithoutAddon();

test('the variable is read strictly: unset is the plane default, 0-100000 is taken, anything else throws', () => {
  assert.deepEqual(planeOptionsFromEnv({}), {});
  assert.deepEqual(planeOptionsFromEnv({ WEBRTC_ECHO_NATIVE_COALESCE_US: '' }), {});
  assert.deepEqual(planeOptionsFromEnv({ WEBRTC_ECHO_NATIVE_COALESCE_US: '0' }), { coalesceMicroseconds: 0 });
  assert.deepEqual(planeOptionsFromEnv({ WEBRTC_ECHO_NATIVE_COALESCE_US: '100000' }), { coalesceMicroseconds: 100_000 });
  for (const bad of ['-1', '1.5', 'abc', '100001', '2e2']) {
    assert.throws(() => planeOptionsFromEnv({ WEBRTC_ECHO_NATIVE_COALESCE_US: bad }), /WEBRTC_ECHO_NATIVE_COALESCE_US must be an integer 0-100000/, bad);
  }
});

test('WEBRTC_ECHO_NATIVE_ICE_ANSWERS: 0 leaves every check to JavaScript, 1 or unset is the plane default (answer them), anything else throws', () => {
  assert.deepEqual(planeOptionsFromEnv({ WEBRTC_ECHO_NATIVE_ICE_ANSWERS: '0' }), { answerIceChecks: false });
  assert.deepEqual(planeOptionsFromEnv({ WEBRTC_ECHO_NATIVE_ICE_ANSWERS: '1', WEBRTC_ECHO_NATIVE_COALESCE_US: '0' }), { answerIceChecks: true, coalesceMicroseconds: 0 });
  assert.deepEqual(planeOptionsFromEnv({ WEBRTC_ECHO_NATIVE_ICE_ANSWERS: '' }), {});
  for (const bad of ['yes', 'true', '2']) assert.throws(() => planeOptionsFromEnv({ WEBRTC_ECHO_NATIVE_ICE_ANSWERS: bad }), /WEBRTC_ECHO_NATIVE_ICE_ANSWERS must be 0 or 1/, bad);
});

/** Runs the CLI with the variable set (runCli's child inherits this process's environment). */
async function withCoalesce<T>(value: string, body: () => Promise<T>): Promise<T> {
  const before = process.env.WEBRTC_ECHO_NATIVE_COALESCE_US;
  process.env.WEBRTC_ECHO_NATIVE_COALESCE_US = value;
  try {
    return await body();
  } finally {
    if (before === undefined) delete process.env.WEBRTC_ECHO_NATIVE_COALESCE_US;
    else process.env.WEBRTC_ECHO_NATIVE_COALESCE_US = before;
  }
}

test('serve --engine native refuses to start with a bad value, and says which', { skip }, async () => {
  const run = await withCoalesce('fast', () => runCli(['serve', '--engine', 'native', '--host', '127.0.0.1', '--port', '0'], 20_000));
  assert.notEqual(run.code, 0, 'serve must not start');
  assert.match(run.stderr + run.stdout, /WEBRTC_ECHO_NATIVE_COALESCE_US must be an integer/);
});

test('with 0 (no moderation) the native server echoes media: client test 0 passes', { skip }, async (t) => {
  // The engine reads the variable when it first loads in this process: no native server before this one.
  const server = await withCoalesce('0', () => startTestServer(t, 'native'));
  const run = await runCli(['client', '-s', `${server.url}/offer`, '-t', '0', '--json', '--timeout', '15'], 30_000);
  assert.equal(run.code, 0, run.stderr);
});
