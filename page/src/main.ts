/**
 * Wires the form to EchoSession runs. Query parameters pre-fill the form so a run can be
 * shared as a link: ?server=URL&mode=all|video|audio|data&codec=VP8&ice=URL&ice=URL&relay=1&autostart=1
 */
import { AudioMeter } from './audio-meter.js';
import { availableVideoCodecs, isVideoCodec } from './codecs.js';
import { iceServerFromUrl } from '../../src/net/ice-server.js';
import { EchoSession, type Mode, type SessionSnapshot } from './session.js';
import { render, resetHistory } from './view.js';

/** What tests read: the latest snapshot of the current run, replaced on every change. */
declare global {
  interface Window {
    __echo: SessionSnapshot | null;
    /** The current run's RTCPeerConnection, for devtools. */
    __echoPc: RTCPeerConnection | null;
  }
}

const form = document.getElementById('controls') as HTMLFormElement;
const urlInput = document.getElementById('server-url') as HTMLInputElement;
const codecSelect = document.getElementById('codec') as HTMLSelectElement;
const iceInput = document.getElementById('ice-servers') as HTMLTextAreaElement;
const relayOnly = document.getElementById('relay-only') as HTMLInputElement;
const networkDetails = document.getElementById('network') as HTMLDetailsElement;
const startButton = document.getElementById('start') as HTMLButtonElement;
const stopButton = document.getElementById('stop') as HTMLButtonElement;
const retryButton = document.getElementById('retry') as HTMLButtonElement;
const listen = document.getElementById('listen') as HTMLInputElement;
const sourceVideo = document.getElementById('source-video') as HTMLVideoElement;
const echoVideo = document.getElementById('echo-video') as HTMLVideoElement;

const levelMeter = document.getElementById('audio-level') as HTMLMeterElement;

let session: EchoSession | null = null;
let meter: { track: MediaStreamTrack; audio: AudioMeter; timer: ReturnType<typeof setInterval> } | null = null;
window.__echo = null;
window.__echoPc = null;

function setup(): void {
  const params = new URLSearchParams(location.search);
  urlInput.value = params.get('server') ?? new URL('offer', location.href).href;

  for (const codec of availableVideoCodecs()) codecSelect.add(new Option(codec, codec));
  const codec = params.get('codec');
  if (codec && isVideoCodec(codec.toUpperCase())) codecSelect.value = codec.toUpperCase();

  const mode = params.get('mode');
  const radio = document.querySelector<HTMLInputElement>(`input[name="mode"][value="${CSS.escape(mode ?? '')}"]`);
  if (radio) radio.checked = true;
  updateCodecEnabled();
  iceInput.value = params.getAll('ice').join('\n');
  relayOnly.checked = params.get('relay') === '1';
  networkDetails.open = iceInput.value !== '' || relayOnly.checked;
  for (const input of [iceInput, relayOnly]) input.addEventListener('input', () => iceServersOrRefuse());

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void start();
  });
  form.addEventListener('change', updateCodecEnabled);
  stopButton.addEventListener('click', () => session?.stop());
  retryButton.addEventListener('click', () => void start());
  listen.addEventListener('change', () => {
    echoVideo.muted = !listen.checked;
  });
  document.getElementById('copy-report')?.addEventListener('click', () => void copyReport());

  if (params.get('autostart') === '1') void start();
}

function selectedMode(): Mode {
  const checked = form.querySelector<HTMLInputElement>('input[name="mode"]:checked');
  return (checked?.value ?? 'all') as Mode;
}

function updateCodecEnabled(): void {
  const mode = selectedMode();
  codecSelect.disabled = mode === 'audio' || mode === 'data';
}

/** The ICE servers of the form, or null after marking the field invalid with the reason. */
function iceServersOrRefuse(): RTCIceServer[] | null {
  iceInput.setCustomValidity('');
  relayOnly.setCustomValidity('');
  const servers: RTCIceServer[] = [];
  for (const line of iceInput.value.split('\n').map((l) => l.trim()).filter(Boolean)) {
    try {
      servers.push(iceServerFromUrl(line));
    } catch (err) {
      iceInput.setCustomValidity((err as Error).message);
      return null;
    }
  }
  if (relayOnly.checked && !servers.some((s) => /^turns?:/.test(String(s.urls)))) {
    relayOnly.setCustomValidity('Relay only needs a TURN server above.');
    return null;
  }
  return servers;
}

async function start(): Promise<void> {
  const iceServers = iceServersOrRefuse();
  if (!iceServers) networkDetails.open = true;
  if (!iceServers || !form.reportValidity()) return;
  session?.stop();
  resetHistory();
  const mode = selectedMode();
  const codec = codecSelect.value;
  sourceVideo.srcObject = null;
  echoVideo.srcObject = null;
  session = new EchoSession(
    {
      url: urlInput.value.trim(),
      mode,
      codec: mode === 'all' || mode === 'video' ? (isVideoCodec(codec) ? codec : null) : null,
      iceServers,
      relayOnly: relayOnly.checked,
    },
    onChange,
  );
  await session.start();
}

function onChange(snapshot: SessionSnapshot, from: EchoSession): void {
  if (from !== session) return; // A stopped run finishing late must not overwrite the new one.
  window.__echo = snapshot;
  window.__echoPc = from.peerConnection;
  const running = !['idle', 'failed', 'stopped'].includes(snapshot.state);
  startButton.textContent = running ? 'Restart' : 'Start';
  stopButton.disabled = !running;
  retryButton.hidden = snapshot.state !== 'failed';
  if (from.sourceStream && sourceVideo.srcObject !== from.sourceStream) sourceVideo.srcObject = from.sourceStream;
  if (from.echoStream.getTracks().length > 0 && echoVideo.srcObject !== from.echoStream) {
    echoVideo.srcObject = from.echoStream;
    // Playing a remote stream needs no user gesture while muted; unmuting is the user's choice.
    void echoVideo.play().catch(() => undefined);
  }
  render(snapshot);
  followEchoedAudio(from, snapshot.state);
}

/** Runs the level meter on the echoed audio track while the run is live. */
function followEchoedAudio(from: EchoSession, state: SessionSnapshot['state']): void {
  const track = from.echoStream.getAudioTracks()[0];
  const live = track !== undefined && !['failed', 'stopped'].includes(state);
  if (meter && (!live || meter.track !== track)) {
    clearInterval(meter.timer);
    meter.audio.close();
    meter = null;
    levelMeter.value = 0;
  }
  if (live && !meter) {
    const audio = new AudioMeter(track);
    meter = { track, audio, timer: setInterval(() => (levelMeter.value = audio.level()), 100) };
  }
}

async function copyReport(): Promise<void> {
  const status = document.getElementById('copy-status');
  const report = JSON.stringify({ userAgent: navigator.userAgent, ...window.__echo }, null, 2);
  try {
    await navigator.clipboard.writeText(report);
    if (status) status.textContent = 'Copied.';
  } catch {
    // Clipboard needs a secure context; fall back to a download.
    const link = document.createElement('a');
    link.href = URL.createObjectURL(new Blob([report], { type: 'application/json' }));
    link.download = 'webrtc-echo-report.json';
    link.click();
    if (status) status.textContent = 'Downloaded.';
  }
}

setup();
