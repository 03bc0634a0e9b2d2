/**
 * The contract between the native engine's TypeScript control plane and its C++ data plane
 * (`native/`, built by node-gyp at `npm ci`, loaded through node-gyp-build).
 *
 * C++ owns the sockets, one thread that reads and writes them in batches, the RFC 7983
 * demultiplexer, DTLS, SRTP/SRTCP and the packet echo. TypeScript owns the SDP, ICE (every STUN
 * packet comes up here), SCTP and data channels (DTLS application data comes up here), and
 * session lifetimes. Nothing throws across the boundary: a call that cannot be done returns an
 * error string or false, and the data plane reports what happens on its thread as events.
 *
 * Ids (sockets, sessions) are small integers chosen by the data plane and never reused within a
 * process. An event may name a session that TypeScript has already closed: it is dropped.
 */

/** An address as the data plane gives and takes it: IPv4 dotted quad or IPv6 text (no brackets, no IPv4-mapped form). */
export interface UdpAddress {
  address: string;
  port: number;
}

export type SrtpProfileName = 'SRTP_AES128_CM_SHA1_80' | 'SRTP_AES128_CM_SHA1_32' | 'SRTP_AEAD_AES_128_GCM';

export interface OpenSocketOptions {
  /** Where to bind: '::' (dual stack, the default), '0.0.0.0', or one local address. */
  address: string;
  /** Inclusive port range to bind in; 0-0 lets the OS choose. A busy port is skipped. */
  portMin: number;
  portMax: number;
}

/** One media section of the echo, as the answer negotiated it. */
export interface EchoSectionConfig {
  mid: string;
  /** The SSRC the echo of this section goes out with (announced in the answer's a=ssrc). */
  echoSsrc: number;
  /** Payload types of this section that are echoed; RTP with another payload type is dropped. */
  payloadTypes: number[];
  /** SSRCs the offer declared for this section (a=ssrc), to map packets before the mid is seen. */
  offeredSsrcs: number[];
}

export interface CreateSessionOptions {
  /** The socket the session's candidates are on (a port per session, or the shared mux socket). */
  socket: number;
  /** The DTLS role this side takes: `client` sends the ClientHello (answer `a=setup:active`). */
  dtlsRole: 'client' | 'server';
  /** The offer's `a=fingerprint`: the remote certificate must match it, or the handshake fails. */
  remoteFingerprint: { algorithm: string; value: string };
  /** The profiles to offer or accept, in preference order. */
  srtpProfiles: SrtpProfileName[];
  sections: EchoSectionConfig[];
  /** The id of the mid header extension (RFC 8843 §15) the answer negotiated, 0 for none. */
  midExtensionId: number;
}

export interface SessionStats {
  /** Everything that came from the remote on a validated address: SRTP, SRTCP, DTLS, STUN. */
  packetsIn: number;
  rtpEchoed: number;
  rtpEchoedBytes: number;
  /** RTP not echoed: unknown payload type or section, SRTP auth failure, replay. */
  rtpDropped: number;
  rtcpIn: number;
  /** PLI and FIR sent to the client's sender on behalf of the echo's receiver. */
  keyframeRequests: number;
  nacksRelayed: number;
  srtpAuthFailures: number;
}

export type PlaneEvent =
  /** Every STUN message on any socket, from any address: ICE is TypeScript's. */
  | { type: 'stun'; socket: number; from: UdpAddress; data: Buffer }
  /** The handshake finished and the remote certificate matched the fingerprint; SRTP keys are in place. */
  | { type: 'dtls-connected'; session: number; role: 'client' | 'server'; srtpProfile: SrtpProfileName | 'none' }
  /** The handshake failed (alert, fingerprint mismatch, too many retransmissions). */
  | { type: 'dtls-failed'; session: number; reason: string }
  /** The remote sent close_notify. */
  | { type: 'dtls-closed'; session: number }
  /** DTLS application data (SCTP packets), decrypted. */
  | { type: 'app-data'; session: number; data: Buffer }
  /** The client's source on a section sent an RTCP BYE. */
  | { type: 'rtcp-bye'; session: number; mid: string; ssrc: number };

export interface NativePlane {
  /** The fingerprint of the process's DTLS certificate, for the answer's `a=fingerprint`. */
  readonly fingerprint: { algorithm: 'sha-256'; value: string };
  /** Binds a UDP socket on the data-plane thread; an error string when no port is free. */
  openSocket(options: OpenSocketOptions): { socket: number; local: UdpAddress } | string;
  /** Closes a socket once no session uses it. */
  closeSocket(socket: number): void;
  /** Sends one datagram as it is (STUN from the ICE agent). False when the socket is gone. */
  send(socket: number, to: UdpAddress, data: Buffer): boolean;
  createSession(options: CreateSessionOptions): number | string;
  /**
   * An address ICE validated for the session (a check answered either way): DTLS and SRTP from
   * it are accepted. On a shared socket it also routes that address's packets to this session.
   */
  allowRemote(session: number, remote: UdpAddress): void;
  /** The selected pair's remote: where DTLS, the echo and RTCP go. Starts the handshake in the client role. */
  selectRemote(session: number, remote: UdpAddress): void;
  /** Encrypts and sends DTLS application data (an SCTP packet). False before the handshake is done. */
  sendApplicationData(session: number, data: Buffer): boolean;
  /** Synchronous snapshot of the session's counters. */
  stats(session: number): SessionStats | undefined;
  /** Sends close_notify and frees the session on the data-plane thread. Idempotent. */
  closeSession(session: number): void;
  /** Stops the thread and frees everything; later calls are no-ops. */
  close(): void;
}

export interface NativeAddon {
  /** Starts a data plane (one thread) whose events arrive in batches on the JavaScript thread. */
  createPlane(onEvents: (events: PlaneEvent[]) => void): NativePlane;
  /** Versions of what it was built and runs with, e.g. `{ addon: '0.1.0', openssl: 'OpenSSL 3.0.15 ...' }`. */
  versions(): Record<string, string>;
}
