/**
 * One bench client session: offer, POST, connect, open the channel, first echo. Like
 * runClient, but the peer stays open afterwards so a scenario can load it, and the data
 * channel and media legs are handed back.
 */
import { rtpLegs, type ClientPeer, type ClientEngine } from '../../engines/engine.js';
import { ClientError, type ClientFailureReason } from '../../client/client-error.js';
import { Deadline } from '../../client/deadline.js';
import { connectPeer } from '../../client/connect.js';
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
  /** More than 1 when libdatachannel's start-up race was retried (see client/connect.ts). */
  attempts: number;
  /** Index of the next bench RTP packet on the video leg: SRTP drops a sequence number seen before (replay protection). */
  nextRtpIndex: number;
}

export async function openSession(engine: ClientEngine, plan: SessionPlan): Promise<OpenedSession> {
  const clock = new Stopwatch();
  const deadline = new Deadline(plan.timeoutMs);
  let peer: ClientPeer | undefined;
  let nextRtpIndex = 0;
  let attempts = 1;
  try {
    const connected = await connectPeer(
      engine,
      {
        audio: false,
        video: plan.video || !plan.channel,
        dataChannel: plan.channel ? 'bench' : undefined,
        gatherTimeoutMs: Math.min(2_000, plan.timeoutMs),
        log: silentLogger,
      },
      plan.url,
      deadline,
      clock,
      silentLogger,
    );
    peer = connected.peer;
    attempts = connected.attempts;
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
    return { ok: true, peer, timings: clock.timings, nextRtpIndex, attempts };
  } catch (err) {
    peer?.close();
    const error = err instanceof ClientError ? err : new ClientError('engine-error', (err as Error)?.message ?? String(err));
    return { ok: false, timings: clock.timings, reason: error.reason, message: error.message, nextRtpIndex, attempts };
  } finally {
    deadline.dispose();
  }
}

/** Sends a bench RTP packet every 10 ms until one comes back (the server may need a moment to bind its track). */
function firstRtpEcho(peer: ClientPeer): Promise<number> {
  const leg = rtpLegs(peer)[0];
  if (!leg) return Promise.reject(new ClientError('engine-error', 'no raw RTP media section (the bench needs an engine with rawRtp)'));
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

/** Closes the peer and records how long close() took, as the `closed` step. */
export function closeSession(peer: ClientPeer | undefined, timings: Timings, startedAt: number): void {
  peer?.close();
  timings.closed = Math.round((performance.now() - startedAt) * 10) / 10;
}
