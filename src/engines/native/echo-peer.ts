/**
 * The native engine's echo peer: one NativeSession (the answer, our ICE agent, werift's SCTP
 * for data channels) on the process's data plane, which echoes every RTP packet and relays
 * RTCP in C++ without JavaScript. What the Engine interface asks of an echo peer, over it.
 */
import type { Logger } from 'pino';
import sdpTransform from 'sdp-transform';
import type { CandidatePair, EchoCounters, EchoPeer, EchoPeerOptions, EchoTransportFacts, IceState, PeerState, Publication, ViewerLink, ViewerTrack } from '../engine.js';
import { publishedTracks, type PlaybackPlan } from '../../sdp/playback.js';
import type { SessionDescription } from '../../sdp/description.js';
import type { ParsedOffer } from '../../sdp/parsed-offer.js';
import { EchoError } from '../../errors/echo-error.js';
import { hostCandidates, remoteCandidates } from '../../ice/candidates.js';
import type { SdpCandidate } from '../../sdp/candidates.js';
import { safely } from '../kit/close.js';
import { known, unknown, SRTP_PROFILE_NAMES } from '../kit/facts.js';
import { OfferRefused } from '../kit/refusal.js';
import { PeerStates } from '../kit/state-reporter.js';
import { UnanswerableOffer } from './offer-facts.js';
import type { PlaneEvent, SessionStats, SrtpProfileName } from './plane.js';
import type { PlaneHost, SocketLease } from './plane-host.js';
import { NativeSession, type NativeSessionState } from './session.js';
import { NativePublication, type NativeViewerSink } from './publication.js';

/** How long selectedPair() waits for ICE to select a pair once DTLS has connected. */
const SELECTION_WAIT_MS = 2_000;

/** A WHEP viewer: the publication it plays, and the plan its offer was answered by. */
interface Playback {
  publication: Publication;
  plan: PlaybackPlan;
}

/** The plane's profile names, as the IANA registry (and the other engines' facts) write them. */
const IANA_PROFILE: Record<SrtpProfileName, string> = {
  SRTP_AES128_CM_SHA1_80: SRTP_PROFILE_NAMES[0x0001]!,
  SRTP_AES128_CM_SHA1_32: SRTP_PROFILE_NAMES[0x0002]!,
  SRTP_AEAD_AES_128_GCM: SRTP_PROFILE_NAMES[0x0007]!,
};

export function createNativeEchoPeer(host: PlaneHost, offer: ParsedOffer, options: EchoPeerOptions): Promise<NativeEchoPeer> {
  return createPeer(host, offer, options, undefined);
}

/** A WHEP viewer's peer: its offer answered sendonly, played by the data plane from `publication`'s session. */
export function createNativeViewerPeer(host: PlaneHost, offer: ParsedOffer, publication: Publication, plan: PlaybackPlan, options: EchoPeerOptions): Promise<NativeEchoPeer> {
  return createPeer(host, offer, options, { publication, plan });
}

async function createPeer(host: PlaneHost, offer: ParsedOffer, options: EchoPeerOptions, playback: Playback | undefined): Promise<NativeEchoPeer> {
  const log = options.log.child({ engine: 'native', role: playback ? 'viewer' : 'echo' });
  host.acquire();
  let lease: SocketLease | undefined;
  try {
    const network = options.network ?? {};
    const opened = host.openSocket({ portRange: network.portRange, muxPort: network.udpMux });
    // A port range with no port left is the server at capacity, not a bug.
    if (typeof opened === 'string') throw EchoError.noUdpPort(opened);
    lease = opened;
    return new NativeEchoPeer(host, lease, offer, options, log, playback);
  } catch (err) {
    lease?.release();
    host.release();
    throw err;
  }
}

export class NativeEchoPeer implements EchoPeer {
  readonly #session: NativeSession;
  readonly #states: PeerStates;
  readonly #log: Logger;
  /** The answer, as written from the offer (the server announces public addresses in its copy). */
  readonly answer: SessionDescription;
  #connected: Extract<PlaneEvent, { type: 'dtls-connected' }> | undefined;
  #lastStats: SessionStats | undefined;
  /** Media sections whose client source said BYE. */
  readonly #byes = new Set<string>();
  /** A publishing peer's viewers (WHIP with `publish`). */
  readonly #publication: NativePublication | undefined;
  /** A viewer peer's tie to its publisher (WHEP), and the sections it is played on. */
  #viewerLink: ViewerLink | undefined;
  #viewerTracks: readonly ViewerTrack[] = [];
  /** Keyframe requests from a viewer (its PLIs and FIRs). */
  #viewerKeyframeRequests = 0;
  #closed = false;
  /** selectedPair() calls waiting for ICE to select (DTLS may connect first: session.ts). */
  #selectionWaiters: Array<() => void> = [];

  constructor(
    private readonly host: PlaneHost,
    private readonly lease: SocketLease,
    offer: ParsedOffer,
    options: EchoPeerOptions,
    log: Logger,
    playback?: Playback,
  ) {
    this.#log = log;
    this.#states = new PeerStates((err) => log.error({ err }, 'state listener threw'));
    const plane = host.plane!;
    const sockets = [{ socket: lease.socket, local: lease.local }];
    try {
      this.#session = new NativeSession({
        plane,
        offer: offer.parsed,
        sockets,
        candidates: hostCandidates(sockets, undefined, { loopbackOnly: options.network?.loopbackOnly }),
        admitDataChannel: options.admitDataChannel,
        onChannelsClosed: () => this.#channelsClosed(),
        onState: (state) => this.#onState(state),
        onIceState: (state) => {
          this.#states.ice.report(state);
          if (state !== 'checking' && state !== 'new') this.#selectionSettled();
        },
        onError: (err) => log.debug({ err }, 'data channel error'),
        playback: playback?.plan,
        onFeedback: (mid, pli, nack) => this.#viewerFeedback(mid, pli, nack),
      });
    } catch (err) {
      // What our answer builder cannot answer is the offer's fault (422); a plane that refuses
      // the session is a bug (500).
      if (err instanceof UnanswerableOffer) throw new OfferRefused(err.message, { cause: err });
      throw err;
    }
    const session = this.#session;
    this.answer = { type: 'answer', sdp: session.answer.sdp };
    host.onSession(session.id, (event) => this.#onEvent(event));
    if (lease.router) lease.router.add(session.localCredentials.ufrag, session.ice);
    else host.onStun(lease.socket, (socket, from, data, local, answered) => session.receiveStun(socket, from, data, local, answered));
    if (options.publish) {
      this.#publication = new NativePublication(publishedTracks(sdpTransform.parse(session.answer.sdp)), plane, session.id, log);
    }
    if (playback) this.#play(playback, session);
    session.start();
  }

  /**
   * A trickled candidate (WHIP/WHEP PATCH), already judged by the server: our ICE agent pairs it
   * and checks it. One of a kind ICE here cannot use (TCP, RTCP's component) is ignored, as RFC
   * 8445 §5.1.3 has agents do; one that does not parse is refused.
   */
  addRemoteCandidate({ candidate }: SdpCandidate): void {
    if (this.#closed) return;
    const parsed = sdpTransform.parse(`m=audio 9 UDP/TLS/RTP/SAVPF 0\r\na=${candidate.replace(/^a=/, '')}\r\n`).media[0]?.candidates ?? [];
    if (parsed.length !== 1) throw new OfferRefused(`not an ICE candidate: ${candidate.slice(0, 100)}`);
    const [remote] = remoteCandidates(parsed);
    if (!remote) {
      this.#log.debug({ candidate }, 'trickled candidate ignored: not one this engine uses (UDP, component 1)');
      return;
    }
    if (!this.#session.ice.addRemoteCandidate(remote)) this.#log.debug({ candidate }, 'trickled candidate not added: ICE is over, or holds enough');
  }

  get publication(): Publication | undefined {
    return this.#publication;
  }

  /** The viewer's played sections, each with the SSRC our answer announced, handed to the publication. */
  #play(playback: Playback, session: NativeSession): void {
    this.#viewerTracks = playback.plan.mappings.flatMap((mapping): ViewerTrack[] => {
      const section = session.answer.sections.find((s) => s.echo === false && s.mid === mapping.viewerMid);
      return section ? [{ ...mapping, ssrc: section.echoSsrc }] : [];
    });
    const sink: NativeViewerSink = { planeSession: session.id, sendRtp: () => false };
    this.#viewerLink = playback.publication.addViewer(sink, this.#viewerTracks);
  }

  /** A viewer's PLI/FIR or NACK about a section it is played on: to the publisher (coalesced there). */
  #viewerFeedback(mid: string, pli: boolean, nack: readonly number[]): void {
    const link = this.#viewerLink;
    if (!link) return;
    if (pli) {
      this.#viewerKeyframeRequests++;
      link.requestKeyframe(mid);
    }
    if (nack.length > 0) link.nack(mid, nack);
  }

  get counters(): EchoCounters {
    const stats = this.#stats();
    const messages = this.#session.dataChannels?.counters;
    return {
      rtpPackets: stats?.rtpEchoed ?? 0,
      rtpBytes: stats?.rtpEchoedBytes ?? 0,
      keyframeRequests: (stats?.keyframeRequests ?? 0) + this.#viewerKeyframeRequests,
      messages: messages?.messages ?? 0,
      messageBytes: messages?.messageBytes ?? 0,
    };
  }

  onStateChange(listener: (state: PeerState) => void): void {
    this.#states.connection.listen(listener);
  }

  onIceStateChange(listener: (state: IceState) => void): void {
    this.#states.ice.listen(listener);
  }

  async selectedPair(): Promise<CandidatePair | undefined> {
    // A DTLS client that shakes hands on its first working pair connects before its nomination
    // reaches us (a libdatachannel client: session.ts): the pair it nominates is moments away.
    if (!this.#closed && !this.#session.ice.selectedPair) await this.#selection(SELECTION_WAIT_MS);
    const pair = this.#closed ? undefined : this.#session.ice.selectedPair;
    if (!pair) return undefined;
    return {
      local: { type: 'host', protocol: 'udp', address: pair.source ?? pair.local.address, port: pair.local.port },
      remote: { type: pair.remote.type, protocol: 'udp', address: pair.remote.address, port: pair.remote.port },
    };
  }

  #selection(timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, timeoutMs);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.#selectionWaiters.push(done);
    });
  }

  #selectionSettled(): void {
    const waiters = this.#selectionWaiters;
    this.#selectionWaiters = [];
    for (const done of waiters) done();
  }

  /** Authenticated STUN (checks, answers to our consent checks) plus every datagram the plane took from a validated address. */
  inboundActivity(): number {
    return this.#session.ice.inboundActivity + (this.#stats()?.packetsIn ?? 0);
  }

  /** Our own consent checks (RFC 7675) make a live client answer: inboundActivity sees it. */
  probeLiveness(): void {}

  transportFacts(): EchoTransportFacts {
    const connected = this.#connected;
    const profile = connected?.srtpProfile;
    return {
      dtlsRole: connected ? known(connected.role) : unknown('the DTLS handshake has not finished'),
      srtpProfile: !connected
        ? unknown('the DTLS handshake has not finished')
        : profile === 'none' || profile === undefined
          ? unknown('the client offered no SRTP profile DTLS could agree on (use_srtp)')
          : known(IANA_PROFILE[profile] ?? profile),
      // werift's SCTP (data-channels.ts) never announces it: pion 3.1 clients cannot take it.
      sctpZeroChecksum: this.#session.dataChannels ? known(this.#session.dataChannels.zeroChecksum) : unknown('no data channel in the offer'),
    };
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const session = this.#session;
    this.#lastStats = this.#stats();
    const quietly = (err: unknown) => this.#log.debug({ err }, 'error while closing');
    safely(() => this.#publication?.close(), quietly);
    safely(() => this.#viewerLink?.remove(), quietly);
    safely(() => session.close(), quietly);
    this.host.offSession(session.id);
    if (this.lease.router) this.lease.router.remove(session.ice);
    safely(() => this.lease.release(), quietly);
    this.host.release();
    this.#states.close();
  }

  #stats(): SessionStats | undefined {
    return this.#closed ? this.#lastStats : this.host.plane?.stats(this.#session.id);
  }

  #onEvent(event: Exclude<PlaneEvent, { type: 'stun' }>): void {
    if (this.#closed) return;
    if (event.type === 'dtls-connected') {
      this.#connected = event;
      // The first moment a viewer can take media: ask for a keyframe now rather than wait for the next one.
      for (const track of this.#viewerTracks) this.#viewerLink?.requestKeyframe(track.viewerMid);
    }
    if (event.type === 'dtls-failed') this.#log.info({ reason: event.reason }, 'DTLS failed');
    if (event.type === 'rtcp-bye') this.#sourceLeft(event.mid);
    this.#session.handle(event);
  }

  #onState(state: NativeSessionState): void {
    if (state === 'new') return;
    this.#states.connection.report(state);
    if (state === 'closed') this.close();
  }

  /**
   * A client's RTCP BYE on every media section, with no data channel open, means it has gone
   * (some stacks send no DTLS close_notify): release it now rather than at consent expiry.
   */
  #sourceLeft(mid: string): void {
    this.#byes.add(mid);
    const sections = this.#session.answer.sections;
    if (sections.every((s) => this.#byes.has(s.mid)) && (this.#session.dataChannels?.channels ?? 0) === 0) {
      this.#log.debug('every client source said BYE, closing');
      this.close();
    }
  }

  /** A data-channel-only client that closed every channel it opened is done with us (libdatachannel sends no close_notify). */
  #channelsClosed(): void {
    if (this.#session.answer.sections.length > 0 && !this.#session.answer.sections.every((s) => this.#byes.has(s.mid))) return;
    this.#log.debug('every data channel closed, closing');
    this.close();
  }
}
