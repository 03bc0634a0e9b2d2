/**
 * The one boundary between webrtc-echo and a WebRTC stack.
 *
 * Everything outside `src/engines/` talks to a stack only through these types. A stack lives
 * in its own folder, `src/engines/<stack>/`, whose `index.ts` exports one `Engine`; one line
 * in `registry.ts` names it, and from there the CLI, the matrix, the bench and the conformance
 * suite (test/engines/conformance.test.ts) pick it up. What every stack needs (state
 * reporting, bounded gathering, quiet close, message conversion) is in `kit/`.
 */
import type { Logger } from 'pino';
import type { IceServer } from '../net/ice-server.js';
import type { MediaKind, SessionDescription } from '../sdp/description.js';
import type { ParsedOffer } from '../sdp/parsed-offer.js';
import type { SdpCandidate } from '../sdp/candidates.js';
import type { PlaybackPlan, PublishedTrack, TrackMapping } from '../sdp/playback.js';

export type EngineName = 'libdatachannel' | 'werift' | 'libwebrtc' | 'native';

/** RTCPeerConnectionState, as far as we need it. `closed` is always the last state reported. */
export type PeerState = 'new' | 'connecting' | 'connected' | 'disconnected' | 'failed' | 'closed';
/** RTCIceConnectionState, reduced to what timings and failure detection need. */
export type IceState = 'new' | 'checking' | 'connected' | 'completed' | 'disconnected' | 'failed' | 'closed';

/** What one echo peer has sent back so far. Plain numbers: engines bump them on the hot path. */
export interface EchoCounters {
  rtpPackets: number;
  rtpBytes: number;
  /** Keyframe requests (PLI/FIR) relayed from the echoed stream to the client's own sender. */
  keyframeRequests: number;
  messages: number;
  messageBytes: number;
  /** RTP packets not echoed because the server was behind (overload is bounded, not queued). */
  rtpDropped?: number;
}

/** Where and how a peer gathers and connects. Every field is optional: the default is host candidates only. */
export interface NetworkOptions {
  /** STUN and TURN servers for gathering. Default none (the Echo Test runs on one host or LAN). */
  iceServers?: readonly IceServer[];
  /** Gather and use relay candidates only (RTCIceTransportPolicy `relay`). Default false. */
  relayOnly?: boolean;
  /** The local UDP ports ICE may use, inclusive. Default: any the OS gives. */
  portRange?: { min: number; max: number };
  /** One local UDP port shared by every peer of the process (ICE UDP mux); only where `capabilities.udpMux`. */
  udpMux?: number;
  /**
   * Gather and announce loopback addresses only (127.0.0.1, ::1): a server that listens on
   * loopback is for clients on this machine, and its ICE must not address this machine's other
   * interfaces either (tests, benches and soaks keep their traffic on loopback). Default false.
   * libwebrtc (wrtc) takes no interface filter: its descriptions carry loopback candidates only,
   * but its sockets on the other interfaces still check the other side's loopback candidates.
   */
  loopbackOnly?: boolean;
}

export type CandidateType = 'host' | 'srflx' | 'prflx' | 'relay';

/** One end of a candidate pair, as the stack reports it. */
export interface CandidateInfo {
  type: CandidateType;
  protocol: 'udp' | 'tcp';
  address: string;
  port: number;
}

/** The pair ICE selected: what actually carries the media. */
export interface CandidatePair {
  local: CandidateInfo;
  remote: CandidateInfo;
}

export interface EchoPeerOptions {
  /** Bound on waiting for ICE gathering before the answer is returned (non-trickle). */
  gatherTimeoutMs: number;
  network?: NetworkOptions;
  log: Logger;
  /**
   * Asked once for each data channel the client opens, before it is echoed: on false the
   * engine closes that channel at once and never echoes on it. Absent: every channel is admitted.
   */
  admitDataChannel?(label: string): boolean;
  /**
   * The session publishes (WHIP): the peer carries a `publication` that viewers can be added to.
   * Only where `capabilities.playback`. Default false.
   */
  publish?: boolean;
}

/**
 * The server side of one session: a peer connection that has applied the client's offer,
 * produced a complete answer, and echoes every RTP packet and data channel message.
 */
export interface EchoPeer {
  /** The answer, with every local candidate inside (non-trickle ICE). */
  readonly answer: SessionDescription;
  readonly counters: EchoCounters;
  /** Called on every connection state change; `closed` comes last, exactly once. */
  onStateChange(listener: (state: PeerState) => void): void;
  onIceStateChange(listener: (state: IceState) => void): void;
  /** The pair ICE selected, once there is one; undefined before and after. Never throws. */
  selectedPair(): Promise<CandidatePair | undefined>;
  /**
   * A count of what has arrived from the client so far, that changes whenever anything does:
   * RTP and RTCP packets, data channel messages, ICE (STUN) checks and answers to this peer's
   * own checks. Cheap and synchronous: the session reads it twice a second, and releases a
   * peer whose count stands still for its idle timeout (a client that vanished without a
   * goodbye). A live client moves it every few seconds even when idle, through ICE consent
   * (RFC 7675). `undefined` while the engine cannot tell an idle client from a vanished one
   * (see probeLiveness): the session then does not apply the idle rule.
   */
  inboundActivity(): number | undefined;
  /**
   * Asks the client for a sign of life now, so that inboundActivity moves if it is there: what
   * engines that cannot see the client's own ICE traffic do (libdatachannel); a no-op on the
   * others. The session calls it at most once a second while the peer has been silent past
   * half the idle timeout. Never throws.
   */
  probeLiveness(): void;
  /**
   * What this side's stack knows of its DTLS and SCTP transports, where the engine can tell
   * (the session logs it on `session-connected`, and the matrix shows it beside the client's
   * sub-checks). Never throws; absent where the stack tells nothing.
   */
  transportFacts?(): EchoTransportFacts;
  /** Idempotent, never throws: closes the peer connection and frees tracks and channels. */
  close(): void;
  /** With `EchoPeerOptions.publish` (and `capabilities.playback`): what this peer receives, to be played to viewers. */
  readonly publication?: Publication;
  /**
   * Adds a remote candidate trickled after the answer (WHIP/WHEP PATCH, RFC 8840), one that the
   * server already resolved and judged by its candidate policy. Only where `capabilities.trickle`.
   * Throws OfferRefused when the stack refuses the candidate.
   */
  addRemoteCandidate?(candidate: SdpCandidate): void;
}

/**
 * Playback (WHEP), in the engine: one publishing peer's RTP sent on to viewer peers of the same
 * engine and process. The mapping is plain numbers (payload types, SSRCs, mids, an extension
 * id), so a data plane in another language can forward natively: `addViewer` hands it the
 * viewer and the mapping, and no packet needs to cross into JavaScript (docs/whip-whep.md).
 */
export interface Publication {
  /** The sections the publisher sends on, with the codecs our answer accepted. */
  readonly tracks: readonly PublishedTrack[];
  /** Viewers attached now. */
  readonly viewers: number;
  /**
   * From now on, sends this publisher's tracks to `viewer` as `tracks` map them. Packets go out
   * with the viewer's payload types, SSRC and mid; each viewer is independent (one that cannot
   * take a packet does not hold back the others).
   */
  addViewer(viewer: ViewerSink, tracks: readonly ViewerTrack[]): ViewerLink;
}

/** One viewer section's share of a publication: the mapping, and the SSRC the viewer's answer announced. */
export interface ViewerTrack extends TrackMapping {
  readonly ssrc: number;
}

/** Where a publication sends a viewer's packets: the viewer peer's section `viewerMid`. */
export interface ViewerSink {
  /** Sends one RTP packet, already rewritten for the viewer; false when it could not go out (not connected yet). */
  sendRtp(viewerMid: string, packet: Buffer): boolean;
}

/** A viewer's tie to its publication, held by the viewer peer. */
export interface ViewerLink {
  /**
   * The viewer asked for a keyframe on `viewerMid` (a PLI or FIR), or has just connected: the
   * publisher is asked (PLI), requests of several viewers close together coalesced into one.
   */
  requestKeyframe(viewerMid: string): void;
  /** The viewer lost these sequence numbers on `viewerMid` (a generic NACK): the publisher is asked to send them again. */
  nack(viewerMid: string, sequences: readonly number[]): void;
  /** Stops sending to this viewer. Idempotent. */
  remove(): void;
}

/** The echo peer's own side of a session's transports, as its stack knows them. */
export interface EchoTransportFacts {
  /** The DTLS role the echo peer took: `client` sent the ClientHello. */
  dtlsRole: TransportFact<'client' | 'server'>;
  /** The SRTP protection profile DTLS-SRTP chose, by its IANA name (e.g. SRTP_AEAD_AES_128_GCM). */
  srtpProfile: TransportFact<string>;
  /** Whether the echo peer's own SCTP announced Zero Checksum Acceptable (RFC 9653) in its INIT-ACK. */
  sctpZeroChecksum: TransportFact<boolean>;
}

export interface ClientPeerOptions {
  audio: boolean;
  video: boolean;
  /** Label of the data channel created before the offer, or undefined for none. */
  dataChannel?: string;
  /**
   * The direction each media section offers: `sendrecv` for the Echo Test (the default),
   * `sendonly` for a WHIP publisher, `recvonly` for a WHEP player (its legs only receive).
   */
  direction?: MediaDirection;
  gatherTimeoutMs: number;
  network?: NetworkOptions;
  log: Logger;
}

export type MediaDirection = 'sendrecv' | 'sendonly' | 'recvonly';

/** Payload types the client offers; our packetizers write them into the RTP they send. */
export const CLIENT_PAYLOAD_TYPES = { video: 96, audio: 111 } as const;

/** One sendrecv media section of a client peer. */
export interface MediaLeg {
  readonly kind: MediaKind;
  /** Payload type of the codec sent: VP8 for video, Opus for audio. */
  readonly payloadType: number;
  /** The SSRC this leg sends with (read from the offer where the stack picks it). */
  readonly ssrc: number;
}

/** A media section at the RTP packet level: our packetizers write what it sends. */
export interface RtpLeg extends MediaLeg {
  /** Send one complete RTP packet (header + payload, with this leg's SSRC); the stack encrypts it. */
  send(packet: Buffer): void;
  /** Every RTP packet received on this section (the echo). */
  onRtp(listener: (packet: Buffer) => void): void;
  /** Send one RTCP packet (a PLI, a BYE…) on this section. */
  sendRtcp(packet: Buffer): void;
  /** RTCP received on this section: feedback about this leg's SSRC, and reports and BYEs. */
  onRtcp(listener: (packet: Buffer) => void): void;
  /**
   * Once the answer is applied: the mid header extension (RFC 8843 §15, one-byte form) the
   * caller must write into every packet it sends, with the id the answer negotiated and the
   * section's mid; undefined where the stack writes it itself or the answer did not negotiate it.
   */
  readonly midExtension?: { id: number; mid: string };
}

/** What went out and came back on one leg, as the stack counts it. */
export interface LegMediaStats {
  kind: MediaKind;
  packetsSent: number;
  /** The echo, as the stack received it. */
  packetsReceived: number;
}

/**
 * A client's media, in the form its engine can give (`EngineCapabilities.rawRtp`): raw RTP legs,
 * or legs the stack feeds from its own encoder, seen only through its stats.
 */
export type ClientMedia =
  | { readonly mode: 'rtp'; readonly legs: readonly RtpLeg[] }
  | { readonly mode: 'generated'; readonly legs: readonly MediaLeg[]; stats(): Promise<LegMediaStats[]> };

export interface ClientDataChannel {
  readonly label: string;
  readonly isOpen: boolean;
  send(data: string | Buffer): void;
  onOpen(listener: () => void): void;
  onMessage(listener: (data: string | Buffer) => void): void;
}

/** One fact about a transport: what the stack says, or why it cannot say. */
export type TransportFact<T> = { known: true; value: T } | { known: false; why: string };

/** What the client's stack can tell about its DTLS and SCTP transports, for the sub-checks. */
export interface TransportFacts {
  /** The DTLS role this side took: `client` sent the ClientHello. */
  dtlsRole: TransportFact<'client' | 'server'>;
  /** The SRTP protection profile DTLS-SRTP chose, as the stack names it (e.g. SRTP_AES128_CM_HMAC_SHA1_80). */
  srtpProfile: TransportFact<string>;
  /** Whether the remote SCTP INIT or INIT-ACK carried Zero Checksum Acceptable (RFC 9653, parameter 0x8001). */
  sctpZeroChecksum: TransportFact<boolean>;
  /** The largest message the stack lets this side send on a data channel (0: no limit). */
  sctpMaxMessageSize: TransportFact<number>;
}

/** The client side: creates the offer, applies the answer, sends media and messages. */
export interface ClientPeer {
  /** Creates the offer and waits (bounded) for gathering, so every candidate is inside. */
  createOffer(): Promise<SessionDescription>;
  acceptAnswer(answer: SessionDescription): Promise<void>;
  /** One leg per requested kind, in offer order; usable once connected. */
  readonly media: ClientMedia;
  /** The channel created before the offer (ClientPeerOptions.dataChannel), if any. */
  readonly dataChannel: ClientDataChannel | undefined;
  /** Opens another data channel, also once connected (in-band, RFC 8832: no renegotiation). */
  openDataChannel(label: string): ClientDataChannel;
  onStateChange(listener: (state: PeerState) => void): void;
  onIceStateChange(listener: (state: IceState) => void): void;
  /** The pair ICE selected, once there is one; undefined before and after. Never throws. */
  selectedPair(): Promise<CandidatePair | undefined>;
  /** Once connected: what the stack says about its DTLS and SCTP transports. Never throws. */
  transportFacts(): Promise<TransportFacts>;
  /**
   * After createOffer: every local candidate the stack gathered, with its section's mid, whether
   * or not the offer carries it (a stack may send its offer without them), for a caller that
   * trickles them (WHIP PATCH, RFC 8840). Its ICE credentials, for the fragment's ice-ufrag/ice-pwd.
   */
  localCandidates(): { candidates: SdpCandidate[]; ufrag: string; pwd: string } | undefined;
  /** Idempotent, never throws. */
  close(): void;
}

/** What a stack can do, declared once; callers and the conformance suite read it, never guess. */
export interface EngineCapabilities {
  /**
   * The echo peer sends back the client's own RTP packets, only the SSRC rewritten (so payloads
   * are byte-exact and round trips can be timed), and relays keyframe requests to the client's
   * sender. Without it the stack decodes and re-encodes, and answers keyframe requests itself.
   */
  readonly packetEcho: boolean;
  /** The client's media is `mode: 'rtp'`: it sends our packets and hands us the echo's. */
  readonly rawRtp: boolean;
  /** `NetworkOptions.udpMux` works: every peer of the process on one UDP port. */
  readonly udpMux: boolean;
  /**
   * Playback (WHEP): echo peers made with `publish` carry a `Publication`, and `createViewerPeer`
   * plays one to a viewer, at packet level (payload types mapped, SSRC and mid rewritten,
   * keyframe requests and NACKs relayed to the publisher).
   */
  readonly playback: boolean;
  /** `EchoPeer.addRemoteCandidate`: candidates trickled after the answer (WHIP/WHEP PATCH). */
  readonly trickle: boolean;
  /**
   * `NetworkOptions.iceServers` works for the echo peer: it gathers server-reflexive or relay
   * candidates from them. Without it the server refuses --ice-server at start.
   */
  readonly iceServers: boolean;
}

/**
 * What one session may hold on a stack, with an offer at the default offer limits (16 media
 * sections, 64 candidates), measured from /proc with test/echo/session-cost.ts (docs/security.md
 * has the table), and the session count that keeps the worst case inside one process: well
 * under 20,000 fds (`ulimit -n` here; Node raises its soft limit to the hard one) and a few
 * thousand threads.
 */
export interface EngineBudget {
  /** The default of --max-sessions for this engine. */
  readonly maxSessions: number;
  /** Worst case per session at the default offer limits, measured. */
  readonly fdsPerSession: number;
  readonly threadsPerSession: number;
}

export interface Engine {
  readonly name: EngineName;
  readonly capabilities: EngineCapabilities;
  readonly budget: EngineBudget;
  /**
   * Applies the offer and returns once the answer is complete. The offer comes checked and
   * parsed (sdp/offer.ts, parseOffer): read `offer.parsed`, never parse `offer.sdp` again.
   * Rejects with OfferRefused (kit/refusal.ts) when the stack refuses the offer; anything else
   * it throws is a bug, answered 500.
   */
  createEchoPeer(offer: ParsedOffer, options: EchoPeerOptions): Promise<EchoPeer>;
  /**
   * Only where `capabilities.playback`: answers a viewer's offer (checked and parsed, as for
   * createEchoPeer) with a peer that plays `publication` (a peer of this engine, in this process)
   * as `plan` says: one sendonly section per mapping, an inactive one per idle section. The plan
   * was made from the offer and `publication.tracks` (sdp/playback.ts, planPlayback). The peer
   * echoes the viewer's data channels, and detaches from the publication when it closes.
   */
  createViewerPeer?(offer: ParsedOffer, publication: Publication, plan: PlaybackPlan, options: EchoPeerOptions): Promise<EchoPeer>;
  /**
   * The client side. Absent for a server-only engine (native: our own media plane has no
   * offerer side): its sessions are driven by the other engines' clients, in the conformance
   * suite and the matrix alike. Callers check with `hasClientPeer`.
   */
  createClientPeer?(options: ClientPeerOptions): ClientPeer;
}

/** Thrown by an engine's loader where it cannot run here (a native part that did not build or load). */
export class EngineUnavailable extends Error {
  constructor(
    readonly engine: EngineName,
    readonly reason: string,
  ) {
    super(`the ${engine} engine is unavailable: ${reason}`);
    this.name = 'EngineUnavailable';
  }
}

/** An engine that has a client side. */
export type ClientEngine = Engine & { createClientPeer(options: ClientPeerOptions): ClientPeer };

export function hasClientPeer(engine: Engine): engine is ClientEngine {
  return typeof engine.createClientPeer === 'function';
}

/** The raw RTP legs of a client peer, or none where its engine sends its own encoding (rawRtp false). */
export function rtpLegs(peer: ClientPeer): readonly RtpLeg[] {
  return peer.media.mode === 'rtp' ? peer.media.legs : [];
}

/** `host udp 192.0.2.2:50000 -> prflx udp 203.0.113.7:61000`, for the log. */
export function describePair(pair: CandidatePair | undefined): string | undefined {
  if (!pair) return undefined;
  const end = (c: CandidatePair['local']) => `${c.type} ${c.protocol} ${c.address.includes(':') ? `[${c.address}]` : c.address}:${c.port}`;
  return `${end(pair.local)} -> ${end(pair.remote)}`;
}
