/**
 * One run of the Echo Test from the browser: open media, offer, wait for ICE gathering,
 * POST the offer, apply the answer, then watch the connection and the echo come back.
 * Knows nothing about the DOM; the view renders its snapshot whenever `onChange` fires.
 */
import { preferVideoCodec, type VideoCodec } from './codecs.js';
import { DataChannelCheck, type DataCheckResult } from './data-check.js';
import { EchoPageError, type FailureReason } from './errors.js';
import { openSource, type SourceMedia, type SourceOrigin } from './media.js';
import { iceGatheringComplete, onlyMdnsHostCandidates, postOffer } from './signaling.js';
import { StatsSampler, type Figures } from './stats.js';

export type Mode = 'all' | 'audio' | 'video' | 'data';

/**
 * idle → media → signaling → connecting → connected → echoing, and from any of them
 * to failed (with an error) or stopped (by the user).
 */
export type SessionState = 'idle' | 'media' | 'signaling' | 'connecting' | 'connected' | 'echoing' | 'failed' | 'stopped';

/** Milliseconds since Start for each step that has happened. */
export interface Timeline {
  media?: number;
  offer?: number;
  gathered?: number;
  answer?: number;
  iceConnected?: number;
  dtlsConnected?: number;
  channelOpen?: number;
  firstFrame?: number;
  firstAudio?: number;
  firstData?: number;
}

export interface SessionOptions {
  url: string;
  mode: Mode;
  /** null: let the browser and server pick. */
  codec: VideoCodec | null;
  /** STUN/TURN servers the user gave. Default none. */
  iceServers?: RTCIceServer[];
  /** Relay candidates only (iceTransportPolicy 'relay'). Default false. */
  relayOnly?: boolean;
  /** Bound on ICE gathering before the offer is sent anyway. Default 3000. */
  gatherTimeoutMs?: number;
  /** Bound on ICE connecting, and then on every expected echo arriving. Default 10000. */
  echoTimeoutMs?: number;
}

export interface SessionSnapshot {
  state: SessionState;
  mode: Mode;
  codec: VideoCodec | null;
  url: string;
  timeline: Timeline;
  stats: Figures | null;
  dataChannel: DataCheckResult | null;
  source: { origin: SourceOrigin; fallbackReason?: string } | null;
  ice: { gathering: string; connection: string; dtls: string; gatheringTimedOut: boolean };
  error: { reason: FailureReason; message: string; hint?: string } | null;
  /** Things that work but are off-spec or surprising, in plain words. */
  warnings: string[];
  offerSdp: string | null;
  answerSdp: string | null;
}

export class EchoSession {
  private readonly startedAt = performance.now();
  private readonly gatherTimeoutMs: number;
  private readonly echoTimeoutMs: number;
  private pc: RTCPeerConnection | null = null;
  private source: SourceMedia | null = null;
  private dataCheck: DataChannelCheck | null = null;
  private readonly sampler = new StatsSampler();
  private readonly timers: Array<ReturnType<typeof setTimeout>> = [];
  private finished = false;
  private readonly snap: SessionSnapshot;

  /** The echoed media, for the view to play. */
  readonly echoStream = new MediaStream();

  constructor(
    readonly options: SessionOptions,
    private readonly onChange: (snapshot: SessionSnapshot, session: EchoSession) => void,
  ) {
    this.gatherTimeoutMs = options.gatherTimeoutMs ?? 3000;
    this.echoTimeoutMs = options.echoTimeoutMs ?? 10_000;
    this.snap = {
      state: 'idle',
      mode: options.mode,
      codec: options.codec,
      url: options.url,
      timeline: {},
      stats: null,
      dataChannel: null,
      source: null,
      ice: { gathering: 'new', connection: 'new', dtls: 'new', gatheringTimedOut: false },
      error: null,
      warnings: [],
      offerSdp: null,
      answerSdp: null,
    };
  }

  get snapshot(): SessionSnapshot {
    return this.snap;
  }

  /** For people poking at the run in devtools (window.__echoPc). */
  get peerConnection(): RTCPeerConnection | null {
    return this.pc;
  }

  get sourceStream(): MediaStream | null {
    return this.source?.stream ?? null;
  }

  private get wantsAudio(): boolean {
    return this.options.mode === 'all' || this.options.mode === 'audio';
  }
  private get wantsVideo(): boolean {
    return this.options.mode === 'all' || this.options.mode === 'video';
  }
  private get wantsData(): boolean {
    return this.options.mode === 'all' || this.options.mode === 'data';
  }

  async start(): Promise<void> {
    try {
      await this.run();
    } catch (err) {
      this.fail(EchoPageError.internal(err));
    }
  }

  /** Idempotent: closes the connection, stops our media and timers; keeps the figures on screen. */
  stop(state: 'stopped' | 'failed' = 'stopped'): void {
    if (this.finished) return;
    this.finished = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.dataCheck?.stop();
    this.pc?.close();
    this.source?.stop();
    for (const track of this.echoStream.getTracks()) track.stop();
    this.set({ state });
  }

  private async run(): Promise<void> {
    if (this.wantsAudio || this.wantsVideo) {
      this.set({ state: 'media' });
      this.source = await openSource({ audio: this.wantsAudio, video: this.wantsVideo });
      if (this.finished) return this.source.stop();
      this.mark('media');
      this.set({ source: { origin: this.source.origin, ...(this.source.fallbackReason ? { fallbackReason: this.source.fallbackReason } : {}) } });
    }

    // Only the ICE servers the user gave (none by default): the Echo Test runs between reachable
    // peers, and the page must not send test traffic to third parties of its own accord.
    const pc = new RTCPeerConnection({
      iceServers: this.options.iceServers ?? [],
      iceTransportPolicy: this.options.relayOnly ? 'relay' : 'all',
      bundlePolicy: 'max-bundle',
    });
    this.pc = pc;
    this.watch(pc);

    const stream = this.source?.stream;
    const audioTrack = stream?.getAudioTracks()[0];
    const videoTrack = stream?.getVideoTracks()[0];
    if (audioTrack && stream) pc.addTransceiver(audioTrack, { direction: 'sendrecv', streams: [stream] });
    let videoTransceiver: RTCRtpTransceiver | undefined;
    if (videoTrack && stream) {
      videoTransceiver = pc.addTransceiver(videoTrack, { direction: 'sendrecv', streams: [stream] });
      preferVideoCodec(videoTransceiver, this.options.codec);
    }
    if (this.wantsData) {
      const channel = pc.createDataChannel('echo');
      channel.addEventListener('open', () => this.mark('channelOpen'));
      this.dataCheck = new DataChannelCheck(channel, {
        intervalMs: 1000,
        lostAfterMs: 5000,
        startedAt: this.startedAt,
        onChange: (result) => {
          if (result.firstEchoAt !== null && this.snap.timeline.firstData === undefined) this.mark('firstData', result.firstEchoAt);
          this.set({ dataChannel: { ...result } });
          this.checkEchoing();
        },
      });
    }

    this.set({ state: 'signaling' });
    await pc.setLocalDescription(await pc.createOffer());
    this.mark('offer');
    const gathering = await iceGatheringComplete(pc, this.gatherTimeoutMs);
    if (this.finished) return;
    this.mark('gathered');
    const offer = pc.localDescription;
    if (!offer) throw new Error('the browser produced no local description');
    this.set({ offerSdp: offer.sdp, ice: { ...this.snap.ice, gatheringTimedOut: gathering === 'timeout' } });

    const answer = await postOffer(this.options.url, offer);
    if (this.finished) return;
    this.mark('answer');
    this.set({ answerSdp: answer.sdp ?? null, state: 'connecting' });
    try {
      await pc.setRemoteDescription(answer);
    } catch (err) {
      throw EchoPageError.badAnswer(err instanceof Error ? err.message : String(err));
    }
    if (videoTransceiver && this.options.codec && rejected(videoTransceiver)) {
      throw EchoPageError.codecRejected(this.options.codec);
    }
    this.collectEchoTracks(pc);
    this.watchDtls(pc);

    this.after(this.echoTimeoutMs, () => {
      if (this.snap.timeline.iceConnected === undefined) {
        this.fail(EchoPageError.iceTimeout(this.echoTimeoutMs / 1000, onlyMdnsHostCandidates(offer.sdp)));
      }
    });
  }

  private watch(pc: RTCPeerConnection): void {
    pc.addEventListener('icegatheringstatechange', () => this.set({ ice: { ...this.snap.ice, gathering: pc.iceGatheringState } }));
    pc.addEventListener('iceconnectionstatechange', () => {
      const state = pc.iceConnectionState;
      this.set({ ice: { ...this.snap.ice, connection: state } });
      if ((state === 'connected' || state === 'completed') && this.snap.timeline.iceConnected === undefined) {
        this.mark('iceConnected');
        this.connected();
      }
      if (state === 'failed') this.fail(EchoPageError.iceFailed(onlyMdnsHostCandidates(this.snap.offerSdp ?? '')));
    });
    pc.addEventListener('connectionstatechange', () => {
      // Browsers without RTCDtlsTransport events still move connectionState once DTLS is up.
      if (pc.connectionState === 'connected' && this.snap.timeline.dtlsConnected === undefined) this.mark('dtlsConnected');
      if (pc.connectionState === 'failed' && this.snap.timeline.iceConnected !== undefined) this.fail(EchoPageError.dtlsFailed());
    });
    pc.addEventListener('track', (event) => this.addEchoTrack(event.track));
  }

  /**
   * Takes each receiver's track, not only those announced by `track` events: a server that
   * answers `a=recvonly` gets no `track` event, yet Chromium still plays what it sends back.
   * That answer is off-spec for an echo (RFC 8829 §5.3.1), so say so.
   */
  private collectEchoTracks(pc: RTCPeerConnection): void {
    for (const transceiver of pc.getTransceivers()) {
      const kind = transceiver.receiver.track.kind;
      if (transceiver.currentDirection === 'sendonly') {
        this.set({
          warnings: [
            ...this.snap.warnings,
            `The server answered ${kind} with a=recvonly, i.e. it promised not to send ${kind} back; an echo server should answer sendrecv.`,
          ],
        });
      }
      this.addEchoTrack(transceiver.receiver.track);
    }
  }

  private addEchoTrack(track: MediaStreamTrack): void {
    if (this.echoStream.getTrackById(track.id)) return;
    this.echoStream.addTrack(track);
    this.set({});
  }

  private watchDtls(pc: RTCPeerConnection): void {
    const transport = pc.getTransceivers()[0]?.sender.transport ?? pc.sctp?.transport ?? null;
    if (!transport) return;
    const update = (): void => {
      this.set({ ice: { ...this.snap.ice, dtls: transport.state } });
      if (transport.state === 'connected' && this.snap.timeline.dtlsConnected === undefined) this.mark('dtlsConnected');
      if (transport.state === 'failed') this.fail(EchoPageError.dtlsFailed());
    };
    transport.addEventListener('statechange', update);
    update();
  }

  /** ICE is up: sample figures every second, look for the first echo more often, bound the wait. */
  private connected(): void {
    this.set({ state: 'connected' });
    const sampleEverySecond = (): void => {
      void this.sample().finally(() => {
        if (!this.finished) this.after(1000, sampleEverySecond);
      });
    };
    sampleEverySecond();

    // Timeline precision: poll at 50 ms until the first frame and the first audio are in.
    const pollFirsts = (): void => {
      const t = this.snap.timeline;
      const waiting = (this.wantsVideo && t.firstFrame === undefined) || (this.wantsAudio && t.firstAudio === undefined);
      if (!waiting || this.finished) return;
      void this.sample(false).finally(() => this.after(50, pollFirsts));
    };
    pollFirsts();

    this.after(this.echoTimeoutMs, () => {
      const missing = this.missingEchoes();
      if (missing.length > 0) this.fail(EchoPageError.noEcho(this.echoTimeoutMs / 1000, missing));
    });
  }

  private async sample(publish = true): Promise<void> {
    const pc = this.pc;
    if (!pc || this.finished) return;
    // A throwaway sampler for the fast polls, so the 1 s bitrate window stays 1 s.
    const sampler = publish ? this.sampler : new StatsSampler();
    const figures = await sampler.sample(pc, performance.now() - this.startedAt);
    if (this.finished) return;
    if ((figures.video?.framesDecoded ?? 0) > 0 && this.snap.timeline.firstFrame === undefined) this.mark('firstFrame');
    if ((figures.audio?.packetsReceived ?? 0) > 0 && this.snap.timeline.firstAudio === undefined) this.mark('firstAudio');
    if (publish) this.set({ stats: figures });
    this.checkEchoing();
  }

  private missingEchoes(): string[] {
    const t = this.snap.timeline;
    const missing: string[] = [];
    if (this.wantsVideo && t.firstFrame === undefined) missing.push('video');
    if (this.wantsAudio && t.firstAudio === undefined) missing.push('audio');
    if (this.wantsData && t.firstData === undefined) missing.push('data channel messages');
    return missing;
  }

  private checkEchoing(): void {
    if (this.snap.state === 'connected' && this.missingEchoes().length === 0) this.set({ state: 'echoing' });
  }

  private fail(error: EchoPageError): void {
    if (this.finished) return;
    this.snap.error = { reason: error.reason, message: error.message, ...(error.hint ? { hint: error.hint } : {}) };
    this.stop('failed');
  }

  private mark(step: keyof Timeline, at = performance.now() - this.startedAt): void {
    this.snap.timeline[step] = Math.round(at);
    this.set({});
  }

  private after(ms: number, fn: () => void): void {
    this.timers.push(setTimeout(fn, ms));
  }

  private set(patch: Partial<SessionSnapshot>): void {
    Object.assign(this.snap, patch);
    this.onChange(this.snap, this);
  }
}

/** The server answered the m-line with port 0 or `inactive`: it will not carry this media. */
function rejected(transceiver: RTCRtpTransceiver): boolean {
  return transceiver.currentDirection === 'inactive' || transceiver.currentDirection === 'stopped' || transceiver.mid === null;
}
