/**
 * Generated media for the libwebrtc client: libwebrtc only sends what it encodes itself from a
 * track, so the client's sendrecv sections get a moving I420 pattern and a tone through wrtc's
 * nonstandard RTCVideoSource / RTCAudioSource, fed in real time.
 */
import { nonstandard } from './addon.js';

export interface GeneratedSource {
  readonly track: MediaStreamTrack;
  /** Starts feeding frames. Idempotent. */
  start(): void;
  /** Stops feeding and ends the track. Idempotent, never throws. */
  stop(): void;
}

const VIDEO = { width: 320, height: 240, fps: 15 } as const;
const AUDIO = { sampleRate: 48000, chunkMs: 10, toneHz: 440, amplitude: 3000 } as const;
/** Timers drift; audio is fed by wall clock, at most this many 10 ms chunks per wake-up. */
const MAX_AUDIO_CATCH_UP = 10;

export function createSource(kind: 'audio' | 'video'): GeneratedSource {
  return kind === 'video' ? new MovingPattern() : new Tone();
}

/** A source fed by a timer from start() until stop(), which also ends its track. */
abstract class TimedSource implements GeneratedSource {
  abstract readonly track: MediaStreamTrack;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(private readonly intervalMs: number) {}

  start(): void {
    if (this.#timer !== undefined || this.#stopped) return;
    this.started();
    this.#timer = setInterval(() => this.feed(), this.intervalMs);
  }

  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    clearInterval(this.#timer);
    try {
      this.track.stop();
    } catch {
      // already ended
    }
  }

  protected started(): void {}
  protected abstract feed(): void;
}

/** A diagonal luma ramp that moves every frame, so each frame differs from the last. */
class MovingPattern extends TimedSource {
  readonly #source = new nonstandard.RTCVideoSource();
  readonly track = this.#source.createTrack();
  readonly #frame = new Uint8Array(VIDEO.width * VIDEO.height * 1.5).fill(128); // grey chroma
  #count = 0;

  constructor() {
    super(1000 / VIDEO.fps);
  }

  protected feed(): void {
    const { width, height } = VIDEO;
    const shift = (this.#count++ * 4) & 0xff;
    for (let y = 0; y < height; y++) {
      const row = y * width;
      for (let x = 0; x < width; x++) this.#frame[row + x] = (x + y + shift) & 0xff;
    }
    this.#source.onFrame({ width, height, data: this.#frame });
  }
}

/** A sine tone, mono 16-bit, in the 10 ms chunks RTCAudioSource expects. */
class Tone extends TimedSource {
  readonly #source = new nonstandard.RTCAudioSource();
  readonly track = this.#source.createTrack();
  readonly #samplesPerChunk = (AUDIO.sampleRate * AUDIO.chunkMs) / 1000;
  #startedAt = 0;
  #chunks = 0;

  constructor() {
    super(2 * AUDIO.chunkMs);
  }

  protected override started(): void {
    this.#startedAt = performance.now();
  }

  protected feed(): void {
    const due = Math.floor((performance.now() - this.#startedAt) / AUDIO.chunkMs);
    if (due - this.#chunks > MAX_AUDIO_CATCH_UP) this.#chunks = due - MAX_AUDIO_CATCH_UP; // starved: skip ahead
    while (this.#chunks < due) {
      const samples = new Int16Array(this.#samplesPerChunk);
      const first = this.#chunks * this.#samplesPerChunk;
      for (let i = 0; i < samples.length; i++) {
        samples[i] = Math.round(AUDIO.amplitude * Math.sin((2 * Math.PI * AUDIO.toneHz * (first + i)) / AUDIO.sampleRate));
      }
      this.#source.onData({ samples, sampleRate: AUDIO.sampleRate, bitsPerSample: 16, channelCount: 1, numberOfFrames: samples.length });
      this.#chunks++;
    }
  }
}
