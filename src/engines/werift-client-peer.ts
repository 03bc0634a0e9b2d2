/**
 * The werift client side: offers Opus and VP8 on fixed payload types plus an optional data
 * channel, and moves RTP as whole packets.
 */
import {
  RTCPeerConnection,
  RTCRtpCodecParameters,
  useFIR,
  useNACK,
  usePLI,
  useSdesMid,
  type RTCDataChannel,
  type RTCDtlsTransport,
  type RTCRtpTransceiver,
  type RtpPacket,
} from 'werift';
import { CLIENT_PAYLOAD_TYPES } from './engine.js';
import type {
  ClientDataChannel,
  ClientPeer,
  ClientPeerOptions,
  IceState,
  MediaKind,
  MediaLeg,
  PeerState,
  SessionDescription,
} from './engine.js';
import { BASE_PEER_CONFIG, StateReporter, safely, sendDtlsCloseNotify, waitForGatheringComplete } from './werift-common.js';

const CLIENT_CODECS = {
  audio: [
    new RTCRtpCodecParameters({ mimeType: 'audio/opus', clockRate: 48000, channels: 2, payloadType: CLIENT_PAYLOAD_TYPES.audio }),
  ],
  video: [
    new RTCRtpCodecParameters({
      mimeType: 'video/VP8',
      clockRate: 90000,
      payloadType: CLIENT_PAYLOAD_TYPES.video,
      rtcpFeedback: [useNACK(), usePLI(), useFIR()],
    }),
  ],
};

export function createWeriftClientPeer(options: ClientPeerOptions): ClientPeer {
  return new WeriftClientPeer(options);
}

class WeriftClientPeer implements ClientPeer {
  readonly media: readonly MediaLeg[];
  readonly dataChannel: ClientDataChannel | undefined;
  private readonly pc: RTCPeerConnection;
  private readonly legs: WeriftMediaLeg[] = [];
  private readonly reporter = new StateReporter();
  private readonly unsubscribers: Array<() => void> = [];
  private closed = false;

  constructor(private readonly options: ClientPeerOptions) {
    this.pc = new RTCPeerConnection({
      ...BASE_PEER_CONFIG,
      codecs: CLIENT_CODECS,
      headerExtensions: { audio: [useSdesMid()], video: [useSdesMid()] },
      // One transport for everything: with werift's default max-compat it gathers a socket pair
      // per m-section and never closes the ones bundling leaves unused.
      bundlePolicy: 'max-bundle',
    });
    this.unsubscribers.push(...this.reporter.follow(this.pc, () => this.close()));
    const kinds: MediaKind[] = [...(options.audio ? ['audio' as const] : []), ...(options.video ? ['video' as const] : [])];
    for (const kind of kinds) this.legs.push(new WeriftMediaLeg(kind, this.pc.addTransceiver(kind, { direction: 'sendrecv' })));
    this.media = this.legs;
    this.dataChannel =
      options.dataChannel === undefined ? undefined : new WeriftClientDataChannel(this.pc.createDataChannel(options.dataChannel));
  }

  async createOffer(): Promise<SessionDescription> {
    await this.pc.setLocalDescription(await this.pc.createOffer());
    await waitForGatheringComplete(this.pc, this.options.gatherTimeoutMs);
    return { type: 'offer', sdp: this.pc.localDescription?.sdp ?? '' };
  }

  async acceptAnswer(answer: SessionDescription): Promise<void> {
    followDtlsRoleForStreamIds(this.pc);
    await this.pc.setRemoteDescription(answer);
    const transports = new Set<RTCDtlsTransport>(this.pc.getTransceivers().map((t) => t.dtlsTransport));
    for (const transport of transports) {
      this.unsubscribers.push(transport.onRtp.subscribe((rtp) => this.deliver(rtp)).unSubscribe);
    }
  }

  onStateChange(listener: (state: PeerState) => void): void {
    this.reporter.onState(listener);
  }

  onIceStateChange(listener: (state: IceState) => void): void {
    this.reporter.onIce(listener);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const unsubscribe of this.unsubscribers.splice(0)) safely(unsubscribe);
    const transport = this.pc.dtlsTransports[0];
    // Tell the server first (see sendDtlsCloseNotify); the sockets close right after.
    void sendDtlsCloseNotify(transport).finally(() => safely(() => this.pc.close()));
    this.reporter.close();
  }

  /**
   * Echoed packets are matched to a leg by payload type: we offer exactly one codec per kind
   * on distinct payload types, so this works whether or not the answer declares its SSRCs.
   */
  private deliver(rtp: RtpPacket): void {
    const leg = this.legs.find((l) => l.payloadType === rtp.header.payloadType);
    leg?.deliver(rtp);
  }
}

class WeriftMediaLeg implements MediaLeg {
  readonly payloadType: number;
  private readonly listeners: Array<(packet: Buffer) => void> = [];

  constructor(
    readonly kind: MediaKind,
    private readonly transceiver: RTCRtpTransceiver,
  ) {
    this.payloadType = CLIENT_PAYLOAD_TYPES[kind];
  }

  get ssrc(): number {
    return this.transceiver.sender.ssrc;
  }

  /** werift's sender stamps its SSRC and negotiated payload type (ours) and adds the mid extension. */
  send(packet: Buffer): void {
    this.transceiver.sender.sendRtp(packet).catch(() => undefined);
  }

  onRtp(listener: (packet: Buffer) => void): void {
    this.listeners.push(listener);
  }

  /** werift hands out parsed packets only, so the bytes are serialized again. */
  deliver(rtp: RtpPacket): void {
    if (this.listeners.length === 0) return;
    const bytes = rtp.serialize();
    for (const listener of this.listeners) listener(bytes);
  }
}

class WeriftClientDataChannel implements ClientDataChannel {
  constructor(private readonly channel: RTCDataChannel) {}

  get label(): string {
    return this.channel.label;
  }

  get isOpen(): boolean {
    return this.channel.readyState === 'open';
  }

  send(data: string | Buffer): void {
    this.channel.send(data);
  }

  onOpen(listener: () => void): void {
    if (this.isOpen) {
      queueMicrotask(listener);
      return;
    }
    const subscription = this.channel.stateChanged.subscribe((state) => {
      if (state !== 'open') return;
      subscription.unSubscribe();
      listener();
    });
  }

  onMessage(listener: (data: string | Buffer) => void): void {
    this.channel.onMessage.subscribe((data) => listener(data));
  }
}

/**
 * werift picks data channel stream ids by ICE role (controlling: odd), but RFC 8832 §6 ties them
 * to the DTLS role (client: even, server: odd). When a server answers `a=setup:passive` our
 * offerer is the DTLS client, its odd ids clash with the server's, and the channel never opens
 * (seen against libdatachannel). Re-pick the parity from the DTLS role once SCTP starts.
 */
function followDtlsRoleForStreamIds(pc: RTCPeerConnection): void {
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
