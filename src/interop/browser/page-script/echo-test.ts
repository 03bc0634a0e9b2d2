/**
 * The script of the browser client's page, Chromium and Firefox alike (run-browser.ts serves
 * it): `window.echoTest(options)` runs one Echo Test and resolves with a plain result; it never
 * rejects. Typed browser code, bundled by vite into one script (vite.config.ts beside it:
 * dist/interop/browser/page-script.js); the main build (tsconfig.json) leaves this folder out.
 *
 * Test 0: fake camera (and microphone) from getUserMedia, passes once the echoed video
 * decodes (`framesDecoded > 0` on the inbound video). Test 1: a data channel, a short
 * random string out, the identical string back. Both: non-trickle, the offer is POSTed
 * once ICE gathering completes, as the Echo Test protocol wants.
 *
 * Sub-checks are our CLI client's own code (src/client/transport-checks.ts,
 * data-channel-probes.ts), fed with what the browser says in getStats(): the DTLS roles from
 * a=setup and transport.dtlsRole, the SRTP cipher (transport.srtpCipher), and in test 1 a
 * binary, an empty text, an empty binary and a max-message-size message after the string echo.
 * A page sees no RTP or RTCP: the mid, NACK and PLI checks are n/a, with the browser's own
 * NACK/PLI counters as the detail.
 */
import { probeDataChannel, type ProbeChannel } from '../../../client/data-channel-probes.js';
import { SubChecks, type SubCheck } from '../../../client/sub-checks.js';
import { checkDtlsRole, checkSctpZeroChecksum, checkSrtpProfile } from '../../../client/transport-checks.js';
import type { TransportFact, TransportFacts } from '../../../engines/engine.js';
import { candidateLines } from '../../../sdp/candidate-line.js';

export interface EchoTestOptions {
  url: string;
  test: 0 | 1;
  audio: boolean;
  timeoutMs: number;
  iceServers?: RTCIceServer[];
  relayOnly?: boolean;
}

/** What run-browser.ts reads back (BrowserResult without what it adds itself). */
export interface EchoTestResult {
  ok: boolean;
  test: 0 | 1;
  timings: Record<string, number>;
  candidates: { local: string[]; remote: string[] };
  checks: SubCheck[];
  reason?: string;
  message?: string;
  connectionState?: string;
  selectedPair?: { local?: string; remote?: string };
  video?: { framesDecoded: number; packetsReceived: number; codec?: string };
  dataChannel?: { sent: string; received?: string; rttMs?: number };
}

declare global {
  interface Window {
    echoTest(options: EchoTestOptions): Promise<EchoTestResult>;
  }
}

/** A failure with the ClientFailureReason it stands for (src/client/client-error.ts). */
class Failure extends Error {
  constructor(
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

/** How long the data channel probes may take at most, as our CLI client's. */
const PROBE_MS = 3_000;

window.echoTest = async function echoTest({ url, test, audio, timeoutMs, iceServers = [], relayOnly = false }: EchoTestOptions): Promise<EchoTestResult> {
  const started = performance.now();
  const timings: Record<string, number> = {};
  const mark = (step: string) => {
    if (timings[step] === undefined) timings[step] = Math.round((performance.now() - started) * 10) / 10;
  };
  const checks = new SubChecks();
  const result: EchoTestResult = { ok: false, test, timings, candidates: { local: [], remote: [] }, checks: [] };
  let waitingFor = 'the offer';
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Failure('timeout', `timed out after ${timeoutMs} ms waiting for ${waitingFor}`)), timeoutMs);
  });
  const step = <T>(what: string, promise: Promise<T>): Promise<T> => {
    waitingFor = what;
    return Promise.race([promise, deadline]);
  };
  const pc = new RTCPeerConnection({ iceServers, iceTransportPolicy: relayOnly ? 'relay' : 'all' });
  let offerSdp: string | undefined;
  let answerSdp: string | undefined;
  let stream: MediaStream | undefined;
  try {
    let channel: RTCDataChannel | undefined;
    if (test === 0) {
      stream = await step('the camera', navigator.mediaDevices.getUserMedia({ video: { width: 320, height: 240, frameRate: 15 }, audio }));
      for (const track of stream.getTracks()) pc.addTransceiver(track, { direction: 'sendrecv', streams: [stream] });
    } else {
      channel = pc.createDataChannel('echo');
    }
    const connected = new Promise<void>((resolve, reject) => {
      pc.addEventListener('iceconnectionstatechange', () => {
        if (pc.iceConnectionState === 'connected' || pc.iceConnectionState === 'completed') mark('iceConnected');
      });
      pc.addEventListener('connectionstatechange', () => {
        if (pc.connectionState === 'connected') {
          mark('iceConnected');
          mark('connected');
          resolve();
        }
        if (pc.connectionState === 'failed') reject(new Failure('connection-failed', 'the connection failed (ICE or DTLS)'));
      });
    });
    connected.catch(() => {});
    await step('the offer', pc.setLocalDescription());
    await step(
      'ICE gathering',
      new Promise<void>((resolve) => {
        if (pc.iceGatheringState === 'complete') return resolve();
        pc.addEventListener('icegatheringstatechange', () => {
          if (pc.iceGatheringState === 'complete') resolve();
        });
      }),
    );
    offerSdp = pc.localDescription!.sdp;
    result.candidates.local = candidateLines(offerSdp);
    mark('offerReady');

    let response: Response;
    try {
      response = await step('the answer', fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ type: 'offer', sdp: offerSdp }) }));
    } catch (err) {
      if (err instanceof Failure) throw err;
      throw new Failure('signaling-unreachable', `POST ${url} failed: ${(err as Error).message} (server down, or no CORS headers)`);
    }
    if (!response.ok) throw new Failure('signaling-http-error', `POST ${url} answered ${response.status}: ${(await response.text()).slice(0, 300)}`);
    let answer: unknown;
    try {
      answer = await response.json();
    } catch {
      throw new Failure('signaling-bad-answer', 'the answer is not JSON');
    }
    const { type, sdp } = (answer ?? {}) as { type?: unknown; sdp?: unknown };
    if (type !== 'answer' || typeof sdp !== 'string') throw new Failure('signaling-bad-answer', 'the reply is not an SDP answer');
    answerSdp = sdp;
    result.candidates.remote = candidateLines(sdp);
    mark('answerReceived');
    try {
      await step('the answer to apply', pc.setRemoteDescription({ type: 'answer', sdp }));
    } catch (err) {
      if (err instanceof Failure) throw err;
      throw new Failure('answer-rejected', `the answer was refused: ${(err as Error).message}`);
    }
    await step('the connection', connected);

    if (channel) {
      const open = channel;
      if (open.readyState !== 'open') await step('the data channel to open', new Promise((resolve) => open.addEventListener('open', resolve, { once: true })));
      mark('channelOpen');
      const sent = Math.random().toString(36).slice(2, 7);
      const reply = new Promise<string>((resolve) => open.addEventListener('message', (event) => resolve(String(event.data)), { once: true }));
      const sentAt = performance.now();
      open.send(sent);
      const received = await step('the echoed message', reply);
      mark('firstEcho');
      result.dataChannel = { sent, received, rttMs: Math.round((performance.now() - sentAt) * 10) / 10 };
      // The sub-checks run after a wrong echo too: they say more about it. Bounded by what is left.
      const left = timeoutMs - (performance.now() - started) - 500;
      if (left > 500) {
        await probeDataChannel(probeChannel(open), offerSdp, answerSdp, browserMessageSize(pc.sctp), checks, { ms: Math.min(PROBE_MS, left), stackName: 'the browser' });
      }
      if (received !== sent) throw new Failure('echo-mismatch', `sent ${JSON.stringify(sent)}, got back ${JSON.stringify(received)}`);
    } else {
      result.video = await step('echoed video to decode', decodedVideo(pc));
      mark('firstEcho');
      await mediaChecks(pc, checks);
    }
    result.ok = true;
  } catch (err) {
    result.reason = err instanceof Failure ? err.reason : 'engine-error';
    result.message = err instanceof Error ? err.message : String(err);
  } finally {
    clearTimeout(timer);
    await transportChecks(pc, test, offerSdp, answerSdp, timings, checks).catch((err: unknown) => checks.notApplicable('dtls-role', `getStats failed: ${(err as Error).message}`));
    result.checks = checks.list();
    result.connectionState = pc.connectionState;
    result.selectedPair = await selectedPair(pc).catch(() => undefined);
    for (const track of stream?.getTracks() ?? []) track.stop();
    pc.close();
    mark('closed');
  }
  return result;
};

/** The RTCDataChannel as the probes use it: text as text, binary as bytes. */
function probeChannel(channel: RTCDataChannel): ProbeChannel {
  channel.binaryType = 'arraybuffer';
  // The DOM typings give send() one overload per kind; the browser takes either.
  const sender: { send(message: string | Uint8Array): void } = channel;
  return {
    send: (message) => sender.send(message),
    onMessage: (listener) => channel.addEventListener('message', (event: MessageEvent<string | ArrayBuffer>) => listener(typeof event.data === 'string' ? event.data : new Uint8Array(event.data))),
  };
}

/** The largest message this browser sends (RTCSctpTransport.maxMessageSize), where it says. */
function browserMessageSize(sctp: RTCSctpTransport | null): TransportFact<number> {
  const size = sctp?.maxMessageSize;
  return typeof size === 'number' && Number.isFinite(size) ? { known: true, value: size } : { known: false, why: 'no RTCSctpTransport.maxMessageSize' };
}

/** The transport stats (RTCTransportStats) of a report, the first one: the page bundles everything. */
function transportOf(stats: RTCStatsReport): RTCTransportStats | undefined {
  for (const report of stats.values()) if ((report as RTCStats).type === 'transport') return report as RTCTransportStats;
  return undefined;
}

/** What the browser's getStats() says of its transports, as TransportFacts. */
function browserFacts(transport: RTCTransportStats | undefined, sctp: RTCSctpTransport | null): TransportFacts {
  const role = transport?.dtlsRole;
  const cipher = transport?.srtpCipher;
  return {
    dtlsRole: role === 'client' || role === 'server' ? { known: true, value: role } : { known: false, why: 'getStats() transport has no dtlsRole' },
    srtpProfile: cipher
      ? { known: true, value: `${cipher}${transport?.dtlsCipher ? ` (DTLS ${transport.dtlsCipher})` : ''}` }
      : { known: false, why: transport ? 'getStats() transport has no srtpCipher' : 'getStats() has no transport' },
    sctpZeroChecksum: { known: false, why: 'a page sees no SCTP INIT parameters' },
    sctpMaxMessageSize: browserMessageSize(sctp),
  };
}

/** dtls-role; srtp-profile (test 0) and sctp-zero-checksum (test 1) once connected: our CLI client's checks. */
async function transportChecks(pc: RTCPeerConnection, test: 0 | 1, offerSdp: string | undefined, answerSdp: string | undefined, timings: Record<string, number>, checks: SubChecks): Promise<void> {
  if (!offerSdp || !answerSdp) return;
  const transport = pc.connectionState === 'closed' ? undefined : transportOf(await pc.getStats());
  const facts = browserFacts(transport, pc.sctp);
  const progress = { iceConnected: timings.iceConnected !== undefined, connected: timings.connected !== undefined };
  checkDtlsRole(offerSdp, answerSdp, facts, progress, checks, 'the browser');
  if (!progress.connected) return;
  if (test === 0) checkSrtpProfile(facts, checks);
  else checkSctpZeroChecksum(facts, true, checks);
}

/** A page sees no RTP or RTCP: mid, NACK and PLI are n/a, with what the browser counted itself. */
async function mediaChecks(pc: RTCPeerConnection, checks: SubChecks): Promise<void> {
  const stats = await pc.getStats();
  let inbound: RTCInboundRtpStreamStats | undefined;
  let outbound: RTCOutboundRtpStreamStats | undefined;
  for (const report of stats.values() as IterableIterator<RTCInboundRtpStreamStats | RTCOutboundRtpStreamStats>) {
    if (report.type === 'inbound-rtp' && report.kind === 'video') inbound = report as RTCInboundRtpStreamStats;
    if (report.type === 'outbound-rtp' && report.kind === 'video') outbound = report as RTCOutboundRtpStreamStats;
  }
  const n = (value: number | undefined) => (value === undefined ? '?' : String(value));
  checks.notApplicable('mid-extension', 'a page sees no RTP header extensions');
  checks.notApplicable('nack', `a page can neither hold back a packet nor send RTCP (the browser itself sent ${n(inbound?.nackCount)} NACKs, got ${n(outbound?.nackCount)})`);
  checks.notApplicable('pli-keyframe', `a page cannot send RTCP (the browser itself sent ${n(inbound?.pliCount)} PLIs, decoded ${n(inbound?.keyFramesDecoded)} keyframes)`);
}

/** Polls getStats until the inbound video has decoded a frame. */
async function decodedVideo(pc: RTCPeerConnection): Promise<NonNullable<EchoTestResult['video']>> {
  for (;;) {
    const stats = await pc.getStats();
    for (const report of stats.values() as IterableIterator<RTCInboundRtpStreamStats>) {
      if (report.type === 'inbound-rtp' && report.kind === 'video' && (report.framesDecoded ?? 0) > 0) {
        const codec = report.codecId ? (stats.get(report.codecId) as { mimeType?: string } | undefined) : undefined;
        return { framesDecoded: report.framesDecoded!, packetsReceived: report.packetsReceived ?? 0, codec: codec?.mimeType };
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The candidate pair in use, to show which addresses (and mDNS names) connected. */
async function selectedPair(pc: RTCPeerConnection): Promise<EchoTestResult['selectedPair']> {
  const stats = await pc.getStats();
  const describe = (id: string) => {
    const candidate = stats.get(id) as { address?: string; port?: number; candidateType?: string } | undefined;
    return candidate && `${candidate.address}:${candidate.port} ${candidate.candidateType}`;
  };
  for (const report of stats.values() as IterableIterator<RTCIceCandidatePairStats>) {
    if (report.type !== 'candidate-pair' || !report.nominated || report.state !== 'succeeded') continue;
    return { local: describe(report.localCandidateId), remote: describe(report.remoteCandidateId) };
  }
  return undefined;
}
