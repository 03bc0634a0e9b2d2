/**
 * One bench client session: offer, POST, connect, open the channel, first echo. Like
 * runClient, but the peer stays open afterwards so a scenario can load it, and the data
 * channel and media legs are handed back.
 */
import type { ClientPeer, Engine, IceState, PeerState } from '../../engines/engine.js';
import { ClientError, type ClientFailureReason } from '../../client/client-error.js';
import { Deadline } from '../../client/deadline.js';
import { postOffer } from '../../client/signal.js';
import { Stopwatch, type Timings } from '../../client/timings.js';
import { silentLogger } from '../../log.js';
import { benchIndexOf, writeBenchRtp } from './bench-rtp.js';

export interface SessionPlan {
  url: string;
  /** Offer a data channel; the first echo is then a data channel message. */
  channel: boolean;
  /** Offer one sendrecv video section (always, when there is no channel: an offer needs a section). */
  video: boolean;
  /** Wait for a first echo (data channel message, else an RTP packet on the video leg). */
  firstEcho: boolean;
  timeoutMs: number;
}

export interface OpenedSession {
  ok: boolean;
  peer?: ClientPeer;
  timings: Timings;
  reason?: ClientFailureReason;
  message?: string;
  /** Index of the next bench RTP packet on the video leg: SRTP drops a sequence number seen before (replay protection). */
  nextRtpIndex: number;
}

export async function openSession(engine: Engine, plan: SessionPlan): Promise<OpenedSession> {
  const clock = new Stopwatch();
  const deadline = new Deadline(plan.timeoutMs);
  let peer: ClientPeer | undefined;
  let nextRtpIndex = 0;
  try {
    peer = engine.createClientPeer({
      audio: false,
      video: plan.video || !plan.channel,
      dataChannel: plan.channel ? 'bench' : undefined,
      gatherTimeoutMs: Math.min(2_000, plan.timeoutMs),
      log: silentLogger,
    });
    const connection = watchConnection(peer, clock);
    const offer = await deadline.race('the offer', peer.createOffer());
    clock.mark('offerReady');
    const answer = await deadline.race('the answer', postOffer(plan.url, offer, deadline.signal));
    clock.mark('answerReceived');
    try {
      await deadline.race('the answer to apply', peer.acceptAnswer(answer));
    } catch (err) {
      if (err instanceof ClientError) throw err;
      throw new ClientError('answer-rejected', `the answer was refused: ${(err as Error).message}`);
    }
    await deadline.race('the connection', connection);
    if (plan.channel) {
      const channel = peer.dataChannel!;
      if (!channel.isOpen) await deadline.race('the data channel to open', new Promise<void>((resolve) => channel.onOpen(resolve)));
      clock.mark('channelOpen');
      if (plan.firstEcho) {
        const reply = new Promise<void>((resolve) => channel.onMessage(() => resolve()));
        channel.send('ping');
        await deadline.race('the echoed message', reply);
        clock.mark('firstEcho');
      }
    } else if (plan.firstEcho) {
      nextRtpIndex = await deadline.race('echoed RTP', firstRtpEcho(peer));
      clock.mark('firstEcho');
    }
    return { ok: true, peer, timings: clock.timings, nextRtpIndex };
  } catch (err) {
    peer?.close();
    const error = err instanceof ClientError ? err : new ClientError('engine-error', (err as Error)?.message ?? String(err));
    return { ok: false, timings: clock.timings, reason: error.reason, message: error.message, nextRtpIndex };
  } finally {
    deadline.dispose();
  }
}

/** Sends a bench RTP packet every 10 ms until one comes back (the server may need a moment to bind its track). */
function firstRtpEcho(peer: ClientPeer): Promise<number> {
  const leg = peer.media[0];
  if (!leg) return Promise.reject(new ClientError('engine-error', 'no media section was negotiated'));
  const packet = Buffer.alloc(12 + 64);
  let index = 0;
  let echoed = false;
  return new Promise<number>((resolve) => {
    const timer = setInterval(() => {
      writeBenchRtp(packet, leg.payloadType, leg.ssrc, index++);
      leg.send(packet);
    }, 10);
    timer.unref();
    leg.onRtp((echo) => {
      if (!echoed && benchIndexOf(echo) >= 0) {
        echoed = true;
        clearInterval(timer);
        resolve(index);
      }
    });
    writeBenchRtp(packet, leg.payloadType, leg.ssrc, index++);
    leg.send(packet);
    setTimeout(() => clearInterval(timer), 60_000).unref();
  });
}

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
      } else if (state === 'failed') reject(new ClientError('connection-failed', 'the connection failed (ICE or DTLS)'));
      else if (state === 'closed') reject(new ClientError('connection-failed', 'the connection closed before it was established'));
    });
  });
  connected.catch(() => {});
  return connected;
}

/** Closes the peer and records how long close() took, as the `closed` step. */
export function closeSession(peer: ClientPeer | undefined, timings: Timings, startedAt: number): void {
  peer?.close();
  timings.closed = Math.round((performance.now() - startedAt) * 10) / 10;
}
