/**
 * The media echo load: every session sends bench RTP on its video leg at a fixed rate, and
 * every packet that comes back is matched to its send time by the index in its payload.
 * One packet buffer per session, rewritten in place: the generator allocates nothing per packet.
 */
import { rtpLegs, type ClientPeer, type ClientEngine, type RtpLeg } from '../../engines/engine.js';
import { openSession } from './bench-session.js';
import { BENCH_HEADER, benchIndexOf, writeBenchRtp } from './bench-rtp.js';
import { runWithConcurrency, throttled } from './concurrency.js';
import { percentile } from '../stats.js';
import type { EchoStepResult, Job, OpenJobResult, SessionRecord } from './protocol.js';

/** The generator's clock: small enough to spread packets evenly, large enough to stay cheap. */
const TICK_MS = 5;

class EchoStream {
  /** Index of the next packet this leg sends; it keeps counting across steps. */
  nextIndex = 0;
  packet = Buffer.alloc(0);
  // The current step's window of packets: [base, base + planned).
  base = 0;
  planned = 0;
  sent = 0;
  echoed = 0;
  duplicates = 0;
  renumbered = 0;
  sendTimes = new Float64Array(0);
  seen = new Uint8Array(0);
  rtts: number[] = [];

  constructor(
    readonly peer: ClientPeer,
    readonly leg: RtpLeg,
    firstIndex: number,
  ) {
    this.nextIndex = firstIndex;
    leg.onRtp((packet) => this.onEcho(packet));
  }

  beginStep(planned: number, payloadBytes: number): void {
    if (this.packet.length !== BENCH_HEADER + payloadBytes) this.packet = Buffer.alloc(BENCH_HEADER + payloadBytes, 0x5a);
    this.base = this.nextIndex;
    this.planned = planned;
    this.sent = this.echoed = this.duplicates = this.renumbered = 0;
    this.sendTimes = new Float64Array(planned);
    this.seen = new Uint8Array(planned);
    this.rtts = [];
  }

  sendUpTo(due: number, now: number): void {
    while (this.sent < due) {
      writeBenchRtp(this.packet, this.leg.payloadType, this.leg.ssrc, this.nextIndex++, now);
      this.sendTimes[this.sent++] = now;
      this.leg.send(this.packet);
    }
  }

  private onEcho(packet: Buffer): void {
    const index = benchIndexOf(packet);
    const slot = index - this.base;
    if (index < 0 || slot < 0 || slot >= this.sent) return; // not ours, or from an earlier step
    if (this.seen[slot]) {
      this.duplicates++;
      return;
    }
    this.seen[slot] = 1;
    this.echoed++;
    if (packet.readUInt16BE(2) !== (index & 0xffff)) this.renumbered++;
    this.rtts.push(performance.now() - this.sendTimes[slot]!);
  }
}

export class EchoSessions {
  private streams: EchoStream[] = [];

  async open(engine: ClientEngine, job: Extract<Job, { kind: 'echo-open' }>, progress: (done: number, failed: number) => void): Promise<OpenJobResult> {
    const failures: SessionRecord[] = [];
    const report = throttled(200, () => progress(this.streams.length + failures.length, failures.length));
    await runWithConcurrency(job.sessions, job.concurrency, async () => {
      const session = await openSession(engine, { ...job.plan, video: true, channel: false });
      const leg = session.peer && rtpLegs(session.peer).find((m) => m.kind === 'video');
      if (session.ok && session.peer && leg) this.streams.push(new EchoStream(session.peer, leg, session.nextRtpIndex));
      else {
        session.peer?.close();
        failures.push({ ok: false, timings: session.timings, reason: session.reason ?? 'engine-error', message: session.message ?? 'no video leg' });
      }
      report.tick();
    });
    report.flush();
    return { opened: this.streams.length, failures };
  }

  /** Sends `packetsPerSecond` on every session for `durationMs`, then waits `drainMs` for the last echoes. */
  async step(job: Extract<Job, { kind: 'echo-step' }>): Promise<EchoStepResult> {
    const planned = Math.max(1, Math.round((job.packetsPerSecond * job.durationMs) / 1000));
    for (const stream of this.streams) stream.beginStep(planned, job.payloadBytes);
    const started = performance.now();
    await new Promise<void>((resolve) => {
      const tick = () => {
        const now = performance.now();
        const due = Math.min(planned, Math.floor(((now - started) * job.packetsPerSecond) / 1000) + 1);
        for (const stream of this.streams) stream.sendUpTo(due, now);
        if (due >= planned) {
          clearInterval(timer);
          resolve();
        }
      };
      const timer = setInterval(tick, TICK_MS);
      tick();
    });
    const sendStretch = (performance.now() - started) / Math.max(job.durationMs, 1);
    await new Promise((resolve) => setTimeout(resolve, job.drainMs));
    const result: EchoStepResult = { sessions: this.streams.length, sent: 0, echoed: 0, duplicates: 0, renumbered: 0, rttMs: [], sendStretch, perSession: [] };
    for (const s of this.streams) {
      const sorted = Float64Array.from(s.rtts).sort();
      const p = (q: number) => (sorted.length ? Math.round(percentile(sorted, q) * 100) / 100 : 0);
      result.perSession!.push({ sent: s.sent, echoed: s.echoed, rttP50Ms: p(50), rttP99Ms: p(99) });
      result.sent += s.sent;
      result.echoed += s.echoed;
      result.duplicates += s.duplicates;
      result.renumbered += s.renumbered;
      for (const rtt of s.rtts) result.rttMs.push(Math.round(rtt * 100) / 100);
    }
    return result;
  }

  close(): { closed: number } {
    const closed = this.streams.length;
    for (const stream of this.streams.splice(0)) stream.peer.close();
    return { closed };
  }
}
