/**
 * How the native plane is built and loaded: the loader returns the addon or one line saying
 * why not (off on purpose, a missing file, something else than our addon, no build), and the
 * build script, run by `npm ci` as the install step, warns once and exits 0 when it cannot
 * build (no compiler here), but fails a build asked for by hand.
 * Run: node --import tsx --test test/native/build.test.ts
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test, type TestContext } from 'node:test';
import { loadNativeAddon } from '../../src/engines/native/addon.js';
import { runCommand } from '../helpers/run-command.js';
import { skipWithoutAddon } from './plane-harness.js';

const ROOT = resolve(import.meta.dirname, '..', '..');
const SCRIPT = join(ROOT, 'scripts', 'build-native.mjs');

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'native-build-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('the loader gives the addon built for this Node, lending it its OpenSSL', { skip: skipWithoutAddon() }, () => {
  const load = loadNativeAddon();
  assert.ok('addon' in load, 'unavailable' in load ? load.unavailable : '');
  const versions = load.addon.versions();
  assert.equal(versions.addon, '0.1.0');
  assert.ok(versions.openssl?.startsWith(`OpenSSL ${process.versions.openssl.replace(/\+.*$/, '')}`), versions.openssl);
  assert.equal(loadNativeAddon(), load, 'loaded once');
});

test('the loader says why the addon is unavailable, in one line', (t) => {
  const off = loadNativeAddon({ env: { WEBRTC_ECHO_NATIVE: 'off' } });
  assert.deepEqual(off, { unavailable: 'the native data plane is off (WEBRTC_ECHO_NATIVE=off)' });

  const dir = tempDir(t);
  const missing = loadNativeAddon({ path: join(dir, 'nothing.node') });
  assert.ok('unavailable' in missing && /^cannot load .*nothing\.node: /.test(missing.unavailable), JSON.stringify(missing));

  const impostor = join(dir, 'impostor.cjs');
  writeFileSync(impostor, 'module.exports = { hello: 1 };');
  assert.deepEqual(loadNativeAddon({ path: impostor }), { unavailable: `${impostor} is not the webrtc-echo native addon` });

  // A directory without a build, and then with the status the build script leaves behind.
  const unbuilt = loadNativeAddon({ dir, env: {} });
  assert.ok('unavailable' in unbuilt && unbuilt.unavailable.includes(`was not built for ${process.platform}-${process.arch}`), JSON.stringify(unbuilt));
  mkdirSync(join(dir, 'build'), { recursive: true });
  writeFileSync(join(dir, 'build', 'webrtc-echo-build.json'), JSON.stringify({ ok: false, reason: 'no C++ toolchain (a compiler, make and python3 are needed)' }));
  const explained = loadNativeAddon({ dir, env: {} });
  assert.ok('unavailable' in explained && explained.unavailable.includes(': no C++ toolchain'), JSON.stringify(explained));
  for (const load of [off, missing, unbuilt, explained]) assert.ok('unavailable' in load && !load.unavailable.includes('\n'));
});

test('without a compiler the install step warns once and exits 0; asked for by hand it fails', { timeout: 300_000 }, async (t) => {
  const dir = tempDir(t);
  const env = { ...process.env, CC: '/nonexistent/cc', CXX: '/nonexistent/c++', LINK: '/nonexistent/c++' };
  const optional = await runCommand(process.execPath, [SCRIPT, '--optional', '--out-dir', dir], env, 240_000);
  assert.equal(optional.code, 0, optional.stderr);
  const warnings = optional.stderr.split('\n').filter((line) => line.startsWith('webrtc-echo: the native data plane was not built'));
  assert.equal(warnings.length, 1, optional.stderr);
  assert.match(warnings[0]!, /no C\+\+ toolchain|node-gyp exited/);
  assert.equal(existsSync(join(dir, 'build', 'Release', 'webrtc_echo_native.node')), false);
  const status = JSON.parse(readFileSync(join(dir, 'build', 'webrtc-echo-build.json'), 'utf8')) as { ok: boolean; reason: string };
  assert.equal(status.ok, false);

  const strict = await runCommand(process.execPath, [SCRIPT, '--out-dir', dir], env, 240_000);
  assert.equal(strict.code, 1);

  const skipped = await runCommand(process.execPath, [SCRIPT, '--optional', '--out-dir', dir], { ...process.env, WEBRTC_ECHO_NATIVE_BUILD: 'skip' }, 60_000);
  assert.equal(skipped.code, 0);
  assert.match(skipped.stderr, /WEBRTC_ECHO_NATIVE_BUILD=skip/);
});

test('package.json builds the addon at install and ships its sources', () => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string>; files: string[]; dependencies: Record<string, string> };
  assert.equal(pkg.scripts.install, 'node scripts/build-native.mjs --optional');
  for (const file of ['native/binding.gyp', 'native/src', 'scripts/build-native.mjs']) assert.ok(pkg.files.includes(file), file);
  for (const dependency of ['node-gyp', 'node-gyp-build', 'node-addon-api']) assert.ok(pkg.dependencies[dependency], dependency);
});
