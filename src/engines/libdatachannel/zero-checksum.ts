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
 * (SCTP_ACCEPT_ZERO_CHECKSUM) and `%esi = 0x84` (IPPROTO_SCTP). We find that instruction and
 * require it to be the only one; addon-patches.ts writes the patched copy that node-datachannel
 * loads. A binary without the pattern (another architecture, another compiler's code) leaves
 * the stack as it is: data channels with old pion then fail as before.
 */
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
