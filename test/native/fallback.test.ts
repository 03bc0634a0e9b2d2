/**
 * Where the native addon cannot load (not built: no compiler; a Node without OpenSSL; another
 * platform; off on purpose), `serve --engine native` says so once and serves with libdatachannel:
 * the one `engine-fallback` warning with the loader's reason, `/healthz` naming libdatachannel,
 * clients that connect and echo. With --workers, the primary decides once and the workers run
 * the fallback. (Why the loader finds the addon unavailable: build.test.ts.) And `serve` without
 * --engine: the default server engine, or, given --ice-server, one that gathers through it.
 * Run: node --import tsx --test test/native/fallback.test.ts
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_SERVER_ENGINE, defaultServerEngine, ENGINE_NAMES, loadEngine } from '../../src/engines/registry.js';
import { runCli } from '../helpers/cli.js';
import { spawnServe } from '../helpers/serve-process.js';
import { skipWithoutAddon } from './plane-harness.js';

const CASES = [
  { name: 'off on purpose (WEBRTC_ECHO_NATIVE=off)', env: { WEBRTC_ECHO_NATIVE: 'off' }, reason: /^the native data plane is off \(WEBRTC_ECHO_NATIVE=off\)$/ },
  { name: 'an addon that does not load', env: { WEBRTC_ECHO_NATIVE_ADDON: '/nonexistent/webrtc_echo_native.node' }, reason: /^cannot load \/nonexistent\/webrtc_echo_native\.node: / },
];

for (const { name, env, reason } of CASES) {
  for (const workers of [1, 2]) {
    test(`serve --engine native --workers ${workers}, the addon ${name}: says so once and serves with libdatachannel`, { timeout: 90_000 }, async (t) => {
      const server = await spawnServe(t, ['--engine', 'native', '--workers', String(workers), '--host', '127.0.0.1', '--port', '0'], { env: { ...process.env, ...env } });
      const run = await runCli(['client', '-s', `${server.url}/offer`, '-t', '1', '--json', '--timeout', '15'], 30_000);
      assert.equal(run.code, 0, run.stderr);
      const fallbacks = server.logs.filter((line) => line.event === 'engine-fallback');
      assert.equal(fallbacks.length, 1, `said once: ${JSON.stringify(fallbacks)}`);
      const [said] = fallbacks;
      assert.equal(said!.level, 40, 'a warning');
      assert.deepEqual([said!.engine, said!.fallback], ['native', 'libdatachannel']);
      assert.match(String(said!.reason), reason);
      assert.equal((await server.event('listening')).engine, 'libdatachannel');
      const health = (await (await fetch(`${server.url}/healthz`)).json()) as { engine: string };
      assert.equal(health.engine, 'libdatachannel');
      const connected = server.logs.filter((line) => line.event === 'session-connected');
      assert.ok(connected.length >= 1 && connected.every((line) => line.engine === 'libdatachannel'), JSON.stringify(connected));
    });
  }
}

test('--ice-server is refused at start for the native engine, which gathers host candidates only', { skip: skipWithoutAddon(), timeout: 30_000 }, async () => {
  const run = await runCli(['serve', '--host', '127.0.0.1', '--port', '0', '--engine', 'native', '--ice-server', 'stun:127.0.0.1:3478'], 20_000);
  assert.equal(run.code, 1);
  assert.match(run.stderr, /the native engine gathers host candidates only and takes no --ice-server/);
});

/** Connects a data channel client to `server`; returns the engine it names in every place it names one. */
async function engineServing(server: Awaited<ReturnType<typeof spawnServe>>): Promise<string> {
  const run = await runCli(['client', '-s', `${server.url}/offer`, '-t', '1', '--json', '--timeout', '15'], 30_000);
  assert.equal(run.code, 0, run.stderr);
  const listening = String((await server.event('listening')).engine);
  const health = (await (await fetch(`${server.url}/healthz`)).json()) as { engine: string };
  const connected = await server.event('session-connected');
  assert.deepEqual([health.engine, connected.engine], [listening, listening]);
  return listening;
}

test(`serve without --engine runs the default server engine (${DEFAULT_SERVER_ENGINE}) and says nothing of engines`, { timeout: 90_000 }, async (t) => {
  const server = await spawnServe(t, ['--host', '127.0.0.1', '--port', '0', '--workers', '1']);
  assert.equal(await engineServing(server), DEFAULT_SERVER_ENGINE);
  assert.deepEqual(server.logs.filter((line) => line.event === 'engine-fallback' || line.event === 'engine-default'), []);
});

test('serve without --engine but with --ice-server runs an engine that gathers through it, and says why once when that is not the default', { timeout: 90_000 }, async (t) => {
  // A STUN server nobody answers: gathering gives up on it within --gather-timeout; host candidates still connect.
  const server = await spawnServe(t, ['--host', '127.0.0.1', '--port', '0', '--workers', '1', '--ice-server', 'stun:127.0.0.1:9', '--gather-timeout', '2']);
  const name = await engineServing(server);
  assert.ok((await loadEngine(name as (typeof ENGINE_NAMES)[number])).capabilities.iceServers, `${name} gathers through --ice-server`);
  const said = server.logs.filter((line) => line.event === 'engine-default');
  assert.equal(said.length, name === DEFAULT_SERVER_ENGINE ? 0 : 1, JSON.stringify(said));
});

test('the default for a server given --ice-server: every engine that gathers through it is kept; native gives way to the fallback, saying why', () => {
  for (const name of ENGINE_NAMES) {
    assert.deepEqual(defaultServerEngine(0, name), { name }, `${name} without --ice-server`);
  }
  for (const name of ['libdatachannel', 'werift', 'libwebrtc'] as const) assert.deepEqual(defaultServerEngine(1, name), { name });
  assert.deepEqual(defaultServerEngine(2, 'native'), { name: 'libdatachannel', because: '--ice-server is given, and the native engine gathers host candidates only' });
});

test('what the registry knows of each engine before it loads matches the engine: --ice-server', { skip: skipWithoutAddon(), timeout: 30_000 }, async () => {
  for (const name of ENGINE_NAMES) {
    const gathers = (await loadEngine(name)).capabilities.iceServers;
    assert.equal(defaultServerEngine(1, name).name === name, gathers, name);
  }
});
