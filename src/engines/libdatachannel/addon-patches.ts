/**
 * node-datachannel's prebuilt addon with a few 32-bit values changed, in one copy that
 * node-datachannel loads instead of its own.
 *
 * Each patch is a finder that returns the file offset of one value in the addon's machine code
 * (or nothing unless exactly one such place exists) and the value we write there:
 *
 * - `sctp-zero-checksum-off` (zero-checksum.ts): SCTP_ACCEPT_ZERO_CHECKSUM set to
 *   SCTP_EDMID_NONE, so old pion can open data channels with us (docs/sctp-zero-checksum.md).
 * - `triggered-check-now` (triggered-check.ts): libjuice's triggered check armed with 1 ms
 *   instead of 50, so clients we learn from their checks connect ~50 ms sooner
 *   (docs/triggered-check.md).
 *
 * Two moments, never mixed:
 *
 * - Build time (`applyAddonPatches`, run by scripts/patch-addon.mjs from `npm ci`'s prepare and
 *   from the Dockerfile, while node_modules is writable): the copy goes where node-datachannel
 *   loads a local build first (`<package>/build/Release/node_datachannel.node`, its
 *   lib/node-datachannel.mjs), never touching the installed file. A stamp beside the copy names
 *   the binary it came from and the patches in it; a changed binary, or another list of patches,
 *   is patched again.
 * - Run time (`requireAddonPatches`, before node-datachannel is first imported): reads, never
 *   writes. The copy must be the installed addon with exactly the stamp's values at the stamp's
 *   offsets, every patch of the list among them; otherwise the engine refuses to load, saying what
 *   is missing, what the stack then does wrong and how to build the copy. (It used to write the
 *   copy at the first engine load and only warn when it could not: the container image, whose
 *   node_modules is read-only to the server, ran without either patch.)
 *   ECHO_ALLOW_UNPATCHED_ADDON=1 runs the stock addon anyway, with a warning: for platforms the
 *   patches do not exist for.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { findTriggeredCheckDelay, STUN_PACING_TIME, TRIGGERED_CHECK_DELAY_MS } from './triggered-check.js';
import { findZeroChecksumValue } from './zero-checksum.js';

export type AddonPatchName = 'sctp-zero-checksum-off' | 'triggered-check-now';

export interface AddonPatch {
  name: AddonPatchName;
  /** The file offset of the 32-bit value, or undefined unless exactly one place exists. */
  find(image: Buffer): number | undefined;
  /** The value written there. */
  value: number;
  /** What the stack does while the patch is not applied (said in the warning). */
  without: string;
}

export const ADDON_PATCHES: readonly AddonPatch[] = [
  {
    name: 'sctp-zero-checksum-off',
    find: findZeroChecksumValue,
    value: 0, // SCTP_EDMID_NONE
    without: 'node-datachannel keeps SCTP zero checksum on, so data channels with pion before v3.2.27 will not open',
  },
  {
    name: 'triggered-check-now',
    find: findTriggeredCheckDelay,
    value: TRIGGERED_CHECK_DELAY_MS,
    without: `libjuice sends its triggered checks ${STUN_PACING_TIME} ms late, so pion and libdatachannel clients connect to our server ~${STUN_PACING_TIME} ms later`,
  },
];

export type PatchResult = { name: AddonPatchName; applied: true; offset: number } | { name: AddonPatchName; applied: false; reason: string };

export interface AddonPatchState {
  /** The copy node-datachannel loads, when one of ours is in place. */
  binary?: string;
  /** The installed addon it came from. */
  source?: string;
  /** One per patch, in the order of the list. */
  patches: PatchResult[];
}

/** Whether node-datachannel loads an addon with that patch in it. */
export function isApplied(state: AddonPatchState, name: AddonPatchName): boolean {
  return state.patches.some((p) => p.name === name && p.applied);
}

interface Stamp {
  source: string;
  sourceSha256: string;
  sourceSize: number;
  sourceMtimeMs: number;
  /** Every patch of the list at the time, with its offset, or null where it was not found. */
  patches: Array<{ name: AddonPatchName; offset: number | null; value: number }>;
  patchedSize: number;
  patchedMtimeMs: number;
}

/** The stamp's name beside the copy; the zero checksum patch alone used to write the legacy one. */
const STAMP_SUFFIX = '.patches.json';
const LEGACY_STAMP_SUFFIX = '.zero-checksum.json';

/** The native-addon package node-datachannel itself picks (its lib/node-datachannel.mjs, with its detect-libc). */
function platformPackage(dir: string): string | undefined {
  if (process.platform !== 'linux' || process.arch !== 'x64') return undefined;
  const detectLibc = createRequire(join(dir, 'package.json'))('detect-libc') as { familySync(): string | null; MUSL: string };
  return detectLibc.familySync() === detectLibc.MUSL ? '@node-datachannel/linux-x64-musl' : '@node-datachannel/linux-x64-gnu';
}

/** node-datachannel's package folder (its exports hide package.json, so from its main file). */
function nodeDatachannelDir(require: NodeJS.Require): string {
  let dir = dirname(require.resolve('node-datachannel'));
  while (readJson<{ name?: string }>(join(dir, 'package.json'))?.name !== 'node-datachannel') {
    const up = dirname(dir);
    if (up === dir) throw new Error('node-datachannel package folder not found');
    dir = up;
  }
  return dir;
}

/** Where node-datachannel's installed addon is for this platform, and where it loads our copy from. */
export type AddonLocation = { source: string; binary: string } | { unsupported: string };

/** `packageDir`: node-datachannel's folder (default: the one this module resolves). */
export function locateAddon(packageDir?: string): AddonLocation {
  const dir = packageDir ?? nodeDatachannelDir(createRequire(import.meta.url));
  const pkg = platformPackage(dir);
  if (!pkg) return { unsupported: `no patch for ${process.platform}-${process.arch} (the patches are for the linux-x64 addons)` };
  return {
    source: createRequire(join(dir, 'package.json')).resolve(pkg),
    // The first place node-datachannel's loader looks (lib/node-datachannel.mjs: a local build).
    binary: join(dir, 'build', 'Release', 'node_datachannel.node'),
  };
}

/** The build step: writes (or keeps) the patched copy for this platform. Never throws. */
export function applyAddonPatches(packageDir?: string): AddonPatchState {
  try {
    const where = locateAddon(packageDir);
    return 'unsupported' in where ? notApplied(ADDON_PATCHES, where.unsupported) : writePatchedCopy(where.source, where.binary);
  } catch (err) {
    return notApplied(ADDON_PATCHES, message(err));
  }
}

/** The command that writes the copy, for messages. */
export const BUILD_STEP = 'node scripts/patch-addon.mjs (npm ci runs it; so does the Dockerfile)';
const ALLOW_UNPATCHED = 'ECHO_ALLOW_UNPATCHED_ADDON';

/** The libdatachannel engine cannot start: a patch of ADDON_PATCHES is not in the addon node-datachannel would load. */
export class AddonPatchError extends Error {
  constructor(readonly state: AddonPatchState) {
    super(
      `node-datachannel would load its addon without our patches. ${describeMissing(state)}. ` +
        `Build the patched copy with ${BUILD_STEP}, or set ${ALLOW_UNPATCHED}=1 to run the stock addon anyway (or use another --engine).`,
    );
    this.name = 'AddonPatchError';
  }
}

let required: AddonPatchState | undefined;

/**
 * The run-time check, before node-datachannel is first imported: the copy it will load has
 * every patch (refuseUnpatched). Reads only; once per process (~10 ms: two reads of the ~9 MB
 * addon and a compare).
 */
export function requireAddonPatches(): AddonPatchState {
  return (required ??= refuseUnpatched(checkAddonPatches()));
}

/**
 * `state` if it has every patch; otherwise throws AddonPatchError, unless
 * ECHO_ALLOW_UNPATCHED_ADDON=1 in `env` (then a process warning names each missing patch).
 */
export function refuseUnpatched(state: AddonPatchState, env: NodeJS.ProcessEnv = process.env): AddonPatchState {
  if (state.patches.every((p) => p.applied)) return state;
  if (env[ALLOW_UNPATCHED] !== '1') throw new AddonPatchError(state);
  process.emitWarning(`${ALLOW_UNPATCHED}=1: running node-datachannel without our patches. ${describeMissing(state)}`);
  return state;
}

/** What the copy node-datachannel would load here holds (for this platform, or node-datachannel in `packageDir`). */
export function checkAddonPatches(packageDir?: string): AddonPatchState {
  try {
    const where = locateAddon(packageDir);
    return 'unsupported' in where ? notApplied(ADDON_PATCHES, where.unsupported) : checkPatchedCopy(where.source, where.binary);
  } catch (err) {
    return notApplied(ADDON_PATCHES, message(err));
  }
}

/**
 * Whether `binary` is `source` with the patches its stamp lists, and nothing else: read from
 * both files, not from sizes or times (a container image's COPY need not keep mtimes). Each
 * patch of `patches` is applied if the stamp has it with its value. Never writes, never throws.
 */
export function checkPatchedCopy(source: string, binary: string, patches: readonly AddonPatch[] = ADDON_PATCHES): AddonPatchState {
  try {
    if (!existsSync(binary)) return notApplied(patches, `no patched copy at ${binary}`);
    const stamp = readJson<Stamp>(`${binary}${STAMP_SUFFIX}`);
    if (!stamp || !Array.isArray(stamp.patches)) return notApplied(patches, `${binary} has no stamp of ours beside it (a local build, or a copy from before the build step)`);
    const expected = readFileSync(source);
    for (const p of stamp.patches) if (p.offset !== null) expected.writeUInt32LE(p.value, p.offset);
    if (!readFileSync(binary).equals(expected)) {
      return notApplied(patches, `${binary} is not ${source} with the patches its stamp lists (node-datachannel changed since the build step?)`);
    }
    return {
      binary,
      source,
      patches: patches.map((p) => {
        const stamped = stamp.patches.find((s) => s.name === p.name);
        if (!stamped || stamped.offset === null || stamped.value !== p.value) {
          return { name: p.name, applied: false, reason: `not in ${binary} (${stamped ? `its place was not found in ${source}` : 'the copy predates this patch'})` };
        }
        return { name: p.name, applied: true, offset: stamped.offset };
      }),
    };
  } catch (err) {
    return notApplied(patches, message(err));
  }
}

/** One sentence per missing patch: what the stack does without it, and why it is missing. */
export function describeMissing(state: AddonPatchState): string {
  const byName = new Map(ADDON_PATCHES.map((p) => [p.name, p]));
  return state.patches
    .filter((p): p is Extract<PatchResult, { applied: false }> => !p.applied)
    .map((p) => `Without ${p.name}, ${byName.get(p.name)?.without ?? 'the stack is stock'} (${p.reason})`)
    .join('. ');
}

function notApplied(patches: readonly AddonPatch[], reason: string): AddonPatchState {
  return { patches: patches.map((p) => ({ name: p.name, applied: false, reason })) };
}

/**
 * Writes `source` with every patch found to `binary`, unless it is there already (the stamp
 * beside it matches the source and the list). Removes a copy of ours that the current `source`
 * no longer justifies, and leaves alone a `binary` that is not ours (a real local build).
 */
export function writePatchedCopy(source: string, binary: string, patches: readonly AddonPatch[] = ADDON_PATCHES): AddonPatchState {
  try {
    const stampFile = `${binary}${STAMP_SUFFIX}`;
    const legacyStampFile = `${binary}${LEGACY_STAMP_SUFFIX}`;
    const sourceStat = statSync(source);
    const binaryStat = existsSync(binary) ? statSync(binary) : undefined;
    const describes = (s: { patchedSize: number; patchedMtimeMs: number } | undefined) =>
      s !== undefined && binaryStat !== undefined && binaryStat.size === s.patchedSize && binaryStat.mtimeMs === s.patchedMtimeMs;
    const stamp = readJson<Stamp>(stampFile);
    const ours = describes(stamp) || describes(readJson<Pick<Stamp, 'patchedSize' | 'patchedMtimeMs'>>(legacyStampFile));
    if (
      ours && stamp && stamp.source === source && stamp.sourceSize === sourceStat.size && stamp.sourceMtimeMs === sourceStat.mtimeMs
      && Array.isArray(stamp.patches) && stamp.patches.length === patches.length
      && patches.every((p, i) => stamp.patches[i]!.name === p.name && stamp.patches[i]!.value === p.value)
    ) {
      return { binary, source, patches: stamp.patches.map((p) => (p.offset === null ? { name: p.name, applied: false, reason: `${source}: its place was not found` } : { name: p.name, applied: true, offset: p.offset })) };
    }
    const image = readFileSync(source);
    const sourceSha256 = createHash('sha256').update(image).digest('hex');
    const results: PatchResult[] = patches.map((p) => {
      const offset = p.find(image);
      return offset === undefined ? { name: p.name, applied: false, reason: `${source}: its place was not found, left as it is` } : { name: p.name, applied: true, offset };
    });
    if (!results.some((r) => r.applied)) {
      if (ours) rmSync(binary); // a copy of an older addon must not shadow the new one
      rmSync(stampFile, { force: true });
      rmSync(legacyStampFile, { force: true });
      return { patches: results };
    }
    results.forEach((r, i) => r.applied && image.writeUInt32LE(patches[i]!.value, r.offset));
    if (binaryStat && !ours && !readFileSync(binary).equals(image)) {
      return notApplied(patches, `${binary} is a local build of node-datachannel, not ours: left as it is`);
    }
    mkdirSync(dirname(binary), { recursive: true });
    replaceFile(binary, image); // never in place: a running process may have the old copy mapped
    const patched = statSync(binary);
    replaceFile(stampFile, Buffer.from(JSON.stringify({
      source, sourceSha256, sourceSize: sourceStat.size, sourceMtimeMs: sourceStat.mtimeMs,
      patches: results.map((r, i) => ({ name: r.name, offset: r.applied ? r.offset : null, value: patches[i]!.value })),
      patchedSize: patched.size, patchedMtimeMs: patched.mtimeMs,
    } satisfies Stamp, null, 2) + '\n'));
    rmSync(legacyStampFile, { force: true });
    return { binary, source, patches: results };
  } catch (err) {
    return notApplied(patches, message(err));
  }
}

function readJson<T>(file: string): T | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function replaceFile(file: string, data: Buffer): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, data);
  renameSync(tmp, file);
}
