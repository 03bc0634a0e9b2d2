/**
 * SCTP zero checksum off for node-datachannel, by a one-byte patch of its prebuilt addon.
 *
 * libdatachannel v0.24 sets SCTP_ACCEPT_ZERO_CHECKSUM on every usrsctp socket
 * (src/impl/sctptransport.cpp, SctpTransport::SctpTransport: `int edmid =
 * SCTP_EDMID_LOWER_LAYER_DTLS; usrsctp_setsockopt(sock, IPPROTO_SCTP, SCTP_ACCEPT_ZERO_CHECKSUM,
 * &edmid, 4)`), so usrsctp puts the Zero Checksum Acceptable parameter (0x8001, RFC 9653) in
 * every INIT and INIT-ACK. pion/sctp before v1.8.11 (Debian's pion v3.1.56 has 1.8.6) fails to
 * parse any parameter it does not know and drops the whole packet (pion/webrtc#2618): data
 * channels between the two never open. node-datachannel offers no switch for it.
 *
 * The fix keeps the call and changes its value to SCTP_EDMID_NONE (0), which usrsctp accepts
 * (sctp_usrreq.c: rcv_edmid = NONE, also its default) and which leaves the parameter out of
 * INIT and INIT-ACK (sctp_output.c: only `rcv_edmid != SCTP_EDMID_NONE` adds it). Checksums are
 * then computed and checked as in plain SCTP: libdatachannel built against this usrsctp does not
 * enable CRC32c offload (SctpTransport::Init), so usrsctp computes every CRC itself.
 *
 * In the x86-64 machine code that value is the immediate of `movl $1, M` where M is the
 * optval that `lea M, %rcx` passes, just before the call that sets `%edx = 0x33`
 * (SCTP_ACCEPT_ZERO_CHECKSUM) and `%esi = 0x84` (IPPROTO_SCTP). We find that instruction,
 * require it to be the only one, and write a patched copy where node-datachannel loads a local
 * build first (`<package>/build/Release/node_datachannel.node`), never touching the installed
 * file. A stamp beside the copy names the binary it came from; a changed binary is patched
 * again, and a binary without the pattern (another architecture, another compiler's code)
 * leaves the stack as it is: data channels with old pion then fail as before.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, renameSync, rmSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Option name and level of the setsockopt call we look for (usrsctp.h: 0x33, IPPROTO_SCTP 132). */
const MOV_EDX_ACCEPT_ZERO_CHECKSUM = Buffer.from([0xba, 0x33, 0x00, 0x00, 0x00]);
const MOV_ESI_IPPROTO_SCTP = Buffer.from([0xbe, 0x84, 0x00, 0x00, 0x00]);
/** Bytes before the call in which the argument set-up must lie (gcc and clang schedule it differently). */
const ARGUMENT_WINDOW = 64;
/** How the optval's stack slot can be addressed: ModRM (+SIB) for `movl $imm32, M` (reg 0) and `lea M, %rcx` (reg 1). */
const STACK_OPERANDS = [
  { movl: [0x85], lea: [0x8d], dispBytes: 4 }, // disp32(%rbp)
  { movl: [0x45], lea: [0x4d], dispBytes: 1 }, // disp8(%rbp)
  { movl: [0x84, 0x24], lea: [0x8c, 0x24], dispBytes: 4 }, // disp32(%rsp)
  { movl: [0x44, 0x24], lea: [0x4c, 0x24], dispBytes: 1 }, // disp8(%rsp)
] as const;
const CALL_REL32 = 0xe8;
/** How far after the option name the call may come. */
const CALL_REACH = 48;

/**
 * The file offset of the 32-bit value passed as SCTP_ACCEPT_ZERO_CHECKSUM's optval (1 in
 * node-datachannel's builds, 0 once patched), or undefined unless exactly one such place exists.
 */
export function findZeroChecksumValue(image: Buffer): number | undefined {
  const found = new Set<number>();
  for (let at = image.indexOf(MOV_EDX_ACCEPT_ZERO_CHECKSUM); at >= 0; at = image.indexOf(MOV_EDX_ACCEPT_ZERO_CHECKSUM, at + 1)) {
    // Any 0xe8 shortly after may be the call (or a byte of another instruction: those find nothing).
    for (let call = at + MOV_EDX_ACCEPT_ZERO_CHECKSUM.length; call < Math.min(image.length, at + CALL_REACH); call++) {
      if (image[call] !== CALL_REL32) continue;
      const start = Math.max(0, call - ARGUMENT_WINDOW);
      const setup = image.subarray(start, call);
      if (setup.indexOf(MOV_ESI_IPPROTO_SCTP) < 0) continue;
      for (const operand of STACK_OPERANDS) {
        for (let i = start; i < call; i++) {
          if (image[i] !== 0xc7 || !operand.movl.every((b, k) => image[i + 1 + k] === b)) continue;
          const dispAt = i + 1 + operand.movl.length;
          const value = dispAt + operand.dispBytes;
          if (value + 4 > call || image.readUInt32LE(value) > 1) continue;
          const lea = Buffer.from([0x48, 0x8d, ...operand.lea, ...image.subarray(dispAt, value)]);
          if (setup.indexOf(lea) >= 0) found.add(value);
        }
      }
    }
  }
  return found.size === 1 ? [...found][0] : undefined;
}

export type ZeroChecksumState =
  /** node-datachannel loads our patched copy: no Zero Checksum parameter in INIT or INIT-ACK. */
  | { off: true; binary: string; source: string }
  /** node-datachannel loads an addon that still announces zero checksum (or one we do not know). */
  | { off: false; reason: string };

interface Stamp {
  source: string;
  sourceSha256: string;
  sourceSize: number;
  sourceMtimeMs: number;
  valueOffset: number;
  patchedSize: number;
  patchedMtimeMs: number;
}

/** The native-addon package node-datachannel itself picks (its lib/node-datachannel.mjs, with its detect-libc). */
function platformPackage(dir: string): string | undefined {
  if (process.platform !== 'linux' || process.arch !== 'x64') return undefined;
  const detectLibc = createRequire(join(dir, 'package.json'))('detect-libc') as { familySync(): string | null; MUSL: string };
  return detectLibc.familySync() === detectLibc.MUSL ? '@node-datachannel/linux-x64-musl' : '@node-datachannel/linux-x64-gnu';
}

/** node-datachannel's package folder (its exports hide package.json, so from its main file). */
function packageDir(require: NodeJS.Require): string {
  let dir = dirname(require.resolve('node-datachannel'));
  while (packageName(join(dir, 'package.json')) !== 'node-datachannel') {
    const up = dirname(dir);
    if (up === dir) throw new Error('node-datachannel package folder not found');
    dir = up;
  }
  return dir;
}

function packageName(file: string): string | undefined {
  try {
    return (JSON.parse(readFileSync(file, 'utf8')) as { name?: string }).name;
  } catch {
    return undefined;
  }
}

let checked: ZeroChecksumState | undefined;

/**
 * Makes node-datachannel load a copy of its addon with zero checksum off, if it is not in place
 * already. Call before node-datachannel is first imported. Never throws (a process warning says
 * why when it cannot); once per process, and cheap once the copy exists (a few stats).
 */
export function ensureZeroChecksumOff(): ZeroChecksumState {
  if (!checked) {
    checked = installForThisPlatform();
    if (!checked.off) {
      process.emitWarning(`node-datachannel keeps SCTP zero checksum on, so data channels with pion before v3.2.27 will not open: ${checked.reason}`);
    }
  }
  return checked;
}

function installForThisPlatform(): ZeroChecksumState {
  try {
    const dir = packageDir(createRequire(import.meta.url));
    const pkg = platformPackage(dir);
    if (!pkg) return { off: false, reason: `no patch for ${process.platform}-${process.arch}` };
    const source = createRequire(join(dir, 'package.json')).resolve(pkg);
    // The first place node-datachannel's loader looks (lib/node-datachannel.mjs: a local build).
    return writePatchedCopy(source, join(dir, 'build', 'Release', 'node_datachannel.node'));
  } catch (err) {
    return { off: false, reason: err instanceof Error ? err.message : String(err) };
  }
}

/**
 * Writes `source` with zero checksum off to `binary`, unless it is there already (the stamp
 * beside it matches). Removes a copy of ours that the current `source` no longer justifies,
 * and leaves alone a `binary` that is not ours (a real local build).
 */
export function writePatchedCopy(source: string, binary: string): ZeroChecksumState {
  try {
    const stampFile = `${binary}.zero-checksum.json`;
    const stamp = readStamp(stampFile);
    const sourceStat = statSync(source);
    const binaryStat = existsSync(binary) ? statSync(binary) : undefined;
    const ours = stamp !== undefined && binaryStat !== undefined
      && binaryStat.size === stamp.patchedSize && binaryStat.mtimeMs === stamp.patchedMtimeMs;
    if (ours && stamp.source === source && stamp.sourceSize === sourceStat.size && stamp.sourceMtimeMs === sourceStat.mtimeMs) {
      return { off: true, binary, source };
    }
    const image = readFileSync(source);
    const valueOffset = findZeroChecksumValue(image);
    if (valueOffset === undefined) {
      if (ours) rmSync(binary); // a copy of an older addon must not shadow the new one
      rmSync(stampFile, { force: true });
      return { off: false, reason: `${source}: SCTP_ACCEPT_ZERO_CHECKSUM set-up not found, left as it is` };
    }
    const sourceSha256 = createHash('sha256').update(image).digest('hex');
    image.writeUInt32LE(0, valueOffset); // SCTP_EDMID_NONE
    if (binaryStat && !ours && !readFileSync(binary).equals(image)) {
      return { off: false, reason: `${binary} is a local build of node-datachannel, not ours: left as it is` };
    }
    mkdirSync(dirname(binary), { recursive: true });
    replaceFile(binary, image); // never in place: a running process may have the old copy mapped
    const patched = statSync(binary);
    replaceFile(stampFile, Buffer.from(JSON.stringify({
      source, sourceSha256, sourceSize: sourceStat.size, sourceMtimeMs: sourceStat.mtimeMs, valueOffset,
      patchedSize: patched.size, patchedMtimeMs: patched.mtimeMs,
    } satisfies Stamp, null, 2) + '\n'));
    return { off: true, binary, source };
  } catch (err) {
    return { off: false, reason: err instanceof Error ? err.message : String(err) };
  }
}

function readStamp(file: string): Stamp | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Stamp;
  } catch {
    return undefined;
  }
}

function replaceFile(file: string, data: Buffer): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, data);
  renameSync(tmp, file);
}

// `node dist/engines/libdatachannel/zero-checksum.js`: the install step (package.json prepare).
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const state = ensureZeroChecksumOff();
  if (state.off) console.log(`node-datachannel: SCTP zero checksum off (${state.binary})`);
}
