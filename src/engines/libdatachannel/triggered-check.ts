/**
 * libjuice's triggered check sent 1 ms after the check that triggers it instead of 50, by a
 * one-value patch of node-datachannel's prebuilt addon (applied by addon-patches.ts; why and
 * what was measured: docs/triggered-check.md).
 *
 * Our libdatachannel server learns libdatachannel and pion clients from their checks
 * (answer-policy.ts: it gets their offer without candidates). For such a client the server's
 * only check is the triggered one that libjuice 1.7.2 arms when the client's check arrives on a
 * pair that has not succeeded (src/agent.c:1512-1522, agent_process_stun_binding,
 * STUN_CLASS_REQUEST: `JLOG_DEBUG("Triggered pair check"); ... agent_arm_transmission(agent,
 * entry, STUN_PACING_TIME)`; STUN_PACING_TIME is 50, src/agent.h:34). So our ICE connects, and
 * as the DTLS client (`a=setup:active`) our ClientHello leaves, 50 ms after the client's first
 * check; a pion client, which nominates when a check from a new address makes it look at its
 * pairs again (pion/ice 2.3.1 agent.go:803-821, addRemoteCandidate -> requestConnectivityCheck),
 * waits as long.
 *
 * The patch changes that one argument to 1 ms. Not 0: at once, the check reaches a pion client
 * on its loopback socket before pion has read our response on its other socket (one goroutine
 * each), pion finds no valid pair yet and nominates only on its next 200 ms tick (46 of 150
 * sessions); and it reaches our own client so soon that our ClientHello can arrive before that
 * client's ICE is connected, which libdatachannel 0.24.5 buffers and then often handles only with
 * the resend a second later (6 of 300). Everything else keeps its pacing: ordinary checks are
 * still armed 50 ms apart (`STUN_PACING_TIME * i`, other immediates) and agent_arm_transmission
 * (src/agent.c:2557-2590) still moves any entry, the triggered one included, to 50 ms after
 * another entry armed within 50 ms of it: its "find a time slot" loop is Ta pacing (RFC 8445
 * §14.2: a lower Ta must be proposed to the peer, and the higher one wins) and is left alone. A
 * triggered check answers a check that carried our password (MESSAGE-INTEGRITY is verified
 * first), so sending it sooner adds no traffic, it only moves it earlier.
 *
 * In x86-64 machine code the call site reads: `lea msg(%rip), %reg` where msg is the string
 * "Triggered pair check", the call to juice_log_write, then before the next call (to
 * agent_arm_transmission, not inlined in node-datachannel's builds) `mov $0x32, %edx`: the
 * delay, an int64 argument whose upper half the 32-bit move clears. We find that `mov`, require
 * it to be the only one, and patch its immediate.
 */

/** `mov $imm32, %edx`. */
const MOV_EDX = 0xba;
/** libjuice's Ta (src/agent.h), the delay node-datachannel's builds pass. */
export const STUN_PACING_TIME = 50;
/** The delay our copy passes: the next millisecond of libjuice's clock (its timestamps are whole ms). */
export const TRIGGERED_CHECK_DELAY_MS = 1;
const CALL_REL32 = 0xe8;
/** The log message of the call site, as C stores it. */
const MESSAGE = Buffer.from('Triggered pair check\0', 'latin1');
/** Bytes from the end of the `lea` of the message to its log call (gcc and clang order the other arguments differently). */
const LOG_CALL_REACH = 48;
/** Bytes from the end of the log call to the end of the call that arms the check. */
const ARM_CALL_REACH = 48;

interface Segment {
  offset: number;
  vaddr: number;
  size: number;
  executable: boolean;
}

/** The PT_LOAD segments of an x86-64 little-endian ELF64 image, or undefined for anything else. */
export function loadSegments(image: Buffer): Segment[] | undefined {
  if (image.length < 64 || image.readUInt32BE(0) !== 0x7f454c46 || image[4] !== 2 || image[5] !== 1 || image.readUInt16LE(18) !== 0x3e) return undefined;
  const phoff = Number(image.readBigUInt64LE(32));
  const phentsize = image.readUInt16LE(54);
  const phnum = image.readUInt16LE(56);
  const segments: Segment[] = [];
  for (let i = 0; i < phnum; i++) {
    const at = phoff + i * phentsize;
    if (at + 56 > image.length) return undefined;
    if (image.readUInt32LE(at) !== 1) continue; // PT_LOAD
    const offset = Number(image.readBigUInt64LE(at + 8));
    const size = Number(image.readBigUInt64LE(at + 32)); // p_filesz
    if (offset + size > image.length) return undefined;
    segments.push({ offset, vaddr: Number(image.readBigUInt64LE(at + 16)), size, executable: (image.readUInt32LE(at + 4) & 1) !== 0 });
  }
  return segments;
}

function vaddrOf(segments: Segment[], offset: number): number | undefined {
  const segment = segments.find((s) => offset >= s.offset && offset < s.offset + s.size);
  return segment ? segment.vaddr + offset - segment.offset : undefined;
}

/**
 * The file offset of the 32-bit delay that the "Triggered pair check" call site passes to
 * agent_arm_transmission (50 in node-datachannel's builds, 1 once patched), or undefined
 * unless exactly one such place exists.
 */
export function findTriggeredCheckDelay(image: Buffer): number | undefined {
  const segments = loadSegments(image);
  if (!segments) return undefined;
  const messages = new Set<number>();
  for (let at = image.indexOf(MESSAGE); at >= 0; at = image.indexOf(MESSAGE, at + 1)) {
    const vaddr = vaddrOf(segments, at);
    if (vaddr !== undefined) messages.add(vaddr);
  }
  if (messages.size === 0) return undefined;
  const inCode = (vaddr: number) => segments.some((s) => s.executable && vaddr >= s.vaddr && vaddr < s.vaddr + s.size);
  /** The target of a `call rel32` at `at`, when it is one into code. */
  const callTarget = (segment: Segment, at: number): number | undefined => {
    if (image[at] !== CALL_REL32 || at + 5 > segment.offset + segment.size) return undefined;
    const target = segment.vaddr + (at + 5 - segment.offset) + image.readInt32LE(at + 1);
    return inCode(target) ? target : undefined;
  };
  const found = new Set<number>();
  for (const segment of segments.filter((s) => s.executable)) {
    const end = segment.offset + segment.size;
    for (let at = image.indexOf(0x8d, segment.offset + 1); at >= 0 && at + 6 <= end; at = image.indexOf(0x8d, at + 1)) {
      // lea disp32(%rip), %reg: REX.W (REX.R for r8-r15), 8d, ModRM with mod 00 and r/m 101.
      if ((image[at - 1]! & 0xfb) !== 0x48 || (image[at + 1]! & 0xc7) !== 0x05) continue;
      const next = at + 6;
      if (!messages.has(segment.vaddr + (next - segment.offset) + image.readInt32LE(at + 2))) continue;
      for (let log = next; log < Math.min(end, next + LOG_CALL_REACH); log++) {
        const logTarget = callTarget(segment, log);
        if (logTarget === undefined) continue;
        const delay = delayBeforeNextCall(image, segment, log + 5, logTarget, callTarget);
        if (delay !== undefined) found.add(delay);
        break; // the first call after the message is its log call
      }
    }
  }
  return found.size === 1 ? [...found][0] : undefined;
}

/**
 * After the log call: the next call (not to the log function), and the `mov $50, %edx` that
 * sets its third argument, the last write of %edx before it. The offset of the immediate.
 */
function delayBeforeNextCall(
  image: Buffer,
  segment: Segment,
  from: number,
  logTarget: number,
  callTarget: (segment: Segment, at: number) => number | undefined,
): number | undefined {
  const end = Math.min(segment.offset + segment.size, from + ARM_CALL_REACH);
  for (let call = from; call + 5 <= end; call++) {
    const target = callTarget(segment, call);
    if (target === undefined) continue;
    if (target === logTarget) return undefined;
    for (let mov = call - 5; mov >= from; mov--) {
      if (image[mov] !== MOV_EDX) continue;
      const value = image.readUInt32LE(mov + 1);
      return value <= STUN_PACING_TIME ? mov + 1 : undefined;
    }
    return undefined;
  }
  return undefined;
}
