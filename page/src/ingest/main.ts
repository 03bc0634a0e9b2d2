/**
 * The WHIP/WHEP page: the form to IngestRun runs, their snapshot to the cards. Query parameters
 * fill the form: ?mode=both|publish|watch&whip=URL&whep=URL&autostart=1.
 */
import { IngestRun, type IngestSnapshot, type PeerView } from './runs.js';

declare global {
  interface Window {
    /** The latest snapshot of the current run, for tests. */
    __ingest: IngestSnapshot | null;
  }
}

type Mode = 'both' | 'publish' | 'watch';

const form = document.getElementById('controls') as HTMLFormElement;
const whipInput = document.getElementById('whip-url') as HTMLInputElement;
const whepInput = document.getElementById('whep-url') as HTMLInputElement;
const startButton = document.getElementById('start') as HTMLButtonElement;
const stopButton = document.getElementById('stop') as HTMLButtonElement;
const sourceVideo = document.getElementById('source-video') as HTMLVideoElement;
const watchVideo = document.getElementById('watch-video') as HTMLVideoElement;
const verdict = document.getElementById('verdict') as HTMLElement;
const problem = document.getElementById('problem') as HTMLElement;

let run: IngestRun | null = null;
window.__ingest = null;

const VERDICTS: Record<IngestSnapshot['state'], string> = {
  idle: 'Not started',
  publishing: 'Publishing…',
  watching: 'Watching…',
  live: 'Live',
  failed: 'Failed',
  stopped: 'Stopped',
};

function selectedMode(): Mode {
  return ((form.querySelector<HTMLInputElement>('input[name="mode"]:checked')?.value ?? 'both') as Mode);
}

function setup(): void {
  const params = new URLSearchParams(location.search);
  whipInput.value = params.get('whip') ?? new URL('whip', location.href).href;
  whepInput.value = params.get('whep') ?? `${new URL('whep/', location.href).href}{id}`;
  const mode = params.get('mode');
  const radio = document.querySelector<HTMLInputElement>(`input[name="mode"][value="${CSS.escape(mode ?? '')}"]`);
  if (radio) radio.checked = true;
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void start();
  });
  stopButton.addEventListener('click', () => void run?.stop());
  if (params.get('autostart') === '1') void start();
}

async function start(): Promise<void> {
  await run?.stop();
  const mode = selectedMode();
  const whep = whepInput.value.trim();
  if (mode === 'watch' && whep.includes('{id}')) {
    whepInput.setCustomValidity('Watch alone needs a WHEP URL without {id}: the id of a WHIP session that runs.');
    form.reportValidity();
    return;
  }
  whepInput.setCustomValidity('');
  sourceVideo.srcObject = null;
  watchVideo.srcObject = null;
  run = new IngestRun({ whip: mode === 'watch' ? null : whipInput.value.trim(), whep: mode === 'publish' ? null : whep, iceServers: [] }, render);
  await run.start();
}

function render(from: IngestRun): void {
  if (from !== run) return;
  const s = from.snapshot;
  window.__ingest = JSON.parse(JSON.stringify(s)) as IngestSnapshot;
  document.body.dataset.state = s.state;
  verdict.dataset.state = s.state === 'live' ? 'echoing' : s.state;
  verdict.textContent = VERDICTS[s.state];
  const running = ['publishing', 'watching', 'live'].includes(s.state);
  startButton.textContent = running ? 'Restart' : 'Start';
  stopButton.disabled = !running;
  problem.hidden = s.error === null;
  (document.getElementById('problem-message') as HTMLElement).textContent = s.error ?? '';
  if (from.source && sourceVideo.srcObject !== from.source.stream) sourceVideo.srcObject = from.source.stream;
  if (from.watchedStream.getTracks().length > 0 && watchVideo.srcObject !== from.watchedStream) {
    watchVideo.srcObject = from.watchedStream;
    void watchVideo.play().catch(() => undefined);
  }
  show('publish', s.publish);
  show('watch', s.watch);
}

function show(prefix: 'publish' | 'watch', view: PeerView | null): void {
  const set = (name: string, value: string) => {
    const element = document.querySelector<HTMLElement>(`[data-figure="${prefix}-${name}"]`);
    if (element) element.textContent = value;
  };
  if (!view) {
    for (const name of ['status', 'location', 'etag', 'ice', 'patches', 'connection', 'packets', 'frames', 'audio', 'deleted']) set(name, '—');
    return;
  }
  set('status', view.status === null ? '…' : String(view.status));
  set('location', view.location ?? '—');
  set('etag', view.etag ?? '—');
  set('ice', view.iceServers.length ? view.iceServers.map((s) => s.urls).join(', ') : 'none');
  set('patches', view.patches.length ? view.patches.join(', ') : '—');
  set('connection', view.connection);
  set('packets', String(view.packetsSent));
  set('frames', String(view.framesDecoded));
  set('audio', String(view.audioPackets));
  set('deleted', view.deleted === null ? '—' : String(view.deleted));
}

setup();
