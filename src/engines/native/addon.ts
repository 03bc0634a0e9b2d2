/**
 * Loads the native data plane (native/, built at `npm ci` by scripts/build-native.mjs) through
 * node-gyp-build, which takes native/build/Release or, later, a prebuilt binary from
 * native/prebuilds/<platform>-<arch>. Where it cannot load, the answer says why, in one line
 * the server can log once before it falls back to libdatachannel.
 *
 * WEBRTC_ECHO_NATIVE_ADDON=<file.node> loads that file instead (the ASan build, for one);
 * WEBRTC_ECHO_NATIVE=off makes the addon unavailable on purpose.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NativeAddon } from './plane.js';

export type NativeAddonLoad = { addon: NativeAddon } | { unavailable: string };

const require = createRequire(import.meta.url);

/** native/ at the package root, from src/engines/native as from dist/engines/native. */
export const NATIVE_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'native');

let defaultLoad: NativeAddonLoad | undefined;

export interface LoadOptions {
  /** One .node file to load (default: $WEBRTC_ECHO_NATIVE_ADDON, else node-gyp-build's pick in `dir`). */
  path?: string;
  /** Where node-gyp-build looks (default: native/ of this package). */
  dir?: string;
  env?: NodeJS.ProcessEnv;
}

/** The addon, or the reason it is unavailable. The default load is done once per process. */
export function loadNativeAddon(options: LoadOptions = {}): NativeAddonLoad {
  const env = options.env ?? process.env;
  const path = options.path ?? env.WEBRTC_ECHO_NATIVE_ADDON;
  if (env.WEBRTC_ECHO_NATIVE === 'off') return { unavailable: 'the native data plane is off (WEBRTC_ECHO_NATIVE=off)' };
  const isDefault = path === undefined && options.dir === undefined;
  if (isDefault && defaultLoad) return defaultLoad;
  const load = loadFrom(path, options.dir ?? NATIVE_DIR);
  if (isDefault) defaultLoad = load;
  return load;
}

function loadFrom(path: string | undefined, dir: string): NativeAddonLoad {
  if (!process.versions.openssl) {
    return { unavailable: `Node ${process.version} has no OpenSSL, which the native data plane borrows from Node` };
  }
  let loaded: unknown;
  try {
    loaded = path !== undefined ? require(resolve(path)) : (require('node-gyp-build') as (dir: string) => unknown)(dir);
  } catch (err) {
    return { unavailable: reasonNotLoaded(err, path, dir) };
  }
  if (!isNativeAddon(loaded)) return { unavailable: `${path ?? dir} is not the webrtc-echo native addon` };
  return { addon: loaded };
}

function isNativeAddon(value: unknown): value is NativeAddon {
  const candidate = value as Partial<NativeAddon> | undefined;
  return typeof candidate?.createPlane === 'function' && typeof candidate.versions === 'function';
}

function reasonNotLoaded(err: unknown, path: string | undefined, dir: string): string {
  const message = (err instanceof Error ? err.message : String(err)).split('\n')[0] ?? '';
  if (path !== undefined) return `cannot load ${path}: ${message}`;
  if (/undefined symbol/.test(message)) {
    return `the native data plane cannot use this Node's OpenSSL (${message}); a Node with OpenSSL 3 is needed`;
  }
  if (/No native build was found/.test(message)) {
    const status = buildStatus(dir);
    const why = status?.ok === false && status.reason ? `: ${status.reason}` : '';
    return `the native data plane was not built for ${process.platform}-${process.arch} Node ${process.version}${why} (node scripts/build-native.mjs builds it)`;
  }
  return `cannot load the native data plane: ${message}`;
}

/** What scripts/build-native.mjs wrote about its last build in `dir`, if anything. */
function buildStatus(dir: string): { ok?: boolean; reason?: string } | undefined {
  const file = join(dir, 'build', 'webrtc-echo-build.json');
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as { ok?: boolean; reason?: string };
  } catch {
    return undefined;
  }
}
