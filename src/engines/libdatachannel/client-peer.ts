/**
 * The libdatachannel client peer: offers one sendrecv section per kind (audio, then video) and
 * optionally a data channel, and moves RTP at packet level (our packetizers write the packets).
 */
import { randomUUID } from 'node:crypto';
import { PeerConnection, type DataChannel, type Track } from 'node-datachannel';
import sdpTransform from 'sdp-transform';
import { CLIENT_PAYLOAD_TYPES, type CandidatePair, type MediaDirection, type ClientDataChannel, type ClientMedia, type ClientPeer, type ClientPeerOptions, type IceState, type PeerState, type RtpLeg, type TransportFacts } from '../engine.js';
import type { MediaKind, SessionDescription } from '../../sdp/description.js';
import { known, unknown } from '../kit/facts.js';
import { deferred, waitForGathering } from '../kit/gathering.js';
import { toMessage } from '../kit/messages.js';
import { PeerStates } from '../kit/state-reporter.js';
import { parseCandidate } from '../../sdp/candidate-line.js';
import { family } from '../../ice/candidates.js';
import { splitCandidates, type SdpCandidate } from '../../sdp/candidates.js';
import { iceCredentialsOf } from '../kit/local-candidates.js';
import { MID_EXTENSION_URI } from '../../rtp/header-extensions.js';
import { isRtcp, isRtp, randomSsrc } from '../../rtp/packet.js';
import { buildBye } from '../../rtp/rtcp.js';
import { rtcConfig, selectedPairOf } from './config.js';
import { followNative, peerOpened, teardown } from './lifecycle.js';
import { buildMedia } from './media-description.js';
import { RtcpRepeatFilter } from './rtcp-repeat-filter.js';

/** What a browser offers for each kind, minus what needs header extensions (transport-cc). */
const CODECS: Record<MediaKind, string> = { audio: 'opus/48000/2', video: 'VP8/90000' };
/**
 * The one header extension we offer, as browsers do: the mid (RFC 8843 §15), one id for every
 * bundled section (§9.1). libdatachannel writes no extensions itself (we send raw RTP), so the
 * leg hands the negotiated id to whoever writes the packets (RtpLeg.midExtension).
 */
const MID_EXTENSION_ID = 1;
/** libjuice's Ta (STUN_PACING_TIME): how long after the answer's best candidate its others go in. */
const CANDIDATE_PACING_MS = 50;
const CODEC_LINES: Record<MediaKind, string[]> = {
  audio: [
    `a=rtpmap:${CLIENT_PAYLOAD_TYPES.audio} ${CODECS.audio}`,
    `a=fmtp:${CLIENT_PAYLOAD_TYPES.audio} minptime=10;useinbandfec=1`,
  ],
  video: [
    `a=rtpmap:${CLIENT_PAYLOAD_TYPES.video} ${CODECS.video}`,
    `a=rtcp-fb:${CLIENT_PAYLOAD_TYPES.video} nack`,
    `a=rtcp-fb:${CLIENT_PAYLOAD_TYPES.video} nack pli`,
    `a=rtcp-fb:${CLIENT_PAYLOAD_TYPES.video} ccm fir`,
  ],
};

const NATIVE_DIRECTIONS = { sendrecv: 'SendRecv', sendonly: 'SendOnly', recvonly: 'RecvOnly' } as const satisfies Record<MediaDirection, string>;

export function createLibdatachannelClientPeer(options: ClientPeerOptions): ClientPeer {
  return new LibdatachannelClient(options);
}

class LibdatachannelClient implements ClientPeer {
  readonly #legs: RtpLeg[] = [];
  readonly media: ClientMedia = { mode: 'rtp', legs: this.#legs };
  readonly dataChannel: ClientDataChannel | undefined;
  readonly #log: ClientPeerOptions['log'];
  readonly #options: ClientPeerOptions;
  readonly #pc: PeerConnection;
  readonly #tracks: Track[] = [];
  readonly #channels: DataChannel[] = [];
  readonly #states: PeerStates;
  readonly #gathered = deferred();
  #nativeState: PeerState = 'new';
  /** Per mid, the id the answer gave the mid extension (only sections that negotiated it). */
  #answeredMidIds = new Map<string, number>();
  #openTracks = 0;
  #closed = false;
  /** The answer's other candidates, added one Ta after its best (acceptAnswer). */
  #laterCandidates: NodeJS.Timeout | undefined;
  /** What createOffer gathered and left out of the offer, for a caller that trickles it. */
  #local: { candidates: SdpCandidate[]; ufrag: string; pwd: string } | undefined;

  constructor(options: ClientPeerOptions) {
    this.#options = options;
    this.#log = options.log.child({ engine: 'libdatachannel', role: 'client' });
    this.#states = new PeerStates((err) => this.#log.error({ err }, 'state listener threw'));
    // Auto-negotiation off: createDataChannel() would otherwise make the offer on the spot.
    this.#pc = new PeerConnection('client', rtcConfig(options.network, { disableAutoNegotiation: true }));
    peerOpened();
    followNative(this.#pc, this.#gathered, this.#states, (state) => {
      this.#nativeState = state;
      if (state === 'closed') this.close();
      else this.#reportState();
    });

    const streamId = randomUUID();
    const kinds: MediaKind[] = [...(options.audio ? ['audio' as const] : []), ...(options.video ? ['video' as const] : [])];
    kinds.forEach((kind, index) => this.#legs.push(this.#addLeg(kind, String(index), streamId)));
    if (options.dataChannel !== undefined) this.dataChannel = this.openDataChannel(options.dataChannel);
  }

  async createOffer(): Promise<SessionDescription> {
    this.#pc.setLocalDescription('offer');
    if (this.#pc.gatheringState() !== 'complete') await waitForGathering(this.#gathered.promise, this.#options.gatherTimeoutMs, this.#log, 'offer');
    if (this.#closed) throw new Error('the client peer was closed while gathering candidates');
    const local = this.#pc.localDescription();
    if (!local || local.type !== 'offer') throw new Error('libdatachannel produced no offer');
    // The offer goes out without our candidates; the server learns our address from our checks
    // (peer-reflexive, RFC 8445 §7.3.1.3), as it learns a browser's whose .local names it cannot
    // resolve. A server that has them checks us before we have its answer: libjuice answers and
    // keeps that pair, and applying the answer then connects ICE and DTLS inside
    // setRemoteDescription, before libdatachannel stores the answer's fingerprint, so the
    // handshake fails (libdatachannel PR #1612; 22-32% of first attempts against our server, 11
    // of 50 against pion's). With no pair before the answer, ICE can start only from the
    // answer's candidates, which we add after the description is stored. The cost: a server
    // that can reach us but that we cannot reach (behind a NAT, no public address, no STUN)
    // cannot connect us.
    const { sdp, candidates } = splitCandidates(local.sdp);
    const credentials = iceCredentialsOf(local.sdp);
    if (credentials) this.#local = { candidates, ...credentials };
    return { type: 'offer', sdp };
  }

  localCandidates(): { candidates: SdpCandidate[]; ufrag: string; pwd: string } | undefined {
    return this.#local;
  }

  async acceptAnswer(answer: SessionDescription): Promise<void> {
    if (answer.type !== 'answer') throw new Error(`expected an answer, got a description of type "${answer.type}"`);
    // As applying the answer whole, libdatachannel also adds an answer's candidates only after it
    // has stored the description. The start-up race is avoided in createOffer().
    const { sdp, candidates } = splitCandidates(answer.sdp);
    this.#answeredMidIds = answeredMidExtensions(sdp);
    this.#pc.setRemoteDescription(sdp, 'answer');
    // The best candidate now, the others one Ta (50 ms, RFC 8445 §14.2) later: the spacing
    // libjuice gives candidates it gets together. Added one by one at once, each check leaves
    // before the next is armed, and a server that learns us from our checks (ours, libjuice)
    // gets two addresses of ours within a millisecond: our nomination then re-arms its triggered
    // check for the first behind its check of the second, 50 ms apart (agent_arm_transmission's
    // pacing), and we connect ~50 ms later (docs/triggered-check.md). Once a pair has succeeded,
    // libjuice keeps the later candidates' lower pairs frozen.
    const [best, ...others] = firstCandidateFirst(candidates, this.#local?.candidates ?? []);
    if (best) this.#pc.addRemoteCandidate(best.candidate, best.mid);
    if (others.length > 0) {
      this.#laterCandidates = setTimeout(() => {
        this.#laterCandidates = undefined;
        if (this.#closed) return;
        for (const { candidate, mid } of others) {
          try {
            this.#pc.addRemoteCandidate(candidate, mid);
          } catch (err) {
            this.#log.debug({ err, candidate }, 'remote candidate not added');
          }
        }
      }, CANDIDATE_PACING_MS);
      this.#laterCandidates.unref();
    }
  }

  openDataChannel(label: string): ClientDataChannel {
    const channel = this.#pc.createDataChannel(label);
    this.#channels.push(channel);
    return wrapChannel(label, channel, this.#log);
  }

  onStateChange(listener: (state: PeerState) => void): void {
    this.#states.connection.listen(listener);
  }

  onIceStateChange(listener: (state: IceState) => void): void {
    this.#states.ice.listen(listener);
  }

  async selectedPair(): Promise<CandidatePair | undefined> {
    return this.#closed ? undefined : selectedPairOf(this.#pc);
  }

  async transportFacts(): Promise<TransportFacts> {
    let maxMessageSize: number | undefined;
    try {
      // libdatachannel's remoteMaxMessageSize(): the answer's a=max-message-size (64 KiB without one), capped by our own.
      if (!this.#closed && this.#channels.length > 0) maxMessageSize = this.#pc.maxMessageSize();
    } catch {
      maxMessageSize = undefined;
    }
    return {
      dtlsRole: unknown('node-datachannel 0.33 exposes no DTLS role'),
      srtpProfile: unknown('node-datachannel 0.33 exposes no SRTP profile'),
      sctpZeroChecksum: unknown("libdatachannel's usrsctp keeps the remote INIT parameters to itself"),
      sctpMaxMessageSize: maxMessageSize === undefined ? unknown('no data channel') : known(maxMessageSize),
    };
  }

  close(): void {
    if (this.#closed) return;
    clearTimeout(this.#laterCandidates);
    // libdatachannel sends no DTLS close_notify for media-only connections: a BYE per source
    // tells the server we are gone (RFC 3550 §6.6).
    for (const leg of this.#legs) leg.sendRtcp(buildBye(leg.ssrc));
    this.#closed = true;
    teardown({
      pc: this.#pc,
      channels: this.#channels.splice(0),
      tracks: this.#tracks.splice(0),
      gathered: this.#gathered,
      states: this.#states,
      log: (err: unknown) => this.#log.debug({ err }, 'error while closing'),
    });
  }

  /**
   * libdatachannel says `connected` before it opens the media tracks (it opens them right after,
   * on its own thread), so `connected` waits for every track: legs are then ready to send.
   */
  #reportState(): void {
    const state = this.#nativeState;
    if (state === 'connected' && this.#openTracks < this.#tracks.length) return;
    this.#states.connection.report(state);
  }

  #addLeg(kind: MediaKind, mid: string, streamId: string): RtpLeg {
    const ssrc = randomSsrc();
    const track = this.#pc.addTrack(buildMedia({
      kind,
      mid,
      direction: NATIVE_DIRECTIONS[this.#options.direction ?? 'sendrecv'],
      codecs: [{ payloadType: CLIENT_PAYLOAD_TYPES[kind], codec: CODECS[kind] }],
      codecLines: [...CODEC_LINES[kind], `a=extmap:${MID_EXTENSION_ID} ${MID_EXTENSION_URI}`],
      ssrc: { ssrc, cname: `client-${streamId.slice(0, 8)}`, streamId, trackId: `${kind}-${randomUUID()}` },
    }));
    this.#tracks.push(track);

    const rtpListeners: Array<(packet: Buffer) => void> = [];
    const rtcpListeners: Array<(packet: Buffer) => void> = [];
    track.onOpen(() => {
      this.#openTracks++;
      this.#reportState();
    });
    const repeats = new RtcpRepeatFilter();
    track.onMessage((packet) => {
      if (isRtcp(packet)) {
        if (!repeats.isRepeat(packet)) for (const listener of rtcpListeners) listener(packet);
      } else if (isRtp(packet)) {
        repeats.reset();
        for (const listener of rtpListeners) listener(packet);
      }
    });
    track.onError((err) => this.#log.debug({ err, mid }, 'track error'));
    // node-datachannel frees a track's native callbacks only when its closed event reaches JS.
    track.onClosed(() => {});

    const send = (packet: Buffer): void => {
      if (this.#closed || !track.isOpen()) return;
      try {
        track.sendMessageBinary(packet);
      } catch (err) {
        this.#log.trace({ err, mid }, 'packet not sent');
      }
    };
    const answeredMidIds = () => this.#answeredMidIds;
    return {
      kind,
      payloadType: CLIENT_PAYLOAD_TYPES[kind],
      ssrc,
      send,
      sendRtcp: send,
      onRtp: (listener) => void rtpListeners.push(listener),
      onRtcp: (listener) => void rtcpListeners.push(listener),
      get midExtension() {
        const id = answeredMidIds().get(mid);
        return id === undefined ? undefined : { id, mid };
      },
    };
  }
}

/** Per answered section, the id its a=extmap gives the mid extension. */
function answeredMidExtensions(answerSdp: string): Map<string, number> {
  const ids = new Map<string, number>();
  for (const media of sdpTransform.parse(answerSdp).media) {
    const id = media.ext?.find((e) => e.uri === MID_EXTENSION_URI)?.value;
    if (id !== undefined && media.mid !== undefined) ids.set(String(media.mid), id);
  }
  return ids;
}

function wrapChannel(label: string, channel: DataChannel, log: ClientPeerOptions['log']): ClientDataChannel {
  const openListeners: Array<() => void> = [];
  const messageListeners: Array<(data: string | Buffer) => void> = [];
  channel.onOpen(() => {
    for (const listener of openListeners) listener();
  });
  channel.onMessage((raw) => {
    const message = toMessage(raw);
    for (const listener of messageListeners) listener(message);
  });
  channel.onError((err) => log.debug({ err, label }, 'data channel error'));
  // node-datachannel frees a channel's native callbacks only when its closed event reaches JS.
  channel.onClosed(() => {});
  return {
    label,
    get isOpen() {
      try {
        return channel.isOpen();
      } catch {
        return false; // the native channel is gone after close
      }
    },
    send(data) {
      if (typeof data === 'string') channel.sendMessage(data);
      else channel.sendMessageBinary(data);
    },
    onOpen: (listener) => void openListeners.push(listener),
    onMessage: (listener) => void messageListeners.push(listener),
  };
}

/**
 * The answer's candidates in the order acceptAnswer adds them: first the best one we can reach
 * (of an address family we have a candidate of), then the rest by priority. The best by priority
 * alone is often one we cannot use: servers rank IPv6 first (RFC 8421; our native engine
 * announces ::1 before 127.0.0.1), and a client bound to 127.0.0.1 (a loopback server URL) or
 * on an IPv4-only host has no IPv6 socket, so libjuice has nothing to check until the others go
 * in one Ta later: every set-up took 50 ms more (bench compare, 2026-12-07: 59 against 9 ms).
 * Candidates whose family we cannot tell (an mDNS name) count as reachable.
 */
export function firstCandidateFirst(candidates: readonly SdpCandidate[], ours: readonly SdpCandidate[]): SdpCandidate[] {
  const byPriority = [...candidates].sort((a, b) => candidatePriority(b.candidate) - candidatePriority(a.candidate));
  const families = new Set(ours.map((c) => familyOf(c.candidate)).filter((f) => f !== undefined));
  const reachable = byPriority.find((c) => {
    const family = familyOf(c.candidate);
    return families.size === 0 || family === undefined || families.has(family);
  });
  if (!reachable) return byPriority;
  return [reachable, ...byPriority.filter((c) => c !== reachable)];
}

function familyOf(candidate: string): 4 | 6 | undefined {
  return family(String(parseCandidate(candidate)?.ip ?? '')) || undefined;
}

/** A candidate line's priority (RFC 8839 §5.1), 0 if unreadable. */
function candidatePriority(candidate: string): number {
  const priority = Number(parseCandidate(candidate)?.priority);
  return Number.isFinite(priority) ? priority : 0;
}
