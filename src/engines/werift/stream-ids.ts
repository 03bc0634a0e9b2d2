import type { RTCDtlsTransport, RTCPeerConnection } from 'werift';

/**
 * werift picks data channel stream ids by ICE role (controlling: odd), but RFC 8832 §6 ties them
 * to the DTLS role (client: even, server: odd). When a server answers `a=setup:passive` our
 * offerer is the DTLS client, its odd ids clash with the server's, and the channel never opens
 * (seen against libdatachannel). Re-pick the parity from the DTLS role once SCTP starts.
 */
export function followDtlsRoleForStreamIds(pc: RTCPeerConnection): void {
  type SctpInternals = { dtlsTransport: RTCDtlsTransport; dataChannelId: number; start(port: number): Promise<void> };
  const sctp = pc.sctpTransport as unknown as SctpInternals | undefined;
  if (!sctp) return;
  const start = sctp.start.bind(sctp);
  sctp.start = (port: number) => {
    const started = start(port); // sets the id parity from the ICE role, synchronously
    sctp.dataChannelId = sctp.dtlsTransport.role === 'client' ? 0 : 1;
    return started;
  };
}
