/**
 * The media we send: the camera and microphone when we may use them, otherwise a synthetic
 * stream (an animated canvas and a tone), so the echo can be tested on any machine.
 */

export type SourceOrigin = 'camera' | 'synthetic' | 'mixed';

export interface SourceMedia {
  readonly stream: MediaStream;
  readonly origin: SourceOrigin;
  /** Why we fell back to synthetic media, in plain words; undefined when we did not. */
  readonly fallbackReason?: string;
  stop(): void;
}

export async function openSource(want: { audio: boolean; video: boolean }): Promise<SourceMedia> {
  if (!navigator.mediaDevices?.getUserMedia) {
    return synthetic(want, 'this page is not in a secure context (https or localhost), so the browser offers no camera');
  }
  try {
    const stream = await navigator.mediaDevices.getUserMedia({
      audio: want.audio,
      video: want.video ? { width: { ideal: 640 }, height: { ideal: 360 }, frameRate: { ideal: 30 } } : false,
    });
    return { stream, origin: 'camera', stop: () => stopTracks(stream) };
  } catch (err) {
    return synthetic(want, explain(err));
  }
}

function explain(err: unknown): string {
  const name = err instanceof DOMException ? err.name : '';
  switch (name) {
    case 'NotAllowedError':
      return 'camera/microphone permission was denied';
    case 'NotFoundError':
      return 'no camera or microphone was found';
    case 'NotReadableError':
      return 'the camera or microphone is in use by another program';
    case 'OverconstrainedError':
      return 'the camera cannot deliver the requested format';
    default:
      return err instanceof Error ? err.message : String(err);
  }
}

function synthetic(want: { audio: boolean; video: boolean }, reason: string): SourceMedia {
  const stream = new MediaStream();
  const stops: Array<() => void> = [];
  if (want.video) {
    const video = animatedCanvas();
    stream.addTrack(video.track);
    stops.push(video.stop);
  }
  if (want.audio) {
    const audio = tone();
    stream.addTrack(audio.track);
    stops.push(audio.stop);
  }
  return {
    stream,
    origin: 'synthetic',
    fallbackReason: reason,
    stop: () => {
      stopTracks(stream);
      for (const stop of stops) stop();
    },
  };
}

/**
 * A 640×360 canvas that draws a moving bar and a running clock: the clock in the echoed
 * picture lags the one in the sent picture by the echo delay, visible at a glance.
 */
function animatedCanvas(): { track: MediaStreamTrack; stop(): void } {
  const canvas = document.createElement('canvas');
  canvas.width = 640;
  canvas.height = 360;
  const ctx = canvas.getContext('2d');
  const started = performance.now();
  const draw = (): void => {
    if (!ctx) return;
    const t = performance.now() - started;
    const hue = (t / 40) % 360;
    const gradient = ctx.createLinearGradient(0, 0, 640, 360);
    gradient.addColorStop(0, `hsl(${hue} 55% 22%)`);
    gradient.addColorStop(1, `hsl(${(hue + 80) % 360} 55% 14%)`);
    ctx.fillStyle = gradient;
    ctx.fillRect(0, 0, 640, 360);
    const x = ((t / 4) % 720) - 80;
    ctx.fillStyle = 'rgba(255,255,255,0.18)';
    ctx.fillRect(x, 0, 80, 360);
    ctx.fillStyle = '#fff';
    ctx.font = 'bold 64px ui-monospace, Menlo, Consolas, monospace';
    ctx.textAlign = 'center';
    ctx.fillText(`${(t / 1000).toFixed(2)} s`, 320, 200);
    ctx.font = '22px system-ui, sans-serif';
    ctx.fillText('synthetic video · webrtc-echo', 320, 250);
  };
  draw();
  // A timer, not requestAnimationFrame: rAF stops in background tabs and headless runs.
  const timer = setInterval(draw, 1000 / 30);
  const track = canvas.captureStream(30).getVideoTracks()[0];
  if (!track) throw new Error('canvas.captureStream() gave no video track');
  return { track, stop: () => clearInterval(timer) };
}

/** A quiet 440 Hz tone pulsing once a second, so the echoed audio level visibly moves. */
function tone(): { track: MediaStreamTrack; stop(): void } {
  const context = new AudioContext();
  const oscillator = context.createOscillator();
  oscillator.frequency.value = 440;
  // A 1 Hz square wave swings the gain between 0 and 0.15: half a second on, half off.
  const gain = context.createGain();
  gain.gain.value = 0.075;
  const pulse = context.createOscillator();
  pulse.type = 'square';
  pulse.frequency.value = 1;
  const depth = context.createGain();
  depth.gain.value = 0.075;
  pulse.connect(depth).connect(gain.gain);
  pulse.start();
  const destination = context.createMediaStreamDestination();
  oscillator.connect(gain).connect(destination);
  oscillator.start();
  const track = destination.stream.getAudioTracks()[0];
  if (!track) throw new Error('WebAudio gave no audio track');
  return {
    track,
    stop: () => {
      oscillator.stop();
      pulse.stop();
      void context.close();
    },
  };
}

function stopTracks(stream: MediaStream): void {
  for (const track of stream.getTracks()) track.stop();
}
