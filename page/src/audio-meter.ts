/**
 * Level of the echoed audio, measured with WebAudio. Chromium's inbound-rtp audioLevel stays 0
 * while the echo plays muted (it is measured at playout), and we mute it by default to
 * avoid feedback between speaker and microphone.
 */
export class AudioMeter {
  private readonly context = new AudioContext();
  private readonly analyser = this.context.createAnalyser();
  private readonly samples: Float32Array<ArrayBuffer>;

  constructor(track: MediaStreamTrack) {
    this.analyser.fftSize = 1024;
    this.samples = new Float32Array(this.analyser.fftSize);
    this.context.createMediaStreamSource(new MediaStream([track])).connect(this.analyser);
    // Started without a click (?autostart=1) the context may begin suspended; try anyway.
    void this.context.resume().catch(() => undefined);
  }

  /** Peak of the last ~20 ms, 0..1. */
  level(): number {
    this.analyser.getFloatTimeDomainData(this.samples);
    let peak = 0;
    for (const sample of this.samples) peak = Math.max(peak, Math.abs(sample));
    return Math.min(1, peak);
  }

  close(): void {
    void this.context.close().catch(() => undefined);
  }
}
