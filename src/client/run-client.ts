import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { ClientPeer, EngineName, IceState, PeerState } from '../engines/engine.js';
import { loadEngine } from '../engines/registry.js';
import { ClientError, type ClientFailureReason } from './client-error.js';
import { Deadline } from './deadline.js';
import { checkMediaEcho, type MediaEchoReport } from './media-check.js';
import { postOffer } from './signal.js';
import { Stopwatch, type Timings } from './timings.js';

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
  dataChannel?: { sent: string; received?: string; rttMs?: number };
}

/** Runs one Echo Test as the client peer. Never throws, never hangs, always closes its peer. */
export async function runClient(options: ClientRunOptions): Promise<ClientResult> {
  const clock = new Stopwatch();
  const deadline = new Deadline(options.timeoutMs);
  const result: ClientResult = { ok: false, url: options.url, test: options.test, engine: options.engine, timings: clock.timings };
  let peer: ClientPeer | undefined;
  try {
    const engine = await loadEngine(options.engine);
    for (let attempt = 1; ; attempt++) {
      peer = engine.createClientPeer({
        audio: options.test === 0 && options.audio,
        video: options.test === 0 && options.video,
        dataChannel: options.test === 1 ? 'echo' : undefined,
        gatherTimeoutMs: Math.min(2_000, options.timeoutMs),
        log: options.log,
      });
      try {
        await connect(peer, options.url, deadline, clock);
        break;
      } catch (err) {
        if (attempt >= MAX_ATTEMPTS || !isStartupRace(err)) throw err;
        // libdatachannel can start DTLS before it has stored the answer's fingerprint and then
        // fail the handshake within milliseconds (libdatachannel PR #1612). A fresh connection
        // succeeds; the result says it took more than one attempt.
        options.log.warn({ err }, 'connection failed at start-up, retrying once');
        await closePeer(peer);
        result.attempts = attempt + 1;
        clock.clear();
      }
    }

    if (options.test === 1) {
      result.dataChannel = await dataChannelEcho(peer, deadline, clock);
    } else if (options.media) {
      result.media = await deadline.race('echoed media', checkMediaEcho(peer, options.mediaPackets, () => clock.mark('firstEcho'), deadline.signal));
    }
    result.ok = true;
  } catch (err) {
    const error = err instanceof ClientError ? err : new ClientError('engine-error', (err as Error)?.message ?? String(err));
    result.reason = error.reason;
    result.message = error.message;
  } finally {
    deadline.dispose();
    if (peer) await closePeer(peer);
    clock.mark('closed');
  }
  return result;
}

const CLOSE_WAIT_MS = 1_000;
const MAX_ATTEMPTS = 2;

/** Offer, POST, apply the answer, and wait until connected (or fail with a reason). */
async function connect(peer: ClientPeer, url: string, deadline: Deadline, clock: Stopwatch): Promise<void> {
  const connection = watchConnection(peer, clock);
  const offer = await deadline.race('the offer', peer.createOffer());
  clock.mark('offerReady');
  const answer = await deadline.race('the answer', postOffer(url, offer, deadline.signal));
  clock.mark('answerReceived');
  const appliedAt = clock.elapsed();
  try {
    await deadline.race('the answer to apply', peer.acceptAnswer(answer));
    await deadline.race('the connection', connection);
  } catch (err) {
    const error = err instanceof ClientError ? err : new ClientError('answer-rejected', `the answer was refused: ${(err as Error).message}`);
    if (error.reason !== 'timeout' && clock.elapsed() - appliedAt < STARTUP_RACE_MS) error.early = true;
    throw error;
  }
}

/** Failures within this long of applying the answer, other than timeouts, are start-up races worth one retry. */
const STARTUP_RACE_MS = 1_000;

function isStartupRace(err: unknown): boolean {
  return err instanceof ClientError && err.early && (err.reason === 'answer-rejected' || err.reason === 'connection-failed');
}

/** Closes the peer and gives the close (DTLS close_notify, SCTP abort, RTCP BYE) a moment to leave,
 * so the server releases the session now rather than on a timeout. */
async function closePeer(peer: ClientPeer): Promise<void> {
  const closed = new Promise<void>((resolve) => peer.onStateChange((state) => state === 'closed' && resolve()));
  peer.close();
  await settleWithin(closed, CLOSE_WAIT_MS);
}

async function settleWithin(promise: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([promise, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}

/** Resolves once connected; rejects on ICE failure, DTLS failure, or an early close. */
function watchConnection(peer: ClientPeer, clock: Stopwatch): Promise<void> {
  const connected = new Promise<void>((resolve, reject) => {
    peer.onIceStateChange((state: IceState) => {
      if (state === 'connected' || state === 'completed') clock.mark('iceConnected');
      if (state === 'failed') reject(new ClientError('ice-failed', 'ICE failed: no candidate pair worked'));
    });
    peer.onStateChange((state: PeerState) => {
      if (state === 'connected') {
        clock.mark('iceConnected');
        clock.mark('connected');
        resolve();
      } else if (state === 'failed') {
        reject(new ClientError('connection-failed', 'the connection failed (ICE or DTLS)'));
      } else if (state === 'closed') {
        reject(new ClientError('connection-failed', 'the connection closed before it was established'));
      }
    });
  });
  connected.catch(() => {}); // raced later; a failure before anyone waits must not crash the process
  return connected;
}

/** Test 1: a short random string out on the channel, the identical string back. */
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
  if (text !== sent) throw new ClientError('echo-mismatch', `sent ${JSON.stringify(sent)}, got back ${JSON.stringify(text)}`);
  return report;
}
