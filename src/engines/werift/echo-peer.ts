/**
 * The werift server side: answers one offer and echoes RTP, keyframe requests and data
 * channel messages back to the client.
 */
import { randomUUID } from 'node:crypto';
import {
  PictureLossIndication,
  RTCPeerConnection,
  RTCRtpCodecParameters,
  RtcpPacketConverter,
  RtcpPayloadSpecificFeedback,
  RtcpTransportLayerFeedback,
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
import sdpTransform from 'sdp-transform';
import type { CandidatePair, EchoCounters, EchoPeer, EchoPeerOptions, IceState, PeerState, Publication, ViewerLink } from '../engine.js';
import type { RtpFanOut } from '../kit/fan-out.js';
import type { PlaybackPlan } from '../../sdp/playback.js';
import { attachViewer, preparePlayback, publishFanOut, withPadding } from './playback.js';
import type { SessionDescription } from '../../sdp/description.js';
import type { SdpCandidate } from '../../sdp/candidates.js';
import { closeQuietly, safely } from '../kit/close.js';
import { waitForGathering } from '../kit/gathering.js';
import { messageBytes } from '../kit/messages.js';
import { PeerStates } from '../kit/state-reporter.js';
import { keyframeRequestTargets, relayedNack } from '../../rtp/rtcp.js';
import { missingTransport } from '../../sdp/offer.js';
import type { ParsedOffer } from '../../sdp/parsed-offer.js';
import { OfferRefused, stackTakes } from '../kit/refusal.js';
import { gatheringComplete, peerConfig, selectedPairOf, withoutDefaultStun } from './config.js';
import { sendMessage } from './messages.js';
import { withPeerReflexiveWait } from './peer-reflexive.js';
import { followStates } from './states.js';

/**
 * The feedback the echo answers (relayKeyframeRequest, relayNack): without it in the answer a
 * client is not to send NACK or PLI at all (RFC 4585 §4.2).
 */
const VIDEO_FEEDBACK = [useNACK(), usePLI(), useFIR()];
/**
 * Codecs the echo accepts. werift answers with the offer's own payload types for every offered
 * codec whose MIME type is listed here, so the echo never has to translate payload types.
 * RTX is left out on purpose: the echo bypasses werift's sender, which would answer NACKs.
 */
const ECHO_CODECS = {
  audio: [
    codec('audio/opus', 48000, 2),
    codec('audio/PCMU', 8000, 1),
    codec('audio/PCMA', 8000, 1),
    codec('audio/G722', 8000, 1),
  ],
  video: [
    codec('video/VP8', 90000, undefined, VIDEO_FEEDBACK),
    codec('video/VP9', 90000, undefined, VIDEO_FEEDBACK),
    codec('video/H264', 90000, undefined, VIDEO_FEEDBACK),
    codec('video/AV1', 90000, undefined, VIDEO_FEEDBACK),
    codec('video/H265', 90000, undefined, VIDEO_FEEDBACK),
  ],
};

function codec(mimeType: string, clockRate: number, channels?: number, rtcpFeedback?: RTCRtpCodecParameters['rtcpFeedback']): RTCRtpCodecParameters {
  return new RTCRtpCodecParameters({ mimeType, clockRate, channels, rtcpFeedback });
}

export function createWeriftEchoPeer(offer: ParsedOffer, options: EchoPeerOptions): Promise<EchoPeer> {
  return negotiate(offer, options, undefined);
}

/** A WHEP viewer: the viewer's offer answered sendonly where the plan plays, fed by `publication`. */
export function createWeriftViewerPeer(offer: ParsedOffer, publication: Publication, plan: PlaybackPlan, options: EchoPeerOptions): Promise<EchoPeer> {
  return negotiate(offer, options, { publication, plan });
}

async function negotiate(offer: ParsedOffer, options: EchoPeerOptions, playback: { publication: Publication; plan: PlaybackPlan } | undefined): Promise<EchoPeer> {
  // werift applies any SDP, even one without ICE credentials or a fingerprint, and would then
  // wait for a connection that cannot come; the other stacks refuse such an offer, so we do.
  // The server's checks already did; this reads the same parse, for callers of the engine alone.
  const { parsed } = offer;
  for (const section of parsed.media.filter((m) => m.port !== 0)) {
    const missing = missingTransport(parsed, section);
    if (missing) throw new OfferRefused(`werift would wait forever: ${missing}`);
  }
  const pc = new RTCPeerConnection({
    ...peerConfig(options.network, { ipv6: true }),
    codecs: ECHO_CODECS,
    // The mid extension lets the client tell echoed streams apart without our SSRCs.
    headerExtensions: { audio: [useSdesMid()], video: [useSdesMid()] },
  });
  const peer = new WeriftEchoPeer(pc, options);
  try {
    const sdp = withPeerReflexiveWait(offer);
    await stackTakes(() => pc.setRemoteDescription({ type: 'offer', sdp }));
    if (playback) preparePlayback(peer.mediaTransceivers(), playback.plan);
    else peer.prepareEcho();
    const answer = await stackTakes(() => pc.createAnswer());
    withoutDefaultStun(pc, options.network);
    await stackTakes(() => pc.setLocalDescription(answer));
    await waitForGathering(gatheringComplete(pc), options.gatherTimeoutMs, peer.log, 'answer');
    peer.start(options.publish === true, playback);
    return peer;
  } catch (error) {
    peer.close();
    throw error;
  }
}

class WeriftEchoPeer implements EchoPeer {
  readonly counters: EchoCounters = { rtpPackets: 0, rtpBytes: 0, keyframeRequests: 0, messages: 0, messageBytes: 0 };
  readonly log: EchoPeerOptions['log'];
  private readonly admitDataChannel: EchoPeerOptions['admitDataChannel'];
  private readonly states: PeerStates;
  private readonly unsubscribers: Array<() => void> = [];
  /** The stream id our echo tracks announce in `a=msid`. */
  private readonly streamId = randomUUID();
  /** Per echoing transceiver, the SSRC the client last sent on it (the PLI target). */
  private readonly clientSsrcs = new Map<RTCRtpTransceiver, number>();
  private readonly openChannels = new Set<RTCDataChannel>();
  private closed = false;
  private answerSdp = '';
  /** A publishing peer's viewers (WHIP). */
  private fanOut: RtpFanOut | undefined;
  /** A viewer peer's tie to its publisher (WHEP), and its goodbye to the viewer. */
  private viewerLink: ViewerLink | undefined;
  private sayBye: (() => void) | undefined;

  constructor(
    private readonly pc: RTCPeerConnection,
    options: EchoPeerOptions,
  ) {
    this.log = options.log.child({ engine: 'werift', role: 'echo' });
    this.admitDataChannel = options.admitDataChannel;
    this.states = new PeerStates((err) => this.log.error({ err }, 'state listener threw'));
    this.unsubscribers.push(...followStates(pc, this.states, () => this.close()));
    this.unsubscribers.push(pc.onDataChannel.subscribe((channel) => this.echoChannel(channel)).unSubscribe);
  }

  get answer(): SessionDescription {
    return { type: 'answer', sdp: this.answerSdp };
  }

  get publication(): Publication | undefined {
    return this.fanOut;
  }

  onStateChange(listener: (state: PeerState) => void): void {
    this.states.connection.listen(listener);
  }

  onIceStateChange(listener: (state: IceState) => void): void {
    this.states.ice.listen(listener);
  }

  /** After the offer is applied: turn every media section sendrecv and hook the echo up. */
  prepareEcho(): void {
    for (const transceiver of this.mediaTransceivers()) {
      transceiver.setDirection('sendrecv');
      transceiver.sender.streamId = this.streamId;
      for (const track of transceiver.receiver.tracks) this.echoTrack(transceiver, track);
      this.unsubscribers.push(transceiver.onTrack.subscribe((track) => this.echoTrack(transceiver, track)).unSubscribe);
    }
  }

  /** After the answer is complete: listen for RTCP, keep the final SDP, and publish or play where asked. */
  start(publish: boolean, playback: { publication: Publication; plan: PlaybackPlan } | undefined): void {
    const transports = new Set<RTCDtlsTransport>();
    for (const transceiver of this.mediaTransceivers()) transports.add(transceiver.dtlsTransport);
    for (const transport of transports) {
      this.unsubscribers.push(transport.onRtcp.subscribe((packet) => this.relayKeyframeRequest(packet)).unSubscribe);
      this.unsubscribers.push(transport.onRtcp.subscribe((packet) => this.relayNack(packet)).unSubscribe);
    }
    // The data channel's transport too: a data-channel-only client says goodbye there.
    if (this.pc.sctpTransport) transports.add(this.pc.sctpTransport.dtlsTransport);
    for (const transport of transports) {
      // A close_notify from the client ends the session now rather than after ICE consent expiry.
      this.unsubscribers.push(
        transport.onStateChange.subscribe((state) => {
          if (state === 'closed') this.close();
        }).unSubscribe,
      );
    }
    this.answerSdp = announceEchoStreams(this.pc.localDescription?.sdp ?? '', this.mediaTransceivers(), this.streamId);
    if (publish) this.fanOut = publishFanOut(sdpTransform.parse(this.answerSdp), () => this.mediaTransceivers(), this.clientSsrcs, this.log);
    if (playback) {
      const { link, unsubscribers, sayBye } = attachViewer(this.mediaTransceivers(), playback.plan, playback.publication, { counters: this.counters, closed: () => this.closed });
      this.viewerLink = link;
      this.sayBye = sayBye;
      this.unsubscribers.push(...unsubscribers);
    }
  }

  /**
   * werift counts, per ICE candidate pair, the STUN checks it received, the answers to its own
   * consent checks (RFC 7675, every 4-6 s), and every other datagram on the nominated pair
   * (DTLS, SRTP, SCTP): werift/lib/ice/src/ice.js, checkIncoming, queryConsent, onDataReceived.
   */
  inboundActivity(): number {
    let total = 0;
    for (const transport of this.pc.iceTransports) {
      for (const pair of transport.connection.candidatePairs) {
        total += pair.requestsReceived + pair.responsesReceived + pair.packetsReceived;
      }
    }
    return total;
  }

  /** werift's own consent checks make a live client answer: inboundActivity sees them. */
  probeLiveness(): void {}

  /** A trickled candidate (WHIP/WHEP PATCH); werift adds it asynchronously, a refusal is only logged. */
  addRemoteCandidate({ candidate, mid }: SdpCandidate): void {
    if (this.closed) return;
    this.pc.addIceCandidate({ candidate, sdpMid: mid }).catch((err: unknown) => this.log.debug({ err, candidate }, 'trickled candidate not added'));
  }

  async selectedPair(): Promise<CandidatePair | undefined> {
    return this.closed ? undefined : selectedPairOf(this.pc);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    const log = (err: unknown) => this.log.debug({ err }, 'error while closing');
    this.fanOut?.close();
    this.viewerLink?.remove();
    closeQuietly(this.unsubscribers.splice(0), log);
    if (this.sayBye) {
      // A viewer's BYEs leave through a UDP send that completes after this turn: close after them.
      this.sayBye();
      setImmediate(() => closeQuietly([() => this.pc.close()], log));
    } else {
      closeQuietly([() => this.pc.close()], log);
    }
    this.states.close();
  }

  mediaTransceivers(): RTCRtpTransceiver[] {
    return this.pc.getTransceivers().filter((t) => t.kind === 'audio' || t.kind === 'video');
  }

  /**
   * Sends each packet back through the transport rather than `sender.sendRtp()`, which would
   * overwrite the payload type with the first negotiated codec and add its own header
   * extensions. Only the SSRC changes, to the one the answer announced.
   */
  private echoTrack(transceiver: RTCRtpTransceiver, track: { onReceiveRtp: { subscribe: Function } }): void {
    const subscription = track.onReceiveRtp.subscribe((rtp: RtpPacket) => {
      const transport = transceiver.sender.dtlsTransport;
      if (this.closed || transport?.state !== 'connected') return;
      this.clientSsrcs.set(transceiver, rtp.header.ssrc);
      // To the viewers first, as it came (serialized only when someone watches).
      if (this.fanOut?.viewers && transceiver.mid !== null) this.fanOut.forward(transceiver.mid, rtp.serialize());
      // A sendonly offer (a WHIP publisher) was answered recvonly: nothing goes back.
      if (transceiver.currentDirection === 'recvonly' || transceiver.currentDirection === 'inactive') return;
      rtp.header.ssrc = transceiver.sender.ssrc;
      const payload = rtp.header.padding ? withPadding(rtp.payload, rtp.header.paddingSize) : rtp.payload;
      this.counters.rtpPackets++;
      this.counters.rtpBytes += rtp.header.serializeSize + payload.length;
      transport.sendRtp(payload, rtp.header).catch(() => undefined);
    }) as { unSubscribe: () => void };
    this.unsubscribers.push(subscription.unSubscribe);
  }

  /** PLI/FIR about an echo stream becomes a PLI about the client's stream on the same section. */
  private relayKeyframeRequest(packet: RtcpPacket): void {
    if (this.closed || packet.type !== RtcpPayloadSpecificFeedback.type) return;
    let targets: number[];
    try {
      targets = keyframeRequestTargets(packet.serialize());
    } catch {
      return; // a feedback type werift could not parse (it leaves `feedback` undefined)
    }
    for (const target of targets) {
      const transceiver = this.mediaTransceivers().find((t) => t.sender.ssrc === target);
      const clientSsrc = transceiver && this.clientSsrcs.get(transceiver);
      if (!transceiver || clientSsrc === undefined) continue;
      this.counters.keyframeRequests++;
      const pli = new RtcpPayloadSpecificFeedback({
        feedback: new PictureLossIndication({ senderSsrc: transceiver.sender.ssrc, mediaSsrc: clientSsrc }),
      });
      transceiver.dtlsTransport.sendRtcp([pli]).catch((err: unknown) => this.log.debug({ err }, 'PLI relay failed'));
    }
  }

  /**
   * A generic NACK about an echo stream asks for a packet the echo never got (it keeps none):
   * it goes to the client's sender as a NACK about its own SSRC, same sequence numbers (the
   * echo keeps them). werift's own sender sees the NACK too but has nothing cached to resend:
   * the echo bypasses it.
   */
  private relayNack(packet: RtcpPacket): void {
    if (this.closed || packet.type !== RtcpTransportLayerFeedback.type) return;
    let bytes: Buffer;
    try {
      bytes = packet.serialize();
    } catch {
      return; // a feedback type werift could not parse
    }
    for (const transceiver of this.mediaTransceivers()) {
      const clientSsrc = this.clientSsrcs.get(transceiver);
      const nack = clientSsrc === undefined ? undefined : relayedNack(bytes, transceiver.sender.ssrc, clientSsrc);
      if (!nack) continue;
      transceiver.dtlsTransport.sendRtcp(RtcpPacketConverter.deSerialize(nack)).catch((err: unknown) => this.log.debug({ err }, 'NACK relay failed'));
    }
  }

  private echoChannel(channel: RTCDataChannel): void {
    if (this.admitDataChannel?.(channel.label) === false) {
      safely(() => channel.close(), (err) => this.log.debug({ err }, 'channel not closed'));
      return;
    }
    this.openChannels.add(channel);
    this.unsubscribers.push(
      channel.stateChanged.subscribe((state) => {
        if (state !== 'closed') return;
        this.openChannels.delete(channel);
        // A data-channel-only client that closed every channel it opened is done with us
        // (libdatachannel resets the streams but sends no DTLS close_notify).
        if (this.openChannels.size === 0 && this.mediaTransceivers().length === 0) this.close();
      }).unSubscribe,
    );
    this.unsubscribers.push(
      channel.onMessage.subscribe((data) => {
        if (this.closed) return;
        this.counters.messages++;
        this.counters.messageBytes += messageBytes(data);
        safely(() => sendMessage(channel, data), (err) => this.log.debug({ err, label: channel.label }, 'echo message dropped'));
      }).unSubscribe,
    );
  }
}


/**
 * werift writes `a=ssrc:N cname:…` for each sender but no `msid` on it; add
 * `a=ssrc:N msid:<stream> <track>` so stacks that key streams on SSRC attributes (pion, older
 * libwebrtc) accept the echo. RFC 5576 §6.1, draft-ietf-mmusic-msid.
 */
function announceEchoStreams(sdp: string, transceivers: RTCRtpTransceiver[], streamId: string): string {
  let result = sdp;
  for (const { sender } of transceivers) {
    const cnameLine = new RegExp(`^a=ssrc:${sender.ssrc} cname:.*$`, 'm');
    if (new RegExp(`^a=ssrc:${sender.ssrc} msid:`, 'm').test(result)) continue;
    result = result.replace(cnameLine, (line) => `${line}\r\na=ssrc:${sender.ssrc} msid:${streamId} ${sender.trackId}`);
  }
  return result;
}
