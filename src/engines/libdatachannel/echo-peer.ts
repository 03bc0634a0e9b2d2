/**
 * The libdatachannel echo peer: answers an offer (non-trickle) and sends every RTP packet and
 * data channel message straight back, at packet level, without decoding anything. A publishing
 * peer (WHIP) also hands each packet to its viewers (kit/fan-out.ts); a viewer peer (WHEP) is
 * the same peer with playback sections instead of echo sections (playback-track.ts).
 */
import { PeerConnection, type DataChannel, type Track } from 'node-datachannel';
import sdpTransform from 'sdp-transform';
import type { CandidatePair, EchoCounters, EchoPeer, EchoPeerOptions, IceState, PeerState, Publication, ViewerLink } from '../engine.js';
import type { SessionDescription } from '../../sdp/description.js';
import type { SdpCandidate } from '../../sdp/candidates.js';
import type { ParsedOffer, ParsedSdp } from '../../sdp/parsed-offer.js';
import { publishedTracks, type PlaybackPlan } from '../../sdp/playback.js';
import { RtpFanOut } from '../kit/fan-out.js';
import { deferred, waitForGathering } from '../kit/gathering.js';
import { HeldCandidates } from '../kit/held-candidates.js';
import { messageBytes, toMessage } from '../kit/messages.js';
import { OfferRefused, stackTakes } from '../kit/refusal.js';
import { PeerStates } from '../kit/state-reporter.js';
import { isRtcp, isRtp, randomSsrc, rtpPayloadType, rtpSsrc, setRtpSsrc } from '../../rtp/packet.js';
import { buildNack, buildPli, byeSources, keyframeRequestTargets, relayedNack } from '../../rtp/rtcp.js';
import { planEchoSections, type EchoSectionPlan } from './echo-plan.js';
import { answerPolicy } from './answer-policy.js';
import { rtcConfig, selectedPairOf } from './config.js';
import { followNative, peerOpened, teardown } from './lifecycle.js';
import { LivenessProbe, iceCredentials } from './liveness.js';
import { buildMedia } from './media-description.js';
import { RtcpRepeatFilter } from './rtcp-repeat-filter.js';
import { echoBacklog } from './backlog.js';
import { addPlaybackTracks } from './playback-track.js';
import { planViewerSections } from './playback-plan.js';

/** Probes right after connecting, this far apart, until one is answered. */
const CALIBRATION_PROBES = 5;
const CALIBRATION_INTERVAL_MS = 500;

export async function createLibdatachannelEchoPeer(offer: ParsedOffer, options: EchoPeerOptions): Promise<EchoPeer> {
  const peer = new LibdatachannelEchoPeer(options);
  try {
    for (const plan of planEchoSections(offer.parsed)) peer.addEchoTrack(plan);
    return await peer.negotiate(offer, options.gatherTimeoutMs, options.publish === true);
  } catch (err) {
    peer.close();
    throw err instanceof Error ? err : new Error(String(err));
  }
}

/** A WHEP viewer: the viewer's offer answered with playback sections fed by `publication`. */
export async function createLibdatachannelViewerPeer(offer: ParsedOffer, publication: Publication, plan: PlaybackPlan, options: EchoPeerOptions): Promise<EchoPeer> {
  const peer = new LibdatachannelEchoPeer(options);
  try {
    peer.addPlayback(planViewerSections(offer.parsed, plan), publication);
    return await peer.negotiate(offer, options.gatherTimeoutMs, false);
  } catch (err) {
    peer.close();
    throw err instanceof Error ? err : new Error(String(err));
  }
}

/** One echo section's state, by mid: what a viewer's keyframe request or NACK goes through. */
interface EchoSection {
  track: Track;
  echoSsrc: number;
  /** The client's own SSRC on this mid, learned from its RTP. */
  clientSsrc?: number;
}

class LibdatachannelEchoPeer implements EchoPeer {
  readonly counters: EchoCounters = { rtpPackets: 0, rtpBytes: 0, keyframeRequests: 0, messages: 0, messageBytes: 0, rtpDropped: 0 };
  #answer: SessionDescription | undefined;
  readonly #log: EchoPeerOptions['log'];
  readonly #pc: PeerConnection;
  readonly #tracks: Track[] = [];
  readonly #channels = new Set<DataChannel>();
  /** Media sections whose client source sent an RTCP BYE. */
  readonly #leftMids = new Set<string>();
  readonly #states: PeerStates;
  readonly #gathered = deferred();
  /** RTP and RTCP packets and data channel messages received: all JavaScript sees of the client. */
  #received = 0;
  #probe: LivenessProbe | undefined;
  #calibration: NodeJS.Timeout | undefined;
  #heldCandidates: HeldCandidates | undefined;
  readonly #admitDataChannel: EchoPeerOptions['admitDataChannel'];
  readonly #sections = new Map<string, EchoSection>();
  /** A publishing peer's viewers (WHIP); undefined for the others. */
  #fanOut: RtpFanOut | undefined;
  /** A viewer peer's tie to its publisher (WHEP), and its goodbye to the viewer. */
  #viewerLink: ViewerLink | undefined;
  #sayBye: (() => void) | undefined;
  #closed = false;

  constructor(options: EchoPeerOptions) {
    this.#admitDataChannel = options.admitDataChannel;
    this.#log = options.log.child({ engine: 'libdatachannel', role: 'echo' });
    this.#states = new PeerStates((err) => this.#log.error({ err }, 'state listener threw'));
    this.#pc = new PeerConnection('echo', rtcConfig(options.network));
    peerOpened();
    followNative(this.#pc, this.#gathered, this.#states, (state) => {
      // libdatachannel closes its transports itself after disconnected/failed, then says closed;
      // our close() frees the JS side and reports `closed` exactly once.
      if (state === 'closed') this.close();
      else this.#states.connection.report(state);
      if (state === 'connected') this.#calibrateProbe();
    });
    this.#pc.onDataChannel((channel) => this.#echoChannel(channel));
  }

  get answer(): SessionDescription {
    if (!this.#answer) throw new Error('the echo peer has no answer yet');
    return this.#answer;
  }

  get publication(): Publication | undefined {
    return this.#fanOut;
  }

  /** After the tracks are added: applies the offer, gathers, and keeps the answer. */
  async negotiate(offer: ParsedOffer, gatherTimeoutMs: number, publish: boolean): Promise<EchoPeer> {
    const { sdp, heldBack } = answerPolicy(offer);
    // With auto-negotiation on (the default), applying the offer also creates the answer.
    stackTakes(() => this.#pc.setRemoteDescription(sdp, 'offer'));
    if (this.#pc.gatheringState() !== 'complete') await waitForGathering(this.#gathered.promise, gatherTimeoutMs, this.#log, 'answer');
    if (this.#closed) throw new OfferRefused('libdatachannel closed the echo peer while it gathered candidates');
    const local = this.#pc.localDescription();
    if (!local || local.type !== 'answer') throw new OfferRefused('libdatachannel produced no answer');
    this.#answer = { type: 'answer', sdp: local.sdp };
    const answer = sdpTransform.parse(local.sdp);
    this.#heldCandidates = new HeldCandidates({
      candidates: heldBack,
      add: ({ candidate, mid }) => this.#pc.addRemoteCandidate(candidate, mid),
      iceState: () => this.#states.ice.current,
      log: this.#log,
    });
    this.#probe = this.#createProbe(offer.parsed, answer);
    if (publish) this.#fanOut = this.#publish(answer);
    return this;
  }

  /** A WHEP viewer's sections, each fed from its publisher track (playback-track.ts). */
  addPlayback(sections: Parameters<typeof addPlaybackTracks>[1], publication: Publication): void {
    const { tracks, link, sayBye } = addPlaybackTracks(this.#pc, sections, publication, {
      log: this.#log,
      counters: this.counters,
      received: () => this.#received++,
      sourceLeft: (mid) => this.#sourceLeft(mid),
    });
    this.#tracks.push(...tracks);
    this.#viewerLink = link;
    this.#sayBye = sayBye;
  }

  /** A trickled candidate (WHIP/WHEP PATCH), already resolved and judged by the server. */
  addRemoteCandidate(candidate: SdpCandidate): void {
    if (this.#closed) return;
    stackTakes(() => this.#pc.addRemoteCandidate(candidate.candidate, candidate.mid));
  }

  /** What this peer receives, played to viewers; keyframe requests and NACKs go to the client's sender. */
  #publish(answer: ParsedSdp): RtpFanOut {
    const upstream = {
      requestKeyframe: (mid: string) => {
        const section = this.#sections.get(mid);
        if (this.#closed || !section || section.clientSsrc === undefined) return false;
        return this.#sendRtcp(section.track, buildPli(section.echoSsrc, section.clientSsrc), 'keyframe request for a viewer');
      },
      nack: (mid: string, sequences: readonly number[]) => {
        const section = this.#sections.get(mid);
        if (this.#closed || !section || section.clientSsrc === undefined) return;
        this.#sendRtcp(section.track, buildNack(section.echoSsrc, section.clientSsrc, sequences), 'NACK for a viewer');
      },
    };
    return new RtpFanOut(publishedTracks(answer), upstream, this.#log);
  }

  #sendRtcp(track: Track, packet: Buffer, what: string): boolean {
    try {
      return track.sendMessageBinary(packet);
    } catch (err) {
      this.#log.debug({ err }, `${what} not sent`);
      return false;
    }
  }

  onStateChange(listener: (state: PeerState) => void): void {
    this.#states.connection.listen(listener);
  }

  onIceStateChange(listener: (state: IceState) => void): void {
    this.#states.ice.listen(listener);
  }

  /**
   * What JavaScript sees (RTP, RTCP, messages) plus the client's answers to our probes; only
   * once the client has answered one: libjuice's ICE traffic, the only thing an idle client
   * sends, never reaches JavaScript, so without answers idle and gone look alike.
   */
  inboundActivity(): number | undefined {
    const answers = this.#probe?.answers ?? 0;
    return answers > 0 ? this.#received + answers : undefined;
  }

  /** Asks the client for a sign of life (see liveness.ts), once it has shown it answers. */
  probeLiveness(): void {
    if (this.#probe && this.#probe.answers > 0) this.#probe.send();
  }

  async selectedPair(): Promise<CandidatePair | undefined> {
    return this.#closed ? undefined : selectedPairOf(this.#pc);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#calibration);
    this.#heldCandidates?.cancel();
    this.#probe?.close();
    this.#fanOut?.close();
    this.#viewerLink?.remove();
    this.#sayBye?.();
    const channels = [...this.#channels];
    this.#channels.clear();
    teardown({
      pc: this.#pc,
      channels,
      tracks: this.#tracks.splice(0),
      gathered: this.#gathered,
      states: this.#states,
      log: (err: unknown) => this.#log.debug({ err }, 'error while closing'),
    });
  }

  /**
   * Right after connecting, a few probes until one is answered. A client that answers none (a
   * NAT that only lets the selected pair's own port through, a stack that ignores them) keeps
   * inboundActivity undefined: its session is then released only by libjuice's consent expiry.
   */
  #calibrateProbe(): void {
    let sent = 0;
    const attempt = () => {
      this.#calibration = undefined;
      const probe = this.#probe;
      if (this.#closed || !probe || probe.answers > 0) return;
      if (sent++ === CALIBRATION_PROBES) {
        this.#log.info({ probes: CALIBRATION_PROBES }, 'the client answered no liveness probe: released on ICE consent expiry only');
        return;
      }
      probe.send();
      this.#calibration = setTimeout(attempt, CALIBRATION_INTERVAL_MS).unref();
    };
    if (!this.#calibration) attempt();
  }

  #createProbe(offer: ParsedSdp, answer: ParsedSdp): LivenessProbe | undefined {
    const remote = iceCredentials(offer);
    const local = iceCredentials(answer);
    if (!remote || !local) return undefined;
    return new LivenessProbe(
      local,
      remote,
      () => this.#pc.getSelectedCandidatePair()?.remote ?? undefined,
      (err) => this.#log.debug({ err }, 'liveness probe not sent'),
    );
  }

  /**
   * One track per offered media section, announcing the SSRC the echo goes out with. Every RTP
   * packet goes to the publication's viewers (when the peer publishes), and back on the same mid
   * with only its SSRC rewritten, when the answer sends (a sendrecv offer).
   */
  addEchoTrack(plan: EchoSectionPlan): void {
    const echoSsrc = randomSsrc();
    const ssrc = { ssrc: echoSsrc, cname: 'echo', streamId: 'echo', trackId: `echo-${plan.kind}-${plan.mid}` };
    // The stack takes the offer's codec lines here (Media::parseSdpLine), before the offer itself.
    const track = stackTakes(() => this.#pc.addTrack(buildMedia({ ...plan, ssrc })));
    this.#tracks.push(track);
    const section: EchoSection = { track, echoSsrc };
    this.#sections.set(plan.mid, section);
    // A sendonly offer (a WHIP publisher) is answered recvonly: nothing goes back.
    const echoes = plan.direction === 'SendRecv';

    const payloadTypes = new Set(plan.payloadTypes);
    const repeats = new RtcpRepeatFilter();

    track.onMessage((packet) => {
      this.#received++;
      if (isRtcp(packet)) {
        if (repeats.isRepeat(packet)) return;
        this.#relayKeyframeRequests(track, packet, echoSsrc, section.clientSsrc);
        this.#relayNacks(track, packet, echoSsrc, section.clientSsrc);
        // Any BYE on this section but for our own echo source is the client's source leaving.
        if (byeSources(packet).some((source) => source !== echoSsrc)) this.#sourceLeft(plan.mid);
        return;
      }
      repeats.reset();
      if (!isRtp(packet) || !payloadTypes.has(rtpPayloadType(packet))) return;
      section.clientSsrc = rtpSsrc(packet);
      if (!echoBacklog.admit()) {
        this.counters.rtpDropped!++;
        return;
      }
      // Before the echo rewrites it in place: each viewer gets its own copy.
      this.#fanOut?.forward(plan.mid, packet);
      if (!echoes) return;
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

  /**
   * A generic NACK about the echo stream asks for packets we never got from the client (we echo
   * each packet once, as it comes, and keep none): it goes to the client's own sender as a NACK
   * about its SSRC for the same sequence numbers (the echo keeps them), and the packet it sends
   * again is echoed like any other. Without a media handler libdatachannel answers no NACK itself.
   */
  #relayNacks(track: Track, rtcp: Buffer, echoSsrc: number, clientSsrc: number | undefined): void {
    if (clientSsrc === undefined) return;
    const nack = relayedNack(rtcp, echoSsrc, clientSsrc);
    if (!nack) return;
    try {
      track.sendMessageBinary(nack);
    } catch (err) {
      this.#log.debug({ err }, 'NACK not relayed');
    }
  }

  /** Every channel the client opens, whenever, echoes text as text and binary as binary. */
  #echoChannel(channel: DataChannel): void {
    if (this.#closed || this.#admitDataChannel?.(channel.getLabel()) === false) {
      channel.onClosed(() => {}); // see the note on onClosed below
      channel.close();
      return;
    }
    this.#channels.add(channel);
    channel.onMessage((raw) => {
      this.#received++;
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
      this.counters.messageBytes += messageBytes(message);
    });
    // node-datachannel frees a channel's native callbacks only when its closed event reaches JS.
    channel.onClosed(() => this.#channels.delete(channel));
    channel.onError((err) => this.#log.debug({ err, label: channel.getLabel() }, 'data channel error'));
  }
}
