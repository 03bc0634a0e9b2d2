/**
 * Offer, POST, apply the answer, wait until connected: the steps every client run shares (the
 * Echo Test client, the bench). One place also owns the retry of libdatachannel's start-up race.
 */
import type { Logger } from 'pino';
import type { ClientEngine, ClientPeer, ClientPeerOptions, IceState, NetworkOptions, PeerState } from '../engines/engine.js';
import { isLoopbackHost } from '../sdp/candidate-policy.js';
import type { SessionDescription } from '../sdp/description.js';
import { ClientError } from './client-error.js';
import type { Deadline } from './deadline.js';
import { postOffer, type SignalingOptions } from './signal.js';
import type { Stopwatch } from './timings.js';

const MAX_ATTEMPTS = 2;
/** Failures within this long of applying the answer, other than timeouts, are start-up races worth one retry. */
const STARTUP_RACE_MS = 1_000;
const CLOSE_WAIT_MS = 1_000;

/** The descriptions of the last attempt, filled in as they are made (also when the attempt then fails). */
export interface Negotiation {
  offer?: SessionDescription;
  answer?: SessionDescription;
}

export interface ConnectOptions {
  /** How the offer is POSTed (a CA to trust for https). */
  signaling?: SignalingOptions;
  /** Filled in with the last attempt's offer and answer. */
  negotiation?: Negotiation;
}

export interface Connected {
  peer: ClientPeer;
  /** More than 1 when a start-up failure was retried with a fresh connection. */
  attempts: number;
}

/**
 * Creates a client peer and connects it to the server at `url`. On success the caller owns the
 * peer and closes it; on failure the peer is already closed and a ClientError is thrown.
 */
export async function connectPeer(
  engine: ClientEngine,
  peerOptions: ClientPeerOptions,
  url: string,
  deadline: Deadline,
  clock: Stopwatch,
  log: Logger,
  { signaling = {}, negotiation = {} }: ConnectOptions = {},
): Promise<Connected> {
  const options = { ...peerOptions, network: networkFor(url, peerOptions.network) };
  for (let attempt = 1; ; attempt++) {
    const peer = engine.createClientPeer(options);
    delete negotiation.offer;
    delete negotiation.answer;
    try {
      await connect(peer, url, deadline, clock, signaling, negotiation);
      return { peer, attempts: attempt };
    } catch (err) {
      await closePeer(peer);
      if (attempt >= MAX_ATTEMPTS || !isStartupRace(err)) throw err;
      // libdatachannel can start DTLS before it has stored the answer's fingerprint and then
      // fail the handshake within milliseconds (libdatachannel PR #1612). A fresh connection
      // succeeds; callers report that it took more than one attempt.
      log.warn({ err }, 'connection failed at start-up, retrying once');
      clock.clear();
    }
  }
}

/**
 * The client's network options for a server at `url`: a server reached on loopback is on this
 * machine, so the client gathers loopback only (NetworkOptions.loopbackOnly), unless told
 * otherwise. Its other interfaces would only carry the test's packets to this machine's own
 * addresses.
 */
export function networkFor(url: string, network: NetworkOptions = {}): NetworkOptions {
  if (network.loopbackOnly !== undefined) return network;
  let host: string;
  try {
    host = new URL(url).hostname.replace(/^\[|\]$/g, '');
  } catch {
    return network;
  }
  return isLoopbackHost(host) ? { ...network, loopbackOnly: true } : network;
}

async function connect(peer: ClientPeer, url: string, deadline: Deadline, clock: Stopwatch, signaling: SignalingOptions, negotiation: Negotiation): Promise<void> {
  const connection = watchConnection(peer, clock);
  const offer = await deadline.race('the offer', peer.createOffer());
  negotiation.offer = offer;
  clock.mark('offerReady');
  const answer = await deadline.race('the answer', postOffer(url, offer, deadline.signal, signaling));
  negotiation.answer = answer;
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

function isStartupRace(err: unknown): boolean {
  return err instanceof ClientError && err.early && (err.reason === 'answer-rejected' || err.reason === 'connection-failed');
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

/**
 * Closes the peer and gives the close (DTLS close_notify, SCTP abort, RTCP BYE) a moment to
 * leave, so the server releases the session now rather than on a timeout. Idempotent.
 */
export async function closePeer(peer: ClientPeer): Promise<void> {
  const closed = new Promise<void>((resolve) => peer.onStateChange((state) => state === 'closed' && resolve()));
  peer.close();
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([closed, new Promise<void>((resolve) => (timer = setTimeout(resolve, CLOSE_WAIT_MS)))]);
  clearTimeout(timer);
}
