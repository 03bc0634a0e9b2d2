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
 * process. Events of a session or socket TypeScript has already closed are dropped by the addon
 * before delivery (closeSession/closeSocket happen on the JavaScript thread, so nothing of theirs
 * arrives after the call returns).
 *
 * The addon is loaded by `loadNativeAddon()` (./addon.ts), which returns it or the reason it is
 * unavailable; native/README.md says how it is built (normal and ASan).
 */

/** An address as the data plane gives and takes it: IPv4 dotted quad or IPv6 text (no brackets, no IPv4-mapped form). */
export interface UdpAddress {
  address: string;
  port: number;
}

export type SrtpProfileName = 'SRTP_AES128_CM_SHA1_80' | 'SRTP_AES128_CM_SHA1_32' | 'SRTP_AEAD_AES_128_GCM';

export interface OpenSocketOptions {
  /** Where to bind: '::' (dual stack, also when left out), '0.0.0.0', or one local address. */
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
  /**
   * The id of the mid header extension (RFC 8843 §15) this section negotiated, 0 for none. Per
   * section: werift offers `a=extmap:1` for it in audio and `a=extmap:2` in video.
   */
  midExtensionId: number;
  /**
   * Default true. False: the section's RTP is taken (authenticated, played to the publisher's
   * viewers) but not echoed: a WHIP publisher's recvonly section; or a WHEP viewer's sendonly
   * section (`payloadTypes: []`: it receives nothing), whose `echoSsrc` is the SSRC the viewer
   * plays on, and whose PLI, FIR and NACK about that SSRC come up as `rtcp-feedback`.
   */
  echo?: boolean;
}
// An RTP packet finds its section by, in order: the SSRC it came with before, its mid header
// extension (under each id a section gave it, a mid of a section with that id), the offered
// SSRCs, then its payload type if only one section has it. The echo keeps
// the packet byte for byte but for the SSRC, and the sequence number only when a second client
// source takes over a section (after a BYE or an SSRC change): its sequence then continues the
// echo's, so that no SRTP index repeats under the session key.

/**
 * A controlled ICE agent's credentials, for the plane to answer its checks itself: ours (the
 * answer's `a=ice-ufrag`/`a=ice-pwd`) and the offer's ufrag. Each at most 256 bytes; `localUfrag`
 * without ':'.
 */
export interface PlaneIceCredentials {
  localUfrag: string;
  localPwd: string;
  remoteUfrag: string;
  /**
   * With these three the plane also sends the check that a client's first answered check from
   * an address triggers (RFC 8445 §7.3.1.4: USERNAME `remoteUfrag:localUfrag`, PRIORITY from
   * `checkPriorities` for the address the client's check reached, else the first of its family,
   * ICE-CONTROLLED with `tieBreaker`, MESSAGE-INTEGRITY under `remotePwd`, FINGERPRINT), reports
   * its transaction id in the `stun` event (`check`), and selects a pair (`selectRemote`, DTLS
   * starts) once the client nominated it and answered that check. The agent adopts the check
   * and comes to the same selection. Without them: checks and selection are JavaScript's.
   */
  remotePwd?: string;
  tieBreaker?: bigint;
  checkPriorities?: Array<{ address: string; priority: number }>;
}

export interface CreateSessionOptions {
  /** The socket the session's candidates are on (a port per session, or the shared mux socket). */
  socket: number;
  /**
   * The ICE fast path: with these, a Binding request on the session's socket whose USERNAME is
   * `localUfrag:remoteUfrag`, with valid MESSAGE-INTEGRITY (and FINGERPRINT when present),
   * ICE-CONTROLLING and no ICE-CONTROLLED, and no comprehension-required attribute beyond
   * USERNAME, PRIORITY, USE-CANDIDATE, (XOR-)MAPPED-ADDRESS and ERROR-CODE, is answered on the
   * data-plane thread (success, XOR-MAPPED-ADDRESS, from the address it reached) and its sender
   * allowed (`allowRemote`, from that address) before the answer leaves; its `stun` event then
   * comes up with `answered: true`. Only for a controlled agent: one that becomes controlling
   * calls `stopIceAnswers`. On a shared socket the sessions are told apart by `localUfrag`.
   * Absent (or the plane's `answerIceChecks: false`): JavaScript answers every check.
   */
  ice?: PlaneIceCredentials;
  /** The DTLS role this side takes: `client` sends the ClientHello (answer `a=setup:active`). */
  dtlsRole: 'client' | 'server';
  /** The offer's `a=fingerprint`: the remote certificate must match it, or the handshake fails. */
  remoteFingerprint: { algorithm: string; value: string };
  /** The profiles to offer or accept, in preference order. */
  srtpProfiles: SrtpProfileName[];
  sections: EchoSectionConfig[];
}

export interface SessionStats {
  /** Everything that came from the remote on a validated address: SRTP, SRTCP, DTLS, STUN. */
  packetsIn: number;
  rtpEchoed: number;
  /** Bytes of the echoed RTP packets, header included, SRTP tag not. */
  rtpEchoedBytes: number;
  /** RTP not echoed: unknown payload type or section, SRTP auth failure, replay. */
  rtpDropped: number;
  rtcpIn: number;
  /** PLI and FIR sent to the client's sender on behalf of the echo's receiver. */
  keyframeRequests: number;
  nacksRelayed: number;
  srtpAuthFailures: number;
  /** Binding requests the data plane answered itself (CreateSessionOptions.ice). */
  stunAnswered: number;
  /** Triggered checks the data plane sent itself (PlaneIceCredentials.remotePwd). */
  stunChecksSent: number;
  /** Datagrams of application data sent in runs of one size with a single system call (UDP_SEGMENT). */
  datagramsSegmented: number;
}

/**
 * Delivered in batches, in the order they happened. STUN and app-data events are dropped while
 * 65,536 events or 32 MiB wait undelivered (a flood JavaScript cannot keep up with); the others
 * never are.
 */
export type PlaneEvent =
  /**
   * Every STUN message (first byte 0-3, 20 bytes or more) on any socket, from any address: ICE
   * is TypeScript's. `local` is the address of ours it reached (IP_PKTINFO / IPV6_PKTINFO on a
   * socket bound to '::' or '0.0.0.0', the bound address otherwise; '' where the platform cannot
   * say): its answer should leave from there (`send`'s `from`). `answered`: a check the plane
   * answered itself and allowed the sender for (CreateSessionOptions.ice); the agent does
   * everything else a check makes it do, but not answer or validate it again. `check`: the
   * transaction id of the triggered check the plane sent back (PlaneIceCredentials.remotePwd).
   */
  | { type: 'stun'; socket: number; from: UdpAddress; local: string; data: Buffer; answered?: true; check?: Buffer }
  /** The handshake finished and the remote certificate matched the fingerprint; SRTP keys are in place. */
  | { type: 'dtls-connected'; session: number; role: 'client' | 'server'; srtpProfile: SrtpProfileName | 'none' }
  /**
   * The handshake failed: `the peer certificate does not match the fingerprint`, `DTLS
   * handshake timed out` (OpenSSL's retransmissions ran out), or OpenSSL's reason for an alert.
   */
  | { type: 'dtls-failed'; session: number; reason: string }
  /** The remote sent close_notify. */
  | { type: 'dtls-closed'; session: number }
  /** DTLS application data (SCTP packets), decrypted. */
  /** `sctpChecksumValid`: the plane found the record an SCTP packet with its CRC32c (RFC 9260 §6.8). */
  | { type: 'app-data'; session: number; data: Buffer; sctpChecksumValid: boolean }
  /** The client's source on a section sent an RTCP BYE. */
  | { type: 'rtcp-bye'; session: number; mid: string; ssrc: number }
  /**
   * A viewer's PLI or FIR (`pli`), or generic NACK (`nack`: the sequence numbers, expanded from
   * its bitmasks), about the SSRC a viewer's section plays on (`echo: false`, no payload types).
   * Dropped under a flood, as `stun`.
   */
  | { type: 'rtcp-feedback'; session: number; mid: string; pli: boolean; nack: number[] };

/** One viewer section's share of a publication, as `addViewer` takes it (engine.ts ViewerTrack). */
export interface PlayedTrack {
  publisherMid: string;
  viewerMid: string;
  /** [publisher payload type, the viewer's]; packets of other payload types are not played. */
  payloadTypes: ReadonlyArray<readonly [number, number]>;
  /** The SSRC the viewer's answer announced for the section (its `echoSsrc`, with `echo: false`). */
  ssrc: number;
  /** The viewer's id for the mid header extension (one-byte form, 1-14); absent or 0: none written. */
  midExtensionId?: number;
}

export interface NativePlane {
  /** The fingerprint of this plane's DTLS certificate (one per plane), for the answer's `a=fingerprint`. */
  readonly fingerprint: { algorithm: 'sha-256'; value: string };
  /**
   * Binds a UDP socket (on this thread, synchronously) that the data-plane thread then reads;
   * an error string (`no free UDP port in 50000-50099`, `invalid bind address: …`) otherwise.
   */
  openSocket(options: OpenSocketOptions): { socket: number; local: UdpAddress } | string;
  /** Closes a socket once no session uses it. */
  closeSocket(socket: number): void;
  /**
   * Sends one datagram as it is (STUN from the ICE agent), at most 2,048 bytes, from local
   * address `from` when given (a socket bound to a wildcard; the kernel chooses by route
   * otherwise). A remote such as pion drops a STUN answer from another address than the one its
   * check went to. False when the socket is gone or an argument is invalid (`from` not an IP
   * address); true means queued (UDP may still drop it, and a `from` that is not ours or not of
   * the remote's family is not used).
   */
  send(socket: number, to: UdpAddress, data: Buffer, from?: string): boolean;
  /** The session's id, or an error string for options out of shape or an unknown socket. */
  createSession(options: CreateSessionOptions): number | string;
  /**
   * An address ICE validated for the session (a check answered either way): DTLS and SRTP from
   * it are accepted. On a shared socket it also routes that address's packets to this session
   * (the latest session to allow an address gets it). A session keeps its last 16 addresses;
   * the oldest one that is not the selected one goes first. `local`: the address of ours that
   * remote reaches (the pair's), what the session sends it from until its own datagrams say.
   */
  allowRemote(session: number, remote: UdpAddress, local?: string): boolean;
  /**
   * The selected pair's remote: where DTLS, the echo and RTCP go (it is allowed too), from
   * `local` (the pair's address of ours) and then from whichever of our addresses its datagrams
   * last reached. Starts the handshake in the client role.
   *
   * Before it, in the server role, the session answers a ClientHello from an allowed address
   * there, and sends DTLS, SCTP (application data) and the echo to the allowed address the last
   * DTLS came from (from the address it reached); RTP from an allowed address is echoed back to
   * it. A libdatachannel client, DTLS client, shakes hands on its first working pair, seconds
   * before it nominates one. Once selected, everything goes to the selected remote.
   *
   * Both return false for an unknown session or an invalid address.
   */
  selectRemote(session: number, remote: UdpAddress, local?: string): boolean;
  /**
   * The plane answers none of the session's checks from now on (its agent became controlling:
   * a role conflict is the agent's to weigh). False for an unknown session.
   */
  stopIceAnswers(session: number): boolean;
  /**
   * Encrypts and sends DTLS application data, a record per buffer (an SCTP packet, 1 byte to
   * 16 KiB; at most 1,024 in one call; runs of equal-sized records leave in one segmented send).
   * With `sctpChecksum`, each record is an SCTP packet (12 bytes at least) whose CRC32c the plane
   * writes (RFC 9260 §6.8; the caller's bytes 8-11 do not matter). False before the handshake is
   * done or after it ended, or for a record out of bounds (then none is sent).
   */
  sendApplicationData(session: number, data: Buffer | readonly Buffer[], sctpChecksum?: boolean): boolean;
  /**
   * Playback (WHEP): from now on each authentic RTP packet of session `publisher` on a track's
   * `publisherMid` is copied to session `viewer` (replacing its earlier tracks), rewritten
   * (payload type by the pairs, the track's SSRC, only the viewer's mid extension), encrypted
   * with the viewer's keys and sent to its remote; dropped before the viewer's DTLS is up. The
   * viewer's SRTP index starts at rollover 0 with the publisher's sequence numbers, and a new
   * publisher source continues above the last one sent. Closing either session unlinks it.
   * True, or an error string (an unknown session, tracks out of shape).
   */
  addViewer(publisher: number, viewer: number, tracks: readonly PlayedTrack[]): true | string;
  /** Stops playing to `viewer`. False for an unknown session. */
  removeViewer(viewer: number): boolean;
  /**
   * A PLI from section `mid`'s echo SSRC to the client's source there (learnt from its RTP; none
   * is sent before a packet came). False when the session is unknown or its DTLS is not up.
   */
  requestKeyframe(publisher: number, mid: string): boolean;
  /**
   * A viewer's NACK on `viewerMid`, in the viewer's sequence numbers (1-64 of them): the plane
   * sends its publisher a NACK for the same packets in the publisher's numbering.
   */
  nackForViewer(viewer: number, viewerMid: string, sequences: readonly number[]): boolean;
  /** Synchronous snapshot of the session's counters. */
  stats(session: number): SessionStats | undefined;
  /** Sends close_notify (if connected) and frees the session on the data-plane thread. Idempotent. */
  closeSession(session: number): void;
  /**
   * Stops the thread (every connected session sends close_notify first) and frees everything;
   * later calls are no-ops. Until then the plane keeps the process alive, as a socket would.
   * The environment's teardown (process.exit, Worker.terminate) closes it too.
   */
  close(): void;
  /**
   * Test hook, present only when WEBRTC_ECHO_TEST_HOOKS=1 was set when the plane was created:
   * the data-plane thread dies of a segmentation fault, taking its process with it.
   */
  crashDataPlaneForTest?(): void;
}

export interface PlaneOptions {
  /**
   * Interrupt moderation: how long a busy data-plane thread (woken again within 1 ms of its last
   * wake-up) lets packets gather before it reads them, in microseconds, 0-100000. Fewer, bigger
   * batches cost less CPU per packet for at most this much more echo delay; an idle plane reads
   * at once. Default 200 (measured in native/README.md); 0 turns it off.
   */
  coalesceMicroseconds?: number;
  /**
   * Default true: answer the checks of sessions created with `ice` on the data-plane thread
   * (one thread crossing less each way per check). False: JavaScript answers every check.
   */
  answerIceChecks?: boolean;
}

export interface NativeAddon {
  /**
   * Starts a data plane (one thread, its own DTLS certificate) whose events arrive in batches on
   * the JavaScript thread; an error string when it cannot start or an option is out of range.
   * An exception thrown by `onEvents` goes to process 'uncaughtException' and later batches
   * still come.
   */
  createPlane(onEvents: (events: PlaneEvent[]) => void, options?: PlaneOptions): NativePlane | string;
  /**
   * What it was built and runs with, e.g. `{ addon: '0.1.0', openssl: 'OpenSSL 3.0.19 27 Jan
   * 2026', io: 'recvmmsg/sendmmsg, epoll, UDP_SEGMENT' }` (UDP_SEGMENT where the headers define
   * it), plus `sanitizers: 'address,undefined'` in the ASan build.
   */
  versions(): Record<string, string>;
}
