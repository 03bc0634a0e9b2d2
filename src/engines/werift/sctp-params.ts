import type { RTCPeerConnection } from 'werift';

/** Zero Checksum Acceptable (RFC 9653 §5.1), an INIT/INIT-ACK parameter werift does not implement. */
const ZERO_CHECKSUM_ACCEPTABLE = 0x8001;

/**
 * What the remote SCTP announced in its INIT or INIT-ACK: werift's association reads every
 * parameter list through `getExtensions(params)` (sctp.js, on INIT as the server and on INIT-ACK
 * as the client) and ignores the types it does not know, so a wrapper there sees all of them.
 * Call before the association starts (after the answer is applied, DTLS is still to come).
 */
export function watchRemoteSctpParameters(pc: RTCPeerConnection): { zeroChecksum(): boolean | undefined } {
  type SctpInternals = { getExtensions(params: Array<[number, Buffer]>): void };
  const sctp = (pc.sctpTransport as unknown as { sctp?: SctpInternals } | undefined)?.sctp;
  let seen: number[] | undefined;
  if (sctp && typeof sctp.getExtensions === 'function') {
    const getExtensions = sctp.getExtensions.bind(sctp);
    sctp.getExtensions = (params) => {
      seen = params.map(([type]) => type);
      getExtensions(params);
    };
  }
  return { zeroChecksum: () => seen && seen.includes(ZERO_CHECKSUM_ACCEPTABLE) };
}
