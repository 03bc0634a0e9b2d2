/**
 * The libwebrtc client side: offers sendrecv audio and video with generated sources (so the offer
 * carries real tracks and libwebrtc really sends) and an optional data channel.
 *
 * Limitation: libwebrtc has no raw RTP API. The media legs cannot send our packets (send()
 * throws) and never report received packets (onRtp listeners are never called); what was sent
 * and echoed is visible through mediaStats() instead, from getStats().
 */
import sdpTransform from 'sdp-transform';
import {
  CLIENT_PAYLOAD_TYPES, type ClientDataChannel, type ClientPeer, type ClientPeerOptions, type IceState,
  type MediaKind, type MediaLeg, type PeerState, type SessionDescription,
} from './engine.js';
import { PEER_CONFIG, StateReporter, WrtcPeerConnection, safely, sumRtpStats, toMessage, waitForGathering } from './libwebrtc-common.js';
import { guardProcessExit } from './libwebrtc-exit-guard.js';
import { createSource, type GeneratedSource } from './libwebrtc-sources.js';

export interface LibwebrtcMediaStats {
  kind: MediaKind;
  packetsSent: number;
  bytesSent: number;
  /** The echo, as libwebrtc received it. */
  packetsReceived: number;
  bytesReceived: number;
}

export interface LibwebrtcClientPeer extends ClientPeer {
  /** Opens another data channel, also after connection (in-band, no renegotiation needed). */
  openDataChannel(label: string): ClientDataChannel;
  /** RTP sent and received per leg, from getStats(): the only view of media this engine has. */
  mediaStats(): Promise<LibwebrtcMediaStats[]>;
}

export function createLibwebrtcClientPeer(options: ClientPeerOptions): LibwebrtcClientPeer {
  return new LibwebrtcClient(options);
}

/** What the libwebrtc offer uses for each kind; the payload type is read back from the offer. */
const CODEC_NAMES: Record<MediaKind, string> = { audio: 'opus', video: 'VP8' };

class LibwebrtcClient implements LibwebrtcClientPeer {
  readonly media: UnsupportedRtpLeg[] = [];
  readonly dataChannel: ClientDataChannel | undefined;
  readonly #options: ClientPeerOptions;
  readonly #log: ClientPeerOptions['log'];
  readonly #pc: RTCPeerConnection;
  readonly #reporter: StateReporter;
  readonly #sources: GeneratedSource[] = [];
  readonly #channels: RTCDataChannel[] = [];
  #closed = false;

  constructor(options: ClientPeerOptions) {
    this.#options = options;
    this.#log = options.log.child({ engine: 'libwebrtc', role: 'client' });
    this.#reporter = new StateReporter((err) => this.#log.error({ err }, 'state listener threw'));
    guardProcessExit();
    this.#pc = new WrtcPeerConnection(PEER_CONFIG);
    this.#reporter.follow(this.#pc, () => this.close());

    const kinds: MediaKind[] = [...(options.audio ? ['audio' as const] : []), ...(options.video ? ['video' as const] : [])];
    for (const kind of kinds) {
      const source = createSource(kind);
      this.#sources.push(source);
      const transceiver = this.#pc.addTransceiver(source.track, { direction: 'sendrecv' });
      this.media.push(new UnsupportedRtpLeg(kind, transceiver));
    }
    if (options.dataChannel !== undefined) this.dataChannel = this.openDataChannel(options.dataChannel);
  }

  async createOffer(): Promise<SessionDescription> {
    await this.#pc.setLocalDescription(await this.#pc.createOffer());
    const gathering = await waitForGathering(this.#pc, this.#options.gatherTimeoutMs);
    if (this.#closed) throw new Error('the client peer was closed while gathering candidates');
    if (gathering === 'timeout') this.#log.warn('ICE gathering timed out, offering the candidates so far');
    const sdp = this.#pc.localDescription?.sdp;
    if (!sdp) throw new Error('libwebrtc produced no offer');
    for (const leg of this.media) leg.readOffer(sdp);
    return { type: 'offer', sdp };
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

  async mediaStats(): Promise<LibwebrtcMediaStats[]> {
    if (this.#closed) return this.media.map((leg) => ({ kind: leg.kind, packetsSent: 0, bytesSent: 0, packetsReceived: 0, bytesReceived: 0 }));
    const report = await this.#pc.getStats();
    return this.media.map((leg) => {
      const { packetsSent, bytesSent, packetsReceived, bytesReceived } = sumRtpStats(report, leg.kind);
      return { kind: leg.kind, packetsSent, bytesSent, packetsReceived, bytesReceived };
    });
  }

  onStateChange(listener: (state: PeerState) => void): void {
    this.#reporter.onState(listener);
  }

  onIceStateChange(listener: (state: IceState) => void): void {
    this.#reporter.onIce(listener);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const logError = (err: unknown) => this.#log.debug({ err }, 'error while closing');
    for (const source of this.#sources) safely(() => source.stop(), logError);
    for (const channel of this.#channels) {
      channel.onopen = null;
      channel.onmessage = null;
      safely(() => channel.close(), logError);
    }
    this.#channels.length = 0;
    safely(() => this.#pc.close(), logError);
    this.#reporter.close();
  }
}

/**
 * A media section libwebrtc feeds from its own encoder. It is a MediaLeg so that offers with
 * media work (test 0), but it cannot carry our RTP: see the file comment.
 */
class UnsupportedRtpLeg implements MediaLeg {
  payloadType: number;
  /** The primary SSRC libwebrtc declared for this section in the offer; 0 before the offer. */
  ssrc = 0;

  constructor(
    readonly kind: MediaKind,
    private readonly transceiver: RTCRtpTransceiver,
  ) {
    this.payloadType = CLIENT_PAYLOAD_TYPES[kind];
  }

  send(_packet: Buffer): void {
    throw new Error(
      `libwebrtc engine: raw RTP media legs are not supported (${this.kind}); ` +
        'libwebrtc sends its own encoding of a generated source, see mediaStats()',
    );
  }

  /** Never called: libwebrtc does not hand out received RTP. */
  onRtp(_listener: (packet: Buffer) => void): void {}

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
