/**
 * The libdatachannel client peer: offers one sendrecv section per kind (audio, then video) and
 * optionally a data channel, and moves RTP at packet level (our packetizers write the packets).
 */
import { splitCandidates } from '../sdp/candidates.js';
import { buildBye } from '../rtp/rtcp.js';
import { randomUUID } from 'node:crypto';
import { PeerConnection, type DataChannel, type Track } from 'node-datachannel';
import {
  CLIENT_PAYLOAD_TYPES, type ClientDataChannel, type ClientPeer, type ClientPeerOptions, type IceState,
  type MediaKind, type MediaLeg, type PeerState, type SessionDescription,
} from './engine.js';
import {
  RtcpRepeatFilter, StateReporter, peerClosed, teardown, peerOpened, deferred, toIceState, toMessage, toPeerState, waitForGathering,
} from './libdatachannel-shared.js';
import { buildMedia } from './libdatachannel-media.js';
import { isRtcp, isRtp, randomSsrc } from '../rtp/packet.js';

/** A leg with the RTCP side exposed too; tests use it to watch keyframe requests. */
export interface LibdatachannelMediaLeg extends MediaLeg {
  readonly mid: string;
  /** Sends one RTCP packet on this section. */
  sendRtcp(packet: Buffer): void;
  /** Every RTCP packet received on this section. */
  onRtcp(listener: (packet: Buffer) => void): void;
}

export interface LibdatachannelClientPeer extends ClientPeer {
  readonly media: readonly LibdatachannelMediaLeg[];
  /** Opens another data channel, also after connection (in-band, no renegotiation needed). */
  openDataChannel(label: string): ClientDataChannel;
}

/** What a browser offers for each kind, minus what needs header extensions (transport-cc). */
const CODECS: Record<MediaKind, string> = { audio: 'opus/48000/2', video: 'VP8/90000' };
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

export function createLibdatachannelClientPeer(options: ClientPeerOptions): LibdatachannelClientPeer {
  return new LibdatachannelClient(options);
}

class LibdatachannelClient implements LibdatachannelClientPeer {
  readonly media: LibdatachannelMediaLeg[] = [];
  readonly dataChannel: ClientDataChannel | undefined;
  readonly #log: ClientPeerOptions['log'];
  readonly #options: ClientPeerOptions;
  readonly #pc: PeerConnection;
  readonly #tracks: Track[] = [];
  readonly #channels: DataChannel[] = [];
  readonly #states: StateReporter<PeerState>;
  readonly #iceStates: StateReporter<IceState>;
  readonly #gathered = deferred();
  #nativeState: PeerState = 'new';
  #openTracks = 0;
  #closed = false;

  constructor(options: ClientPeerOptions) {
    this.#options = options;
    this.#log = options.log.child({ engine: 'libdatachannel', role: 'client' });
    const logListenerError = (err: unknown) => this.#log.error({ err }, 'state listener threw');
    this.#states = new StateReporter<PeerState>(logListenerError);
    this.#iceStates = new StateReporter<IceState>(logListenerError);
    // Auto-negotiation off: createDataChannel() would otherwise make the offer on the spot.
    this.#pc = new PeerConnection('client', { iceServers: [], disableAutoNegotiation: true });
    peerOpened();
    this.#pc.onGatheringStateChange((state) => {
      if (state === 'complete') this.#gathered.resolve();
    });
    this.#pc.onStateChange((native) => {
      const state = toPeerState(native);
      if (state === undefined) return;
      this.#nativeState = state;
      if (state === 'closed') this.close();
      else this.#reportState();
    });
    this.#pc.onIceStateChange((native) => {
      const state = toIceState(native);
      if (state !== undefined) this.#iceStates.report(state);
    });

    const streamId = randomUUID();
    const kinds: MediaKind[] = [...(options.audio ? ['audio' as const] : []), ...(options.video ? ['video' as const] : [])];
    kinds.forEach((kind, index) => this.media.push(this.#addLeg(kind, String(index), streamId)));
    if (options.dataChannel !== undefined) this.dataChannel = this.openDataChannel(options.dataChannel);
  }

  async createOffer(): Promise<SessionDescription> {
    this.#pc.setLocalDescription('offer');
    const gathering = await waitForGathering(this.#pc, this.#gathered.promise, this.#options.gatherTimeoutMs);
    if (this.#closed) throw new Error('the client peer was closed while gathering candidates');
    if (gathering === 'timeout') this.#log.warn('ICE gathering timed out, offering the candidates so far');
    const local = this.#pc.localDescription();
    if (!local || local.type !== 'offer') throw new Error('libdatachannel produced no offer');
    // The offer goes out without our candidates; the server learns our address from our checks
    // (peer-reflexive). A server that has them checks us before we have its answer: libjuice
    // answers and keeps that pair, and applying the answer then connects ICE and DTLS inside
    // setRemoteDescription, before libdatachannel stores the answer's fingerprint, so the
    // handshake fails (libdatachannel PR #1612). With no pair before the answer, ICE can start
    // only from the answer's candidates, which we add after the description is stored.
    return { type: 'offer', sdp: splitCandidates(local.sdp).sdp };
  }

  async acceptAnswer(answer: SessionDescription): Promise<void> {
    if (answer.type !== 'answer') throw new Error(`expected an answer, got a description of type "${answer.type}"`);
    // Same as applying the answer whole: libdatachannel also adds an answer's candidates only
    // after it has stored the description. The start-up race is avoided in createOffer().
    const { sdp, candidates } = splitCandidates(answer.sdp);
    this.#pc.setRemoteDescription(sdp, 'answer');
    for (const { candidate, mid } of candidates) this.#pc.addRemoteCandidate(candidate, mid);
  }

  openDataChannel(label: string): ClientDataChannel {
    const channel = this.#pc.createDataChannel(label);
    this.#channels.push(channel);
    return wrapChannel(label, channel, this.#log);
  }

  onStateChange(listener: (state: PeerState) => void): void {
    this.#states.listen(listener);
  }

  onIceStateChange(listener: (state: IceState) => void): void {
    this.#iceStates.listen(listener);
  }

  close(): void {
    if (this.#closed) return;
    // libdatachannel sends no DTLS close_notify for media-only connections: a BYE per source
    // tells the server we are gone (RFC 3550 §6.6).
    for (const leg of this.media) leg.sendRtcp(buildBye(leg.ssrc));
    this.#closed = true;
    teardown({
      pc: this.#pc,
      channels: this.#channels.splice(0),
      tracks: this.#tracks.splice(0),
      gathered: this.#gathered,
      states: this.#states,
      iceStates: this.#iceStates,
      log: (err: unknown) => this.#log.debug({ err }, 'error while closing'),
    });
    peerClosed((err) => this.#log.warn({ err }, 'node-datachannel cleanup failed'));
  }

  /**
   * libdatachannel says `connected` before it opens the media tracks (it opens them right after,
   * on its own thread), so `connected` waits for every track: legs are then ready to send.
   */
  #reportState(): void {
    const state = this.#nativeState;
    if (state === 'connected' && this.#openTracks < this.#tracks.length) return;
    this.#states.report(state);
  }

  #addLeg(kind: MediaKind, mid: string, streamId: string): LibdatachannelMediaLeg {
    const ssrc = randomSsrc();
    const track = this.#pc.addTrack(buildMedia({
      kind,
      mid,
      direction: 'SendRecv',
      codecs: [{ payloadType: CLIENT_PAYLOAD_TYPES[kind], codec: CODECS[kind] }],
      codecLines: CODEC_LINES[kind],
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
    return {
      kind,
      mid,
      payloadType: CLIENT_PAYLOAD_TYPES[kind],
      ssrc,
      send,
      sendRtcp: send,
      onRtp: (listener) => void rtpListeners.push(listener),
      onRtcp: (listener) => void rtcpListeners.push(listener),
    };
  }
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
