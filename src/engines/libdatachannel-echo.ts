/**
 * The libdatachannel echo peer: answers an offer (non-trickle) and sends every RTP packet and
 * data channel message straight back, at packet level, without decoding anything.
 */
import { PeerConnection, type DataChannel, type Track } from 'node-datachannel';
import type { EchoCounters, EchoPeer, EchoPeerOptions, IceState, PeerState, SessionDescription } from './engine.js';
import { buildMedia } from './libdatachannel-media.js';
import { planEchoSections, type EchoSectionPlan } from './libdatachannel-echo-plan.js';
import {
  RtcpRepeatFilter, StateReporter, peerClosed, teardown, peerOpened, deferred, toIceState, toMessage, toPeerState, waitForGathering,
} from './libdatachannel-shared.js';
import { isRtcp, isRtp, randomSsrc, rtpPayloadType, rtpSsrc, setRtpSsrc } from '../rtp/packet.js';
import { buildPli, byeSources, keyframeRequestTargets } from '../rtp/rtcp.js';
import { splitCandidates } from '../sdp/candidates.js';

export async function createLibdatachannelEchoPeer(
  offer: SessionDescription,
  options: EchoPeerOptions,
): Promise<EchoPeer> {
  if (offer.type !== 'offer') throw new Error(`expected an offer, got a description of type "${offer.type}"`);
  const plans = planEchoSections(offer.sdp);
  const peer = new LibdatachannelEchoPeer(options);
  try {
    return await peer.negotiate(offer.sdp, plans, options.gatherTimeoutMs);
  } catch (err) {
    peer.close();
    throw err instanceof Error ? err : new Error(String(err));
  }
}

class LibdatachannelEchoPeer implements EchoPeer {
  readonly counters: EchoCounters = { rtpPackets: 0, rtpBytes: 0, keyframeRequests: 0, messages: 0, messageBytes: 0 };
  #answer: SessionDescription | undefined;
  readonly #log: EchoPeerOptions['log'];
  readonly #pc: PeerConnection;
  readonly #tracks: Track[] = [];
  readonly #channels = new Set<DataChannel>();
  /** Media sections whose client source sent an RTCP BYE. */
  readonly #leftMids = new Set<string>();
  readonly #states: StateReporter<PeerState>;
  readonly #iceStates: StateReporter<IceState>;
  readonly #gathered = deferred();
  #closed = false;

  constructor(options: EchoPeerOptions) {
    this.#log = options.log.child({ engine: 'libdatachannel', role: 'echo' });
    const logListenerError = (err: unknown) => this.#log.error({ err }, 'state listener threw');
    this.#states = new StateReporter<PeerState>(logListenerError);
    this.#iceStates = new StateReporter<IceState>(logListenerError);
    // No ICE servers: host candidates only, as the echo test runs without STUN.
    this.#pc = new PeerConnection('echo', { iceServers: [] });
    peerOpened();
    this.#pc.onGatheringStateChange((state) => {
      if (state === 'complete') this.#gathered.resolve();
    });
    this.#pc.onStateChange((native) => {
      const state = toPeerState(native);
      if (state === undefined) return;
      // libdatachannel closes its transports itself after disconnected/failed, then says closed;
      // our close() frees the JS side and reports `closed` exactly once.
      if (state === 'closed') this.close();
      else this.#states.report(state);
    });
    this.#pc.onIceStateChange((native) => {
      const state = toIceState(native);
      if (state !== undefined) this.#iceStates.report(state);
    });
    this.#pc.onDataChannel((channel) => this.#echoChannel(channel));
  }

  get answer(): SessionDescription {
    if (!this.#answer) throw new Error('the echo peer has no answer yet');
    return this.#answer;
  }

  async negotiate(offerSdp: string, plans: EchoSectionPlan[], gatherTimeoutMs: number): Promise<EchoPeer> {
    for (const plan of plans) this.#addEchoTrack(plan);
    // With auto-negotiation on (the default), applying the offer also creates the answer.
    const weCheckFirst = checksFirst(offerSdp);
    const offer = weCheckFirst ? offerSdp : splitCandidates(offerSdp).sdp;
    this.#pc.setRemoteDescription(chooseDtlsRole(offer, weCheckFirst), 'offer');
    const gathering = await waitForGathering(this.#pc, this.#gathered.promise, gatherTimeoutMs);
    if (this.#closed) throw new Error('the echo peer was closed while gathering candidates');
    if (gathering === 'timeout') this.#log.warn({ gatherTimeoutMs }, 'ICE gathering timed out, answering with the candidates so far');
    const local = this.#pc.localDescription();
    if (!local || local.type !== 'answer') throw new Error('libdatachannel produced no answer');
    this.#answer = { type: 'answer', sdp: local.sdp };
    return this;
  }

  onStateChange(listener: (state: PeerState) => void): void {
    this.#states.listen(listener);
  }

  onIceStateChange(listener: (state: IceState) => void): void {
    this.#iceStates.listen(listener);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const channels = [...this.#channels];
    this.#channels.clear();
    teardown({
      pc: this.#pc,
      channels,
      tracks: this.#tracks.splice(0),
      gathered: this.#gathered,
      states: this.#states,
      iceStates: this.#iceStates,
      log: (err: unknown) => this.#log.debug({ err }, 'error while closing'),
    });
    peerClosed((err) => this.#log.warn({ err }, 'node-datachannel cleanup failed'));
  }

  /**
   * One sendrecv track per offered media section, announcing the SSRC the echo goes out with.
   * Every RTP packet goes back on the same mid with only its SSRC rewritten.
   */
  #addEchoTrack(plan: EchoSectionPlan): void {
    const echoSsrc = randomSsrc();
    const ssrc = { ssrc: echoSsrc, cname: 'echo', streamId: 'echo', trackId: `echo-${plan.kind}-${plan.mid}` };
    const track = this.#pc.addTrack(buildMedia({ ...plan, ssrc }));
    this.#tracks.push(track);

    const payloadTypes = new Set(plan.payloadTypes);
    // The client's own SSRC on this mid, learned from its RTP: keyframe requests go there.
    let clientSsrc: number | undefined;
    const repeats = new RtcpRepeatFilter();

    track.onMessage((packet) => {
      if (isRtcp(packet)) {
        if (repeats.isRepeat(packet)) return;
        this.#relayKeyframeRequests(track, packet, echoSsrc, clientSsrc);
        // Any BYE on this section but for our own echo source is the client's source leaving.
        if (byeSources(packet).some((source) => source !== echoSsrc)) this.#sourceLeft(plan.mid);
        return;
      }
      repeats.reset();
      if (!isRtp(packet) || !payloadTypes.has(rtpPayloadType(packet))) return;
      clientSsrc = rtpSsrc(packet);
      setRtpSsrc(packet, echoSsrc);
      try {
        if (!track.sendMessageBinary(packet)) return;
      } catch (err) {
        // Not open yet, or an SRTP replay (the client resent a sequence number): drop it, as UDP would.
        this.#log.trace({ err, mid: plan.mid }, 'echo packet dropped');
        return;
      }
      this.counters.rtpPackets++;
      this.counters.rtpBytes += packet.length;
    });
    track.onError((err) => this.#log.debug({ err, mid: plan.mid }, 'track error'));
    // node-datachannel frees a track's native callbacks only when its closed event reaches JS.
    track.onClosed(() => {});
  }

  /**
   * A client's RTCP BYE on every media section, with no data channel left, means it has gone
   * (some stacks send no DTLS close_notify for media-only connections): release the peer now
   * instead of waiting ~30 s for ICE to fail.
   */
  #sourceLeft(mid: string): void {
    this.#leftMids.add(mid);
    if (this.#leftMids.size === this.#tracks.length && this.#channels.size === 0) {
      this.#log.debug('every client source said BYE, closing');
      this.close();
    }
  }

  #relayKeyframeRequests(track: Track, rtcp: Buffer, echoSsrc: number, clientSsrc: number | undefined): void {
    if (clientSsrc === undefined) return;
    if (!keyframeRequestTargets(rtcp).includes(echoSsrc)) return;
    try {
      // Without a media handler, requestKeyframe() does nothing, so we write the PLI ourselves.
      if (track.sendMessageBinary(buildPli(echoSsrc, clientSsrc))) this.counters.keyframeRequests++;
    } catch (err) {
      this.#log.debug({ err }, 'keyframe request not relayed');
    }
  }

  /** Every channel the client opens, whenever, echoes text as text and binary as binary. */
  #echoChannel(channel: DataChannel): void {
    if (this.#closed) {
      channel.onClosed(() => {}); // see the note on onClosed below
      channel.close();
      return;
    }
    this.#channels.add(channel);
    channel.onMessage((raw) => {
      const message = toMessage(raw);
      try {
        // false only means "buffered", not "dropped".
        if (typeof message === 'string') channel.sendMessage(message);
        else channel.sendMessageBinary(message);
      } catch (err) {
        this.#log.debug({ err, label: channel.getLabel() }, 'echo message dropped');
        return;
      }
      this.counters.messages++;
      this.counters.messageBytes += typeof message === 'string' ? Buffer.byteLength(message) : message.length;
    });
    // node-datachannel frees a channel's native callbacks only when its closed event reaches JS.
    channel.onClosed(() => this.#channels.delete(channel));
    channel.onError((err) => this.#log.debug({ err, label: channel.getLabel() }, 'data channel error'));
  }
}

/**
 * Whether libjuice may check the offer's candidates itself. Given them, it checks them the moment
 * it has the offer, before the client can have our answer; that is fast for most stacks (our ICE
 * is up before theirs), but not for two:
 *
 * - libdatachannel clients (origin `o=rtc`): libjuice answers our early check (RFC 8445 §7.3) and
 *   keeps the pair; applying our answer then connects ICE and DTLS inside setRemoteDescription,
 *   before libdatachannel has stored the answer's fingerprint, and the handshake fails (about a
 *   quarter of sessions here; libdatachannel PR #1612).
 * - pion clients (16-letter ufrag, 32-letter password): pion reads our early check only when it
 *   starts, before its own checks succeed, and after that we send it nothing, so it nominates on
 *   its next 200 ms tick. Learning pion from its checks, our check back (libjuice sends it 50 ms
 *   later) makes it nominate then: ~55 ms instead of ~205 ms.
 *
 * For those we give libdatachannel the offer without its candidates and learn the client's
 * address from its own checks (peer-reflexive, RFC 8445 §7.3.1.3). A lite client never checks,
 * so it always keeps its candidates.
 */
function checksFirst(offerSdp: string): boolean {
  if (/^a=ice-lite\b/m.test(offerSdp)) return true;
  const fromLibdatachannel = /^o=rtc /m.test(offerSdp);
  const fromPion = /^a=ice-ufrag:[A-Za-z]{16}\r?$/m.test(offerSdp) && /^a=ice-pwd:[A-Za-z]{32}\r?$/m.test(offerSdp);
  return !fromLibdatachannel && !fromPion;
}

/**
 * The DTLS role, as the offer's `a=setup` libdatachannel answers: offered `actpass`, it answers
 * `active` and sends the first ClientHello the moment its ICE connects; offered `active`, it
 * answers `passive` (the answerer's choice, RFC 5763 §5) and waits for the client's hello.
 *
 * When we check first, our ICE connects before the client's, often before the client has our
 * answer, and a hello we sent then is lost and resent after a 1 s timer (13-15 of 25 sessions in
 * a bench): we answer `passive`, the client's hello starts the handshake when it is ready (~5 ms).
 * Not with a data channel, though: aiortc (and werift, which copied it) choose SCTP stream ids by
 * ICE role instead of DTLS role (RFC 8832 §6), which is right only while the offerer is the DTLS
 * server, so answering `passive` breaks their data channels. Browsers buffer an early hello.
 *
 * When we do not check first, our ICE connects last (our first check goes out 50 ms after the
 * client's), so a hello from the client would arrive before we can take it (libdatachannel 0.24.5
 * buffers it but often handles it only with the resend, 1 s later: 6 of 20 sessions measured):
 * we answer `active` and send the hello to a client that is ready.
 */
function chooseDtlsRole(offerSdp: string, weCheckFirst: boolean): string {
  if (!weCheckFirst || /^m=application /m.test(offerSdp)) return offerSdp;
  return offerSdp.replace(/^a=setup:actpass(?=\r?$)/gm, 'a=setup:active');
}
