/**
 * Small stand-ins for node-datachannel's addon: the machine code around each value that
 * src/engines/libdatachannel/addon-patches.ts patches, as gcc (glibc addon) and clang (musl
 * addon) emit it in node-datachannel 0.33.4, inside a minimal x86-64 ELF image.
 */

/**
 * SCTP_ACCEPT_ZERO_CHECKSUM's set-up and call as gcc emits it in the glibc addon:
 * mov $4,%r8d; mov $0x33,%edx; mov $0x84,%esi; mov 0x130(%r12),%rdi;
 * lea -0x324(%rbp),%rcx; movl $1,-0x324(%rbp); call rel32
 */
export function zeroChecksumGcc(value = 1): Buffer {
  return Buffer.from([
    0x41, 0xb8, 0x04, 0, 0, 0, 0xba, 0x33, 0, 0, 0, 0xbe, 0x84, 0, 0, 0,
    0x49, 0x8b, 0xbc, 0x24, 0x30, 0x01, 0, 0, 0x48, 0x8d, 0x8d, 0xdc, 0xfc, 0xff, 0xff,
    0xc7, 0x85, 0xdc, 0xfc, 0xff, 0xff, value, 0, 0, 0, 0xe8, 0x05, 0x60, 0x06, 0x00,
  ]);
}
/** Where the value lies in zeroChecksumGcc(). */
export const ZERO_CHECKSUM_GCC_VALUE_AT = 37;

/**
 * The same as the musl addon has it (value first): movl $1,0x48(%rsp); mov 0x130(%r12),%rdi;
 * lea 0x48(%rsp),%rcx; mov $0x84,%esi; mov $0x33,%edx; mov $4,%r8d; call rel32
 */
export function zeroChecksumMusl(): Buffer {
  return Buffer.from([
    0xc7, 0x44, 0x24, 0x48, 0x01, 0, 0, 0, 0x49, 0x8b, 0xbc, 0x24, 0x30, 0x01, 0, 0,
    0x48, 0x8d, 0x4c, 0x24, 0x48, 0xbe, 0x84, 0, 0, 0, 0xba, 0x33, 0, 0, 0,
    0x41, 0xb8, 0x04, 0, 0, 0, 0xe8, 0x3e, 0x97, 0x04, 0x00,
  ]);
}
/** Where the value lies in zeroChecksumMusl(). */
export const ZERO_CHECKSUM_MUSL_VALUE_AT = 4;

/** A reference to resolve: rel32 to one of the image's symbols, counted from the end of the 4 bytes (as lea rip and call rel32 are). */
export type Code = Array<number | { rel: 'message' | 'file' | 'log' | 'arm' }>;

/**
 * The "Triggered pair check" call site (libjuice agent.c, agent_process_stun_binding) as gcc
 * emits it in the glibc addon: lea msg(%rip),%rcx; mov $0x5ee,%edx; lea file(%rip),%rsi;
 * xor %eax,%eax; mov $1,%edi; call juice_log_write; mov $0x32,%edx; mov %rbp,%rsi;
 * mov %r12,%rdi; movl $0,0x18(%r15); movl $0,0x4(%rbp); call agent_arm_transmission
 */
export function triggeredCheckGcc(delay = 50): Code {
  return [
    0x48, 0x8d, 0x0d, { rel: 'message' }, 0xba, 0xee, 0x05, 0, 0, 0x48, 0x8d, 0x35, { rel: 'file' },
    0x31, 0xc0, 0xbf, 0x01, 0, 0, 0, 0xe8, { rel: 'log' },
    0xba, delay, 0, 0, 0, 0x48, 0x89, 0xee, 0x4c, 0x89, 0xe7, 0x41, 0xc7, 0x47, 0x18, 0, 0, 0, 0,
    0xc7, 0x45, 0x04, 0, 0, 0, 0, 0xe8, { rel: 'arm' },
  ];
}
/** Where the delay lies in triggeredCheckGcc() once assembled (each reference is 4 bytes). */
export const TRIGGERED_CHECK_GCC_DELAY_AT = 3 + 4 + 5 + 3 + 4 + 2 + 5 + 1 + 4 + 1;

/**
 * The same as clang emits it in the musl addon: lea file(%rip),%rsi; lea msg(%rip),%rcx;
 * xor %r12d,%r12d; mov $1,%edi; mov $0x5ee,%edx; xor %eax,%eax; call juice_log_write;
 * movl $0,0x18(%rbp); movl $0,0x4(%r15); mov $0x32,%edx; mov %r14,%rdi; mov %r15,%rsi;
 * call agent_arm_transmission
 */
export function triggeredCheckClang(): Code {
  return [
    0x48, 0x8d, 0x35, { rel: 'file' }, 0x48, 0x8d, 0x0d, { rel: 'message' }, 0x45, 0x31, 0xe4,
    0xbf, 0x01, 0, 0, 0, 0xba, 0xee, 0x05, 0, 0, 0x31, 0xc0, 0xe8, { rel: 'log' },
    0xc7, 0x45, 0x18, 0, 0, 0, 0, 0x41, 0xc7, 0x47, 0x04, 0, 0, 0, 0,
    0xba, 0x32, 0, 0, 0, 0x4c, 0x89, 0xf7, 0x4c, 0x89, 0xfe, 0xe8, { rel: 'arm' },
  ];
}
export const TRIGGERED_CHECK_CLANG_DELAY_AT = 3 + 4 + 3 + 4 + 3 + 5 + 5 + 2 + 1 + 4 + 7 + 8 + 1;

const TEXT_OFFSET = 0x1000;
/** Code is mapped 0x1000 above its file offset, as in the musl addon, so file offsets and addresses differ. */
const TEXT_SHIFT = 0x1000;
const MESSAGE = 'Triggered pair check';

export interface ElfOptions {
  /** Leave the message out of the read-only data. */
  noMessage?: boolean;
  /** Bytes written into the read-only data before the strings. */
  rodataFiller?: Buffer;
}

/**
 * A minimal ELF64 x86-64 image: headers and read-only data (file offset = address) in one
 * segment, then the pieces of code (with a log function and an arm function, and 0x90 between
 * pieces) in an executable segment mapped 0x1000 higher. `codeAt(i)` is the file offset of piece i.
 */
export function elfImage(pieces: Array<Code | Buffer>, options: ElfOptions = {}): { image: Buffer; codeAt: (i: number) => number } {
  const rodata = Buffer.concat([options.rodataFiller ?? Buffer.alloc(0), Buffer.from(`agent.c\0${options.noMessage ? '' : `${MESSAGE}\0`}`, 'latin1')]);
  const rodataAt = 0x200;
  const symbols = { file: rodataAt + (options.rodataFiller?.length ?? 0), message: rodataAt + (options.rodataFiller?.length ?? 0) + 8 };
  const filler = Buffer.alloc(64, 0x90);
  // The two functions first: `ret` each.
  const logAt = TEXT_OFFSET + filler.length;
  const armAt = logAt + 16;
  const text: number[] = [...filler, 0xc3, ...Buffer.alloc(15, 0x90), 0xc3, ...Buffer.alloc(15, 0x90)];
  const vaddrs = { ...symbols, log: logAt + TEXT_SHIFT, arm: armAt + TEXT_SHIFT };
  const starts: number[] = [];
  for (const piece of pieces) {
    text.push(...filler);
    starts.push(TEXT_OFFSET + text.length);
    for (const item of Buffer.isBuffer(piece) ? [...piece] : piece) {
      if (typeof item === 'number') text.push(item);
      else {
        const end = TEXT_OFFSET + text.length + 4 + TEXT_SHIFT;
        const rel = Buffer.alloc(4);
        rel.writeInt32LE(vaddrs[item.rel] - end);
        text.push(...rel);
      }
    }
  }
  text.push(...filler);
  const image = Buffer.alloc(TEXT_OFFSET + text.length);
  Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]).copy(image, 0);
  image.writeUInt16LE(3, 16); // ET_DYN
  image.writeUInt16LE(0x3e, 18); // EM_X86_64
  image.writeBigUInt64LE(64n, 32); // e_phoff
  image.writeUInt16LE(56, 54); // e_phentsize
  image.writeUInt16LE(2, 56); // e_phnum
  const phdr = (i: number, flags: number, offset: number, vaddr: number, size: number) => {
    const at = 64 + i * 56;
    image.writeUInt32LE(1, at); // PT_LOAD
    image.writeUInt32LE(flags, at + 4);
    image.writeBigUInt64LE(BigInt(offset), at + 8);
    image.writeBigUInt64LE(BigInt(vaddr), at + 16);
    image.writeBigUInt64LE(BigInt(vaddr), at + 24);
    image.writeBigUInt64LE(BigInt(size), at + 32);
    image.writeBigUInt64LE(BigInt(size), at + 40);
    image.writeBigUInt64LE(0x1000n, at + 48);
  };
  phdr(0, 4, 0, 0, TEXT_OFFSET); // R
  phdr(1, 5, TEXT_OFFSET, TEXT_OFFSET + TEXT_SHIFT, text.length); // R E
  rodata.copy(image, rodataAt);
  Buffer.from(text).copy(image, TEXT_OFFSET);
  return { image, codeAt: (i) => starts[i]! };
}
