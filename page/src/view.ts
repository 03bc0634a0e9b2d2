/** Renders a session snapshot into the page. Pure DOM writes; no WebRTC here. */
import { summarizeCandidates } from './candidates.js';
import type { Figures } from './stats.js';
import type { Mode, SessionSnapshot, SessionState, Timeline } from './session.js';

const byId = <T extends HTMLElement>(id: string): T => {
  const element = document.getElementById(id);
  if (!element) throw new Error(`page is missing #${id}`);
  return element as T;
};

const VERDICT: Record<SessionState, string> = {
  idle: 'Not started',
  media: 'Opening camera and microphone…',
  signaling: 'Sending offer…',
  connecting: 'Connecting…',
  connected: 'Connected, waiting for the echo…',
  echoing: 'Echo working',
  failed: 'Failed',
  stopped: 'Stopped',
};

interface Step {
  key: keyof Timeline;
  label: string;
  modes: Mode[];
}

const STEPS: Step[] = [
  { key: 'media', label: 'Media ready', modes: ['all', 'audio', 'video'] },
  { key: 'gathered', label: 'ICE gathered', modes: ['all', 'audio', 'video', 'data'] },
  { key: 'answer', label: 'Answer received', modes: ['all', 'audio', 'video', 'data'] },
  { key: 'iceConnected', label: 'ICE connected', modes: ['all', 'audio', 'video', 'data'] },
  { key: 'dtlsConnected', label: 'DTLS connected', modes: ['all', 'audio', 'video', 'data'] },
  { key: 'channelOpen', label: 'Data channel open', modes: ['all', 'data'] },
  { key: 'firstFrame', label: 'First echoed frame', modes: ['all', 'video'] },
  { key: 'firstAudio', label: 'First echoed audio', modes: ['all', 'audio'] },
  { key: 'firstData', label: 'First data echo', modes: ['all', 'data'] },
];

const bitrateHistory: number[] = [];

export function render(s: SessionSnapshot): void {
  document.body.dataset.state = s.state;
  document.body.dataset.mode = s.mode;
  const verdict = byId('verdict');
  verdict.dataset.state = s.state;
  verdict.textContent = s.state === 'echoing' ? `${VERDICT.echoing}: ${echoedKinds(s)}` : VERDICT[s.state];

  renderProblem(s);
  renderNotice(s);
  renderTimeline(s);
  renderFigures(s.stats, s);
  renderData(s);
  setFigure('offer-candidates', summarizeCandidates(s.offerSdp));
  setFigure('answer-candidates', summarizeCandidates(s.answerSdp));
  byId('offer-sdp').textContent = s.offerSdp ?? '—';
  byId('answer-sdp').textContent = s.answerSdp ?? '—';
  byId('source-label').textContent = s.source ? (s.source.origin === 'camera' ? 'camera' : 'synthetic') : s.mode === 'data' ? 'no media' : '—';
  byId('echo-label').textContent = s.stats?.video?.resolution ?? (s.state === 'echoing' || s.state === 'connected' ? 'live' : '—');
}

export function resetHistory(): void {
  bitrateHistory.length = 0;
}

function echoedKinds(s: SessionSnapshot): string {
  const kinds = { all: 'video, audio and data', video: 'video', audio: 'audio', data: 'data channel' } as const;
  return kinds[s.mode];
}

function renderProblem(s: SessionSnapshot): void {
  const problem = byId('problem');
  problem.hidden = !s.error;
  problem.dataset.reason = s.error?.reason ?? '';
  byId('problem-message').textContent = s.error?.message ?? '';
  byId('problem-hint').textContent = s.error?.hint ?? '';
}

function renderNotice(s: SessionSnapshot): void {
  const notice = byId('notice');
  const parts: string[] = [];
  if (s.source?.fallbackReason) {
    parts.push(`Sending synthetic video and a test tone instead of the camera: ${s.source.fallbackReason}.`);
  }
  parts.push(...s.warnings);
  if (s.ice.gatheringTimedOut) parts.push('ICE gathering did not finish in time; the offer went out with the candidates found so far.');
  if (s.dataChannel?.status === 'fail' && s.dataChannel.lastProblem) parts.push(`Data channel: ${s.dataChannel.lastProblem}.`);
  notice.hidden = parts.length === 0;
  notice.textContent = parts.join(' ');
}

function renderTimeline(s: SessionSnapshot): void {
  const list = byId('timeline');
  const steps = STEPS.filter((step) => step.modes.includes(s.mode));
  const end = Math.max(1, ...steps.map((step) => s.timeline[step.key] ?? 0));
  list.replaceChildren(
    ...steps.map((step) => {
      const at = s.timeline[step.key];
      const item = document.createElement('li');
      item.dataset.step = step.key;
      item.dataset.done = String(at !== undefined);
      const label = document.createElement('span');
      label.className = 'step';
      label.textContent = step.label;
      const bar = document.createElement('span');
      bar.className = 'bar';
      bar.style.setProperty('--w', `${at === undefined ? 0 : Math.max(1, (at / end) * 100)}%`);
      const value = document.createElement('span');
      value.className = 'ms';
      value.textContent = at === undefined ? (s.state === 'failed' || s.state === 'stopped' ? '—' : '…') : `${at.toLocaleString('en-US')} ms`;
      item.append(label, bar, value);
      return item;
    }),
  );
}

function renderFigures(f: Figures | null, s: SessionSnapshot): void {
  setFigure('rtt', ms(f?.rttMs));
  setFigure('send', kbps(f?.sendKbps));
  setFigure('recv', kbps(f?.recvKbps));
  setFigure('ice', s.ice.connection, s.ice.connection);
  setFigure('dtls', s.ice.dtls, s.ice.dtls);
  setFigure('pair', f?.pair ?? '—');

  const v = f?.video;
  setFigure('video-codec', v?.codec ?? '—');
  setFigure('video-frames', v ? count(v.framesDecoded) : '—');
  setFigure('video-fps', v?.framesPerSecond != null ? `${v.framesPerSecond.toFixed(0)} fps` : '—');
  setFigure('video-bitrate', v ? kbpsPair(v.sendKbps, v.recvKbps) : '—');
  setFigure('video-lost', v ? count(v.packetsLost) : '—');

  const a = f?.audio;
  setFigure('audio-codec', a?.codec ?? '—');
  setFigure('audio-packets', a ? count(a.packetsReceived) : '—');
  setFigure('audio-bitrate', a ? kbpsPair(a.sendKbps, a.recvKbps) : '—');
  setFigure('audio-lost', a ? count(a.packetsLost) : '—');

  if (f && f.recvKbps !== null && bitrateHistory[bitrateHistory.length - 1] !== f.at) {
    bitrateHistory.push(f.recvKbps);
    if (bitrateHistory.length > 60) bitrateHistory.shift();
    drawSpark(bitrateHistory);
  }
}

function renderData(s: SessionSnapshot): void {
  const d = s.dataChannel;
  const status = d ? { waiting: 'waiting…', pass: 'pass ✓', fail: 'fail ✗' }[d.status] : '—';
  setFigure('data-status', status, d?.status);
  setFigure('data-rtt', ms(d?.lastRttMs));
  setFigure('data-count', d ? `${count(d.echoed)} / ${count(d.sent)}` : '—');
  setFigure('data-failed', d ? count(d.failed) : '—');
}

function setFigure(name: string, text: string, status?: string): void {
  const element = document.querySelector<HTMLElement>(`[data-figure="${name}"]`);
  if (!element) return;
  element.textContent = text;
  if (status !== undefined) element.dataset.status = status;
}

/** Received bitrate over the last minute, as one SVG polyline. */
function drawSpark(values: number[]): void {
  const svg = byId('spark-bitrate');
  const max = Math.max(1, ...values);
  const step = values.length > 1 ? 120 / (values.length - 1) : 0;
  const points = values.map((v, i) => `${(i * step).toFixed(1)},${(23 - (v / max) * 22).toFixed(1)}`).join(' ');
  svg.innerHTML = `<title>Received bitrate, last ${values.length} s</title><polyline points="${points}" />`;
}

function ms(value: number | null | undefined): string {
  if (value == null) return '—';
  return value < 10 ? `${value.toFixed(1)} ms` : `${Math.round(value).toLocaleString('en-US')} ms`;
}

function kbps(value: number | null | undefined): string {
  if (value == null) return '—';
  return value >= 1000 ? `${(value / 1000).toFixed(2)} Mbit/s` : `${value.toFixed(0)} kbit/s`;
}

/** "218 / 217 kbit/s": one unit for both directions so the pair reads at a glance. */
function kbpsPair(out: number | null, back: number | null): string {
  const mega = Math.max(out ?? 0, back ?? 0) >= 10_000;
  const show = (v: number | null): string => (v == null ? '—' : mega ? (v / 1000).toFixed(1) : v.toFixed(0));
  return `${show(out)} / ${show(back)} ${mega ? 'Mbit/s' : 'kbit/s'}`;
}

function count(value: number | undefined): string {
  return value === undefined ? '—' : value.toLocaleString('en-US');
}
