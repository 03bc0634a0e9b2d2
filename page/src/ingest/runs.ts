/**
 * The page's two runs: publish (WHIP: camera and microphone, or a synthetic stream, sendonly;
 * then, by default, a viewer of our own at the server's WHEP endpoint, so the stream is seen
 * coming back) and watch (WHEP only: any URL, a publisher somewhere else). DOM-free: main.ts
 * renders the snapshot.
 */
import { openSource, type SourceMedia } from '../media.js';
import { HttpError, WhipResource, type ResourceFacts } from './resource.js';

export type IngestState = 'idle' | 'publishing' | 'watching' | 'live' | 'failed' | 'stopped';

/** One peer connection and its resource, as the page shows them. */
export interface PeerView extends ResourceFacts {
  connection: RTCPeerConnectionState | 'new';
  /** Publisher: RTP packets sent. Viewer: video frames decoded, audio packets received. */
  packetsSent: number;
  framesDecoded: number;
  audioPackets: number;
}

export interface IngestSnapshot {
  state: IngestState;
  publish: PeerView | null;
  watch: PeerView | null;
  error: string | null;
}

interface Side {
  pc: RTCPeerConnection;
  resource: WhipResource | null;
  view: PeerView;
}

export interface IngestOptions {
  /** Publish to this WHIP endpoint; null: watch only. */
  whip: string | null;
  /** Watch at this WHEP URL (`{id}`: the WHIP session's id); null: do not watch. */
  whep: string | null;
  iceServers: RTCIceServer[];
}

export class IngestRun {
  readonly snapshot: IngestSnapshot = { state: 'idle', publish: null, watch: null, error: null };
  /** What comes back by WHEP, for the page to play. */
  readonly watchedStream = new MediaStream();
  source: SourceMedia | null = null;
  #publisher: Side | null = null;
  #viewer: Side | null = null;
  #timer: ReturnType<typeof setInterval> | undefined;
  #stopped = false;

  constructor(
    readonly options: IngestOptions,
    private readonly onChange: (run: IngestRun) => void,
  ) {}

  async start(): Promise<void> {
    this.#timer = setInterval(() => void this.#sample(), 1000);
    try {
      if (this.options.whip) {
        this.#set('publishing');
        this.source = await openSource({ audio: true, video: true });
        this.#publisher = this.#side('publish');
        for (const track of this.source.stream.getTracks()) this.#publisher.pc.addTransceiver(track, { direction: 'sendonly', streams: [this.source.stream] });
        this.#publisher.resource = await WhipResource.open(this.options.whip, this.#publisher.pc, () => this.#refresh());
        await connected(this.#publisher.pc);
      }
      if (this.options.whep) {
        this.#set('watching');
        const id = this.#publisher?.resource?.facts.location?.split('/').filter(Boolean).pop() ?? '';
        const url = new URL(this.options.whep.replaceAll('{id}', encodeURIComponent(id)), location.href).toString();
        this.#viewer = this.#side('watch');
        this.#viewer.pc.addTransceiver('audio', { direction: 'recvonly' });
        this.#viewer.pc.addTransceiver('video', { direction: 'recvonly' });
        this.#viewer.pc.addEventListener('track', (event) => this.watchedStream.addTrack(event.track));
        this.#viewer.resource = await WhipResource.open(url, this.#viewer.pc, () => this.#refresh());
        await connected(this.#viewer.pc);
      }
      if (!this.#stopped) this.#set('live');
    } catch (err) {
      if (this.#stopped) return;
      this.snapshot.error = err instanceof HttpError || err instanceof Error ? err.message : String(err);
      this.#set('failed');
      await this.#end();
    }
  }

  /** DELETE both resources (the viewer first), close both peers. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    await this.#end();
    if (this.snapshot.state !== 'failed') this.#set('stopped');
  }

  async #end(): Promise<void> {
    clearInterval(this.#timer);
    await this.#sample();
    for (const side of [this.#viewer, this.#publisher]) {
      await side?.resource?.close();
      side?.pc.close();
    }
    this.source?.stop();
    this.#refresh();
  }

  #side(which: 'publish' | 'watch'): Side {
    const pc = new RTCPeerConnection({ iceServers: this.options.iceServers, bundlePolicy: 'max-bundle' });
    const view: PeerView = { endpoint: '', status: null, location: null, etag: null, iceServers: [], patches: [], deleted: null, connection: 'new', packetsSent: 0, framesDecoded: 0, audioPackets: 0 };
    const side: Side = { pc, resource: null, view };
    this.snapshot[which] = view;
    pc.addEventListener('connectionstatechange', () => {
      view.connection = pc.connectionState;
      this.#refresh();
    });
    return side;
  }

  async #sample(): Promise<void> {
    for (const side of [this.#publisher, this.#viewer]) {
      if (!side || side.pc.connectionState === 'closed') continue;
      const stats = await side.pc.getStats();
      let sent = 0;
      stats.forEach((report: { type: string; kind?: string; packetsSent?: number; framesDecoded?: number; packetsReceived?: number }) => {
        if (report.type === 'outbound-rtp') sent += report.packetsSent ?? 0;
        if (report.type === 'inbound-rtp' && report.kind === 'video') side.view.framesDecoded = report.framesDecoded ?? 0;
        if (report.type === 'inbound-rtp' && report.kind === 'audio') side.view.audioPackets = report.packetsReceived ?? 0;
      });
      side.view.packetsSent = sent;
    }
    this.#refresh();
  }

  #refresh(): void {
    for (const side of [this.#publisher, this.#viewer]) if (side?.resource) Object.assign(side.view, side.resource.facts);
    this.onChange(this);
  }

  #set(state: IngestState): void {
    this.snapshot.state = state;
    this.#refresh();
  }
}

/** Resolves once `pc` connects; rejects if it fails or closes first, or after 15 s. */
function connected(pc: RTCPeerConnection): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('ICE and DTLS did not connect within 15 s')), 15_000);
    const check = () => {
      if (pc.connectionState === 'connected') {
        clearTimeout(timer);
        resolve();
      } else if (pc.connectionState === 'failed' || pc.connectionState === 'closed') {
        clearTimeout(timer);
        reject(new Error(`the connection ${pc.connectionState}`));
      }
    };
    pc.addEventListener('connectionstatechange', check);
    check();
  });
}
