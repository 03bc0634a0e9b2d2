import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { CandidatePair, ClientPeer, EngineName, NetworkOptions, PeerState, TransportFacts } from '../engines/engine.js';
import { loadClientEngine } from '../engines/registry.js';
import { ClientError, type ClientFailureReason } from './client-error.js';
import { closePeer, connectPeer, type Negotiation } from './connect.js';
import { probeDataChannel, DATA_CHANNEL_PROBE_MS } from './data-channel-probes.js';
import { Deadline } from './deadline.js';
import { checkMediaEcho, type MediaEchoReport } from './media-check.js';
import { probeMedia } from './media-probes.js';
import { SubChecks, type SubCheck } from './sub-checks.js';
import { Stopwatch, type Timings } from './timings.js';
import { checkDtlsRole, checkSctpZeroChecksum, checkSrtpProfile } from './transport-checks.js';

/** The media probes (PLI, NACK) take up to ~4 s; with less left they are skipped rather than fail the run. */
const MEDIA_PROBE_BUDGET_MS = 5_000;

export type TestType = 0 | 1;

export interface ClientRunOptions {
  /** The server's /offer URL. */
  url: string;
  /** 0: peer connection (optionally media echo); 1: data channel echo. */
  test: TestType;
  engine: EngineName;
  timeoutMs: number;
  /** Test 0: send real media and require it back. */
  media: boolean;
  audio: boolean;
  video: boolean;
  /** Echoed packets required on each leg for the media check. */
  mediaPackets: number;
  /** ICE servers, relay-only. Default: host candidates only. */
  network?: NetworkOptions;
  /** PEM certificates to trust for an https:// server (see SignalingOptions). */
  ca?: string | Buffer;
  /**
   * After a passing test, keep the connection open and idle this long (nothing sent but what
   * the stack sends by itself: ICE consent checks, RTCP, SCTP heartbeats) before closing.
   */
  holdMs?: number;
  /** Called when the hold starts. */
  onHold?: () => void;
  log: Logger;
}

export interface ClientResult {
  ok: boolean;
  url: string;
  test: TestType;
  engine: EngineName;
  reason?: ClientFailureReason;
  message?: string;
  /** More than 1 when a start-up failure was retried with a fresh connection. */
  attempts?: number;
  timings: Timings;
  media?: MediaEchoReport;
  /** The candidate pair ICE selected, as the client's stack reports it. */
  selectedPair?: CandidatePair;
  dataChannel?: { sent: string; received?: string; rttMs?: number };
  /** With holdMs: how long the connection was held after the test (less than holdMs if it was lost). */
  heldMs?: number;
  /** What the client saw on the wire beside the verdict (src/client/sub-checks.ts), in canonical order. */
  checks: SubCheck[];
}

/** Runs one Echo Test as the client peer. Never throws, never hangs, always closes its peer. */
export async function runClient(options: ClientRunOptions): Promise<ClientResult> {
  const clock = new Stopwatch();
  const deadline = new Deadline(options.timeoutMs);
  const result: ClientResult = { ok: false, url: options.url, test: options.test, engine: options.engine, timings: clock.timings, checks: [] };
  const checks = new SubChecks();
  const negotiation: Negotiation = {};
  let facts: TransportFacts | undefined;
  let peer: ClientPeer | undefined;
  try {
    const engine = await loadClientEngine(options.engine);
    const peerOptions = {
      audio: options.test === 0 && options.audio,
      video: options.test === 0 && options.video,
      dataChannel: options.test === 1 ? 'echo' : undefined,
      gatherTimeoutMs: Math.min(2_000, options.timeoutMs),
      network: options.network,
      log: options.log,
    };
    const connected = await connectPeer(engine, peerOptions, options.url, deadline, clock, options.log, { signaling: { ca: options.ca }, negotiation });
    peer = connected.peer;
    if (connected.attempts > 1) result.attempts = connected.attempts;
    result.selectedPair = await peer.selectedPair();
    const { offer, answer } = negotiation as Required<Negotiation>;

    if (options.test === 1) {
      const echo = await dataChannelEcho(peer, deadline, clock);
      result.dataChannel = echo.report;
      facts = await peer.transportFacts();
      // Sub-checks after the verdict's echo (and also after a wrong one: they say more about it).
      const probeMs = Math.min(DATA_CHANNEL_PROBE_MS, deadline.remainingMs - 500);
      if (probeMs > 500) await probeDataChannel(echo.channel, offer.sdp, answer.sdp, facts.sctpMaxMessageSize, checks, { ms: probeMs, alloc: (size) => Buffer.alloc(size) });
      if (echo.mismatch) throw echo.mismatch;
    } else if (options.media) {
      const probe = deadline.remainingMs > MEDIA_PROBE_BUDGET_MS;
      result.media = await deadline.race(
        'echoed media',
        checkMediaEcho(peer, options.mediaPackets, () => clock.mark('firstEcho'), deadline.signal, {
          whilePlaying: probe ? (streams) => probeMedia(streams, answer.sdp, checks) : undefined,
        }),
      );
      if (peer.media.mode === 'generated') {
        const why = `${options.engine} sends its own encoding and hands us no RTP or RTCP`;
        for (const name of ['mid-extension', 'nack', 'pli-keyframe'] as const) checks.notApplicable(name, why);
      } else if (!probe) {
        for (const name of ['mid-extension', 'nack', 'pli-keyframe'] as const) checks.notApplicable(name, 'too little time left in --timeout to probe');
      }
    }
    deadline.dispose();
    if (options.holdMs) result.heldMs = await holdConnection(peer, options.holdMs, options.onHold);
    result.ok = true;
  } catch (err) {
    const error = err instanceof ClientError ? err : new ClientError('engine-error', (err as Error)?.message ?? String(err));
    result.reason = error.reason;
    result.message = error.message;
  } finally {
    deadline.dispose();
    await transportChecks(peer, options, negotiation, facts, clock.timings, checks);
    if (peer) await closePeer(peer);
    clock.mark('closed');
    result.checks = checks.list();
  }
  return result;
}

/**
 * Keeps the connection up and idle for `ms`; rejects with `connection-lost` if the stack
 * reports it disconnected, failed or closed before then (the server released it).
 */
async function holdConnection(peer: ClientPeer, ms: number, onHold: (() => void) | undefined): Promise<number> {
  const start = performance.now();
  onHold?.();
  let timer: NodeJS.Timeout | undefined;
  try {
    const lost = await new Promise<PeerState | undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), ms);
      peer.onStateChange((state) => {
        if (state === 'disconnected' || state === 'failed' || state === 'closed') resolve(state);
      });
    });
    const heldMs = Math.round(performance.now() - start);
    if (lost) throw new ClientError('connection-lost', `the connection went ${lost} after ${heldMs} ms of the ${ms} ms hold`);
    return heldMs;
  } finally {
    clearTimeout(timer);
  }
}

/** The DTLS, SRTP and SCTP sub-checks, from the SDP and what the stack says; on failed runs too. */
async function transportChecks(
  peer: ClientPeer | undefined,
  options: ClientRunOptions,
  negotiation: Negotiation,
  known: TransportFacts | undefined,
  timings: Timings,
  checks: SubChecks,
): Promise<void> {
  const progress = { iceConnected: timings.iceConnected !== undefined, connected: timings.connected !== undefined };
  const facts = known ?? (peer && progress.connected ? await peer.transportFacts() : undefined);
  if (negotiation.offer && negotiation.answer) checkDtlsRole(negotiation.offer.sdp, negotiation.answer.sdp, facts, progress, checks);
  if (!facts) return;
  if (options.test === 0) checkSrtpProfile(facts, checks);
  else checkSctpZeroChecksum(facts, timings.channelOpen !== undefined, checks);
}

/** Test 1: a short random string out on the channel, the identical string back (a mismatch is returned, not thrown). */
async function dataChannelEcho(peer: ClientPeer, deadline: Deadline, clock: Stopwatch) {
  const channel = peer.dataChannel;
  if (!channel) throw new ClientError('engine-error', 'no data channel was created');
  if (!channel.isOpen) await deadline.race('the data channel to open', new Promise<void>((resolve) => channel.onOpen(resolve)));
  clock.mark('channelOpen');
  const sent = randomBytes(6).toString('base64url').slice(0, 5);
  const reply = new Promise<string | Buffer>((resolve) => channel.onMessage(resolve));
  const sentAt = performance.now();
  channel.send(sent);
  const received = await deadline.race('the echoed message', reply);
  clock.mark('firstEcho');
  const text = typeof received === 'string' ? received : received.toString('utf8');
  const report = { sent, received: text, rttMs: Math.round((performance.now() - sentAt) * 10) / 10 };
  const mismatch = text === sent ? undefined : new ClientError('echo-mismatch', `sent ${JSON.stringify(sent)}, got back ${JSON.stringify(text)}`);
  return { report, channel, mismatch };
}
