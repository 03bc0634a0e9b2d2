/**
 * Data channel echo load: every session keeps `window` binary messages of `messageBytes` in
 * flight for `durationMs`; each message carries its index, so its echo gives a round trip.
 */
import type { ClientDataChannel, ClientPeer, ClientEngine } from '../../engines/engine.js';
import { openSession } from './bench-session.js';
import { runWithConcurrency, throttled } from './concurrency.js';
import type { DataChannelJobResult, Job, SessionRecord } from './protocol.js';

/** Waiting for the last echoes after the duration is over. */
const DRAIN_MS = 2_000;

export async function runDataChannelJob(
  engine: ClientEngine,
  job: Extract<Job, { kind: 'datachannel' }>,
  progress: (done: number, failed: number) => void,
): Promise<DataChannelJobResult> {
  const peers: ClientPeer[] = [];
  const failures: SessionRecord[] = [];
  const report = throttled(200, () => progress(peers.length + failures.length, failures.length));
  await runWithConcurrency(job.sessions, Math.min(job.sessions, 10), async () => {
    const session = await openSession(engine, { ...job.plan, channel: true });
    if (session.ok && session.peer?.dataChannel) peers.push(session.peer);
    else {
      session.peer?.close();
      failures.push({ ok: false, timings: session.timings, reason: session.reason, message: session.message });
    }
    report.tick();
  });
  report.flush();

  const result: DataChannelJobResult = { opened: peers.length, failures, sent: 0, echoed: 0, mismatched: 0, bytesEchoed: 0, rttMs: [], elapsedMs: 0 };
  const started = performance.now();
  try {
    await Promise.all(peers.map((peer) => echoLoop(peer.dataChannel!, job, started, result)));
  } finally {
    result.elapsedMs = performance.now() - started;
    for (const peer of peers) peer.close();
  }
  return result;
}

function echoLoop(channel: ClientDataChannel, job: Extract<Job, { kind: 'datachannel' }>, started: number, result: DataChannelJobResult): Promise<void> {
  const size = Math.max(8, job.messageBytes);
  const sendTimes = new Map<number, number>();
  let next = 0;
  const limit = job.maxMessages ?? Number.POSITIVE_INFINITY;
  const mayStart = () => next < limit && performance.now() - started < job.durationMs;
  const sendOne = () => {
    const message = Buffer.alloc(size, 0x61);
    message.writeUInt32BE(next, 0);
    sendTimes.set(next++, performance.now());
    result.sent++;
    channel.send(message);
  };
  return new Promise<void>((resolve) => {
    const finish = () => {
      clearTimeout(drain);
      resolve();
    };
    channel.onMessage((data) => {
      const buffer = typeof data === 'string' ? Buffer.from(data) : data;
      const index = buffer.length >= 4 ? buffer.readUInt32BE(0) : -1;
      const sentAt = sendTimes.get(index);
      if (sentAt === undefined || buffer.length !== size) {
        result.mismatched++;
        return;
      }
      sendTimes.delete(index);
      result.echoed++;
      result.bytesEchoed += buffer.length;
      result.rttMs.push(Math.round((performance.now() - sentAt) * 100) / 100);
      if (mayStart()) sendOne();
      else if (sendTimes.size === 0) finish();
    });
    for (let i = 0; i < job.window && mayStart(); i++) sendOne();
    // A hard stop for echoes that never come back: the last ones get DRAIN_MS after the duration.
    const drain = setTimeout(finish, job.durationMs + DRAIN_MS);
  });
}
