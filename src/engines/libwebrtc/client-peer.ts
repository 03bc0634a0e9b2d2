/**
 * The libwebrtc client side: offers sendrecv audio and video with generated sources (so the offer
 * carries real tracks and libwebrtc really sends) and an optional data channel.
 *
 * libwebrtc has no raw RTP API (capabilities.rawRtp is false): its media is `mode: 'generated'`,
 * and what was sent and echoed is read from getStats().
 */
import sdpTransform from 'sdp-transform';
import { CLIENT_PAYLOAD_TYPES, type CandidatePair, type ClientDataChannel, type ClientMedia, type ClientPeer, type ClientPeerOptions, type IceState, type LegMediaStats, type MediaLeg, type PeerState, type TransportFacts } from '../engine.js';
import type { MediaKind, SessionDescription } from '../../sdp/description.js';
import { keepLoopbackCandidates } from '../../sdp/loopback-only.js';
import { known, unknown } from '../kit/facts.js';
import { waitForGathering } from '../kit/gathering.js';
import { toMessage } from '../kit/messages.js';
import { localCandidatesOf } from '../kit/local-candidates.js';
import { PeerStates } from '../kit/state-reporter.js';
import { WrtcPeerConnection, closePeer, followStates, gatheringComplete, peerConfig } from './addon.js';
import { guardProcessExit } from './exit-guard.js';
import { createSource, type GeneratedSource } from './sources.js';
import { selectedPairFromStats, sumRtpStats, transportStats } from './stats.js';

export function createLibwebrtcClientPeer(options: ClientPeerOptions): ClientPeer {
  return new LibwebrtcClient(options);
}

/** What the libwebrtc offer uses for each kind; the payload type is read back from the offer. */
const CODEC_NAMES: Record<MediaKind, string> = { audio: 'opus', video: 'VP8' };

class LibwebrtcClient implements ClientPeer {
  readonly #legs: GeneratedLeg[] = [];
  readonly media: ClientMedia = { mode: 'generated', legs: this.#legs, stats: () => this.#mediaStats() };
  readonly dataChannel: ClientDataChannel | undefined;
  readonly #options: ClientPeerOptions;
  readonly #log: ClientPeerOptions['log'];
  readonly #pc: RTCPeerConnection;
  readonly #states: PeerStates;
  readonly #sources: GeneratedSource[] = [];
  readonly #channels: RTCDataChannel[] = [];
  #closed = false;

  constructor(options: ClientPeerOptions) {
    this.#options = options;
    this.#log = options.log.child({ engine: 'libwebrtc', role: 'client' });
    this.#states = new PeerStates((err) => this.#log.error({ err }, 'state listener threw'));
    guardProcessExit();
    this.#pc = new WrtcPeerConnection(peerConfig(options.network));
    followStates(this.#pc, this.#states, () => this.close());

    const kinds: MediaKind[] = [...(options.audio ? ['audio' as const] : []), ...(options.video ? ['video' as const] : [])];
    for (const kind of kinds) {
      const source = createSource(kind);
      this.#sources.push(source);
      const transceiver = this.#pc.addTransceiver(source.track, { direction: options.direction ?? 'sendrecv' });
      this.#legs.push(new GeneratedLeg(kind, transceiver));
    }
    if (options.dataChannel !== undefined) this.dataChannel = this.openDataChannel(options.dataChannel);
  }

  async createOffer(): Promise<SessionDescription> {
    await this.#pc.setLocalDescription(await this.#pc.createOffer());
    await waitForGathering(gatheringComplete(this.#pc), this.#options.gatherTimeoutMs, this.#log, 'offer');
    if (this.#closed) throw new Error('the client peer was closed while gathering candidates');
    const gathered = this.#pc.localDescription?.sdp;
    if (!gathered) throw new Error('libwebrtc produced no offer');
    // libwebrtc gathers every interface and takes no filter: loopback only is the offer's, at least
    // (its sockets on other addresses still check the server's loopback candidates; see
    // NetworkOptions.loopbackOnly).
    const sdp = this.#options.network?.loopbackOnly ? keepLoopbackCandidates(gathered) : gathered;
    for (const leg of this.#legs) leg.readOffer(sdp);
    return { type: 'offer', sdp };
  }

  localCandidates() {
    return localCandidatesOf(this.#pc.localDescription?.sdp);
  }

  async acceptAnswer(answer: SessionDescription): Promise<void> {
    if (answer.type !== 'answer') throw new Error(`expected an answer, got a description of type "${answer.type}"`);
    await this.#pc.setRemoteDescription(answer);
    if (!this.#closed) for (const source of this.#sources) source.start();
  }

  openDataChannel(label: string): ClientDataChannel {
    const channel = this.#pc.createDataChannel(label);
    channel.binaryType = 'arraybuffer';
    this.#channels.push(channel);
    return wrapChannel(channel);
  }

  onStateChange(listener: (state: PeerState) => void): void {
    this.#states.connection.listen(listener);
  }

  onIceStateChange(listener: (state: IceState) => void): void {
    this.#states.ice.listen(listener);
  }

  async selectedPair(): Promise<CandidatePair | undefined> {
    if (this.#closed) return undefined;
    try {
      return selectedPairFromStats(await this.#pc.getStats());
    } catch {
      return undefined; // closed meanwhile
    }
  }

  /** From getStats()'s transport (dtlsRole, srtpCipher: libwebrtc's names) and RTCSctpTransport.maxMessageSize. */
  async transportFacts(): Promise<TransportFacts> {
    let transport: ReturnType<typeof transportStats>;
    try {
      transport = this.#closed ? undefined : transportStats(await this.#pc.getStats());
    } catch {
      transport = undefined;
    }
    const role = transport?.dtlsRole;
    const sctp = (this.#pc as RTCPeerConnection & { sctp?: { maxMessageSize?: number } | null }).sctp;
    return {
      dtlsRole: role === 'client' || role === 'server' ? known(role) : unknown(`getStats() transport dtlsRole is ${role ?? 'missing'}`),
      srtpProfile: transport?.srtpCipher ? known(transport.srtpCipher) : unknown(this.#legs.length === 0 ? 'no media, no SRTP' : 'getStats() has no srtpCipher'),
      sctpZeroChecksum: unknown('libwebrtc reports no SCTP INIT parameters'),
      sctpMaxMessageSize: typeof sctp?.maxMessageSize === 'number' ? known(sctp.maxMessageSize) : unknown('no SCTP transport'),
    };
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const logError = (err: unknown) => this.#log.debug({ err }, 'error while closing');
    closePeer(this.#pc, this.#channels.splice(0), logError, this.#sources.map((source) => () => source.stop()));
    this.#states.close();
  }

  /** RTP sent and received per leg, from getStats(); zeros once closed (the stats are gone). */
  async #mediaStats(): Promise<LegMediaStats[]> {
    if (this.#closed) return this.#legs.map((leg) => ({ kind: leg.kind, packetsSent: 0, packetsReceived: 0 }));
    const report = await this.#pc.getStats();
    return this.#legs.map((leg) => {
      const { packetsSent, packetsReceived } = sumRtpStats(report, leg.kind);
      return { kind: leg.kind, packetsSent, packetsReceived };
    });
  }
}

/** A media section libwebrtc feeds from its own encoder (see the file comment). */
class GeneratedLeg implements MediaLeg {
  payloadType: number;
  /** The primary SSRC libwebrtc declared for this section in the offer; 0 before the offer. */
  ssrc = 0;

  constructor(
    readonly kind: MediaKind,
    private readonly transceiver: RTCRtpTransceiver,
  ) {
    this.payloadType = CLIENT_PAYLOAD_TYPES[kind];
  }

  /** Takes the payload type and SSRC libwebrtc chose for this section from its offer. */
  readOffer(sdp: string): void {
    const mid = this.transceiver.mid;
    const section = sdpTransform.parse(sdp).media.find((m) => String(m.mid) === mid);
    if (!section) return;
    const codec = section.rtp.find((r) => r.codec.toLowerCase() === CODEC_NAMES[this.kind].toLowerCase());
    if (codec) this.payloadType = codec.payload;
    const fid = section.ssrcGroups?.find((g) => g.semantics === 'FID');
    const primary = fid ? Number(fid.ssrcs.split(' ')[0]) : Number(section.ssrcs?.[0]?.id);
    if (Number.isFinite(primary)) this.ssrc = primary;
  }
}

function wrapChannel(channel: RTCDataChannel): ClientDataChannel {
  const openListeners: Array<() => void> = [];
  const messageListeners: Array<(data: string | Buffer) => void> = [];
  channel.onopen = () => {
    for (const listener of openListeners.splice(0)) listener();
  };
  channel.onmessage = (event: MessageEvent<unknown>) => {
    const message = toMessage(event.data);
    for (const listener of messageListeners) listener(message);
  };
  return {
    label: channel.label,
    get isOpen() {
      return channel.readyState === 'open';
    },
    send(data) {
      if (typeof data === 'string') channel.send(data);
      else channel.send(new Uint8Array(data.buffer, data.byteOffset, data.byteLength) as Uint8Array<ArrayBuffer>);
    },
    onOpen(listener) {
      // wrtc dispatches `open` on a later tick, so the channel may be open before a listener comes.
      if (channel.readyState === 'open') queueMicrotask(listener);
      else openListeners.push(listener);
    },
    onMessage: (listener) => void messageListeners.push(listener),
  };
}
