/**
 * The werift client side: offers Opus and VP8 on fixed payload types plus an optional data
 * channel, and moves RTP and RTCP as whole packets.
 */
import {
  RTCPeerConnection,
  RTCRtpCodecParameters,
  RtcpPacketConverter,
  useFIR,
  useNACK,
  usePLI,
  useSdesMid,
  type RTCDataChannel,
  type RTCDtlsTransport,
  type RTCRtpTransceiver,
  type RtcpPacket,
  type RtpPacket,
} from 'werift';
import { CLIENT_PAYLOAD_TYPES, type CandidatePair, type ClientDataChannel, type ClientMedia, type ClientPeer, type ClientPeerOptions, type IceState, type PeerState, type RtpLeg, type TransportFacts } from '../engine.js';
import type { MediaKind, SessionDescription } from '../../sdp/description.js';
import { closeQuietly } from '../kit/close.js';
import { SRTP_PROFILE_NAMES, known, unknown } from '../kit/facts.js';
import { waitForGathering } from '../kit/gathering.js';
import { localCandidatesOf } from '../kit/local-candidates.js';
import { PeerStates } from '../kit/state-reporter.js';
import { rtcpFeedbackMediaSsrc } from '../../rtp/rtcp.js';
import { keepEarlyDtls } from './early-dtls.js';
import { sendDtlsCloseNotify } from './close-notify.js';
import { gatheringComplete, peerConfig, selectedPairOf, withoutDefaultStun } from './config.js';
import { sendMessage } from './messages.js';
import { followStates } from './states.js';
import { watchRemoteSctpParameters } from './sctp-params.js';
import { followDtlsRoleForStreamIds } from './stream-ids.js';

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
  readonly media: ClientMedia;
  readonly dataChannel: ClientDataChannel | undefined;
  private readonly pc: RTCPeerConnection;
  private readonly legs: WeriftRtpLeg[] = [];
  private readonly log: ClientPeerOptions['log'];
  private readonly states: PeerStates;
  private readonly unsubscribers: Array<() => void> = [];
  private closed = false;
  private remoteSctp: ReturnType<typeof watchRemoteSctpParameters> | undefined;

  constructor(private readonly options: ClientPeerOptions) {
    this.log = options.log.child({ engine: 'werift', role: 'client' });
    this.states = new PeerStates((err) => this.log.error({ err }, 'state listener threw'));
    this.pc = new RTCPeerConnection({
      ...peerConfig(options.network, { ipv6: false }),
      codecs: CLIENT_CODECS,
      headerExtensions: { audio: [useSdesMid()], video: [useSdesMid()] },
      // One transport for everything: with werift's default max-compat it gathers a socket pair
      // per m-section and never closes the ones bundling leaves unused.
      bundlePolicy: 'max-bundle',
    });
    this.unsubscribers.push(...followStates(this.pc, this.states, () => this.close()));
    const kinds: MediaKind[] = [...(options.audio ? ['audio' as const] : []), ...(options.video ? ['video' as const] : [])];
    for (const kind of kinds) this.legs.push(new WeriftRtpLeg(kind, this.pc.addTransceiver(kind, { direction: options.direction ?? 'sendrecv' })));
    this.media = { mode: 'rtp', legs: this.legs };
    this.dataChannel = options.dataChannel === undefined ? undefined : this.openDataChannel(options.dataChannel);
  }

  async createOffer(): Promise<SessionDescription> {
    const offer = await this.pc.createOffer();
    withoutDefaultStun(this.pc, this.options.network);
    await this.pc.setLocalDescription(offer);
    const handed = (records: number) => this.log.debug({ records }, 'DTLS records that came before the DTLS transport started were handed to it');
    for (const transport of this.pc.dtlsTransports) this.unsubscribers.push(keepEarlyDtls(transport, handed));
    await waitForGathering(gatheringComplete(this.pc), this.options.gatherTimeoutMs, this.log, 'offer');
    if (this.closed) throw new Error('the client peer was closed while gathering candidates');
    return { type: 'offer', sdp: this.pc.localDescription?.sdp ?? '' };
  }

  localCandidates() {
    return localCandidatesOf(this.pc.localDescription?.sdp);
  }

  async acceptAnswer(answer: SessionDescription): Promise<void> {
    followDtlsRoleForStreamIds(this.pc);
    await this.pc.setRemoteDescription(answer);
    this.remoteSctp = watchRemoteSctpParameters(this.pc);
    const transports = new Set<RTCDtlsTransport>(this.pc.getTransceivers().map((t) => t.dtlsTransport));
    for (const transport of transports) {
      this.unsubscribers.push(transport.onRtp.subscribe((rtp) => this.deliverRtp(rtp)).unSubscribe);
      this.unsubscribers.push(transport.onRtcp.subscribe((rtcp) => this.deliverRtcp(rtcp)).unSubscribe);
    }
  }

  openDataChannel(label: string): ClientDataChannel {
    return new WeriftClientDataChannel(this.pc.createDataChannel(label));
  }

  onStateChange(listener: (state: PeerState) => void): void {
    this.states.connection.listen(listener);
  }

  onIceStateChange(listener: (state: IceState) => void): void {
    this.states.ice.listen(listener);
  }

  async selectedPair(): Promise<CandidatePair | undefined> {
    return this.closed ? undefined : selectedPairOf(this.pc);
  }

  async transportFacts(): Promise<TransportFacts> {
    const transport = this.pc.dtlsTransports[0];
    const role = transport?.role;
    const profile = (transport?.dtls as { srtp?: { srtpProfile?: number } } | undefined)?.srtp?.srtpProfile;
    const sctp = this.pc.sctpTransport as unknown as { remoteMaxMessageSize?: number } | undefined;
    const zeroChecksum = this.remoteSctp?.zeroChecksum();
    return {
      dtlsRole: role === 'client' || role === 'server' ? known(role) : unknown(`werift's DTLS transport says ${role ?? 'nothing'}`),
      srtpProfile:
        this.legs.length === 0 ? unknown('no media, no SRTP') : profile === undefined ? unknown('no SRTP profile chosen (yet)') : known(SRTP_PROFILE_NAMES[profile] ?? `profile ${profile}`),
      sctpZeroChecksum: !sctp ? unknown('no data channel') : zeroChecksum === undefined ? unknown('no INIT/INIT-ACK seen') : known(zeroChecksum),
      sctpMaxMessageSize: sctp?.remoteMaxMessageSize === undefined ? unknown('no data channel') : known(sctp.remoteMaxMessageSize),
    };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    const log = (err: unknown) => this.log.debug({ err }, 'error while closing');
    closeQuietly(this.unsubscribers.splice(0), log);
    const transport = this.pc.dtlsTransports[0];
    // Tell the server first (see sendDtlsCloseNotify); the sockets close right after.
    void sendDtlsCloseNotify(transport).finally(() => closeQuietly([() => this.pc.close()], log));
    this.states.close();
  }

  /**
   * Echoed packets are matched to a leg by payload type: we offer exactly one codec per kind
   * on distinct payload types, so this works whether or not the answer declares its SSRCs.
   */
  private deliverRtp(rtp: RtpPacket): void {
    this.legs.find((leg) => leg.payloadType === rtp.header.payloadType)?.deliverRtp(rtp);
  }

  /** Feedback goes to the leg whose SSRC it is about; reports and BYEs go to every leg. */
  private deliverRtcp(rtcp: RtcpPacket): void {
    const bytes = rtcp.serialize();
    const about = rtcpFeedbackMediaSsrc(bytes);
    for (const leg of this.legs) if (about === undefined || about === leg.ssrc) leg.deliverRtcp(bytes);
  }
}

class WeriftRtpLeg implements RtpLeg {
  readonly payloadType: number;
  private readonly rtpListeners: Array<(packet: Buffer) => void> = [];
  private readonly rtcpListeners: Array<(packet: Buffer) => void> = [];

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

  sendRtcp(packet: Buffer): void {
    const transport = this.transceiver.dtlsTransport;
    if (transport?.state !== 'connected') return;
    transport.sendRtcp(RtcpPacketConverter.deSerialize(packet)).catch(() => undefined);
  }

  onRtp(listener: (packet: Buffer) => void): void {
    this.rtpListeners.push(listener);
  }

  onRtcp(listener: (packet: Buffer) => void): void {
    this.rtcpListeners.push(listener);
  }

  /** werift hands out parsed packets only, so the bytes are serialized again. */
  deliverRtp(rtp: RtpPacket): void {
    if (this.rtpListeners.length === 0) return;
    const bytes = rtp.serialize();
    for (const listener of this.rtpListeners) listener(bytes);
  }

  deliverRtcp(bytes: Buffer): void {
    for (const listener of this.rtcpListeners) listener(bytes);
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
    sendMessage(this.channel, data);
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
