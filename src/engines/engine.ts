/**
 * The one boundary between webrtc-echo and a WebRTC stack.
 *
 * Everything outside `src/engines/` talks to a stack only through these types, so a new
 * stack is one file here plus one line in `registry.ts`, and the tests pick it up.
 */
import type { Logger } from 'pino';

export type EngineName = 'libdatachannel' | 'werift' | 'libwebrtc';
export type MediaKind = 'audio' | 'video';

/** A JSON RTCSessionDescriptionInit as it crosses the signaling channel. */
export interface SessionDescription {
  type: 'offer' | 'answer';
  sdp: string;
}

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
}

export interface EchoPeerOptions {
  /** Bound on waiting for ICE gathering before the answer is returned (non-trickle). */
  gatherTimeoutMs: number;
  log: Logger;
  /**
   * Asked once for each data channel the client opens, before it is echoed: on false the
   * engine closes that channel at once and never echoes on it. Absent: every channel is admitted.
   */
  admitDataChannel?(label: string): boolean;
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
  /** Idempotent, never throws: closes the peer connection and frees tracks and channels. */
  close(): void;
}

export interface ClientPeerOptions {
  audio: boolean;
  video: boolean;
  /** Label of the data channel created before the offer, or undefined for none. */
  dataChannel?: string;
  gatherTimeoutMs: number;
  log: Logger;
}

/** Payload types the client offers; our packetizers write them into the RTP they send. */
export const CLIENT_PAYLOAD_TYPES = { video: 96, audio: 111 } as const;

/** One sendrecv media section of a client peer, at the RTP packet level. */
export interface MediaLeg {
  readonly kind: MediaKind;
  /** Payload type of the codec we send: VP8 for video, Opus for audio (CLIENT_PAYLOAD_TYPES). */
  readonly payloadType: number;
  /** The SSRC this leg sends with; packets passed to send() must carry it. */
  readonly ssrc: number;
  /** Send one complete RTP packet (header + payload); the stack encrypts it. */
  send(packet: Buffer): void;
  /** Every RTP packet received on this section (the echo). */
  onRtp(listener: (packet: Buffer) => void): void;
}

export interface ClientDataChannel {
  readonly label: string;
  readonly isOpen: boolean;
  send(data: string | Buffer): void;
  onOpen(listener: () => void): void;
  onMessage(listener: (data: string | Buffer) => void): void;
}

/** The client side: creates the offer, applies the answer, sends media and messages. */
export interface ClientPeer {
  /** Creates the offer and waits (bounded) for gathering, so every candidate is inside. */
  createOffer(): Promise<SessionDescription>;
  acceptAnswer(answer: SessionDescription): Promise<void>;
  /** One leg per requested kind, in offer order; usable once connected. */
  readonly media: readonly MediaLeg[];
  readonly dataChannel: ClientDataChannel | undefined;
  onStateChange(listener: (state: PeerState) => void): void;
  onIceStateChange(listener: (state: IceState) => void): void;
  /**
   * Only on engines whose legs cannot carry our raw RTP (libwebrtc): they send their own
   * encoding of a generated source, and report what went out and came back from their stats.
   */
  mediaStats?(): Promise<LegMediaStats[]>;
  /** Idempotent, never throws. */
  close(): void;
}

export interface LegMediaStats {
  kind: MediaKind;
  packetsSent: number;
  /** The echo, as the stack received it. */
  packetsReceived: number;
}

export interface Engine {
  readonly name: EngineName;
  /** Applies the offer and returns once the answer is complete. Rejects on an offer the stack refuses. */
  createEchoPeer(offer: SessionDescription, options: EchoPeerOptions): Promise<EchoPeer>;
  createClientPeer(options: ClientPeerOptions): ClientPeer;
}
