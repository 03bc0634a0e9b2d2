import type { ClientPeer, ClientEngine } from '../../engines/engine.js';
import { openSession } from './bench-session.js';
import { runWithConcurrency, throttled } from './concurrency.js';
import type { Job, OpenJobResult, SessionRecord } from './protocol.js';

/** Idle connected sessions, held open so the server's memory per live session can be read. */
export class IdleSessions {
  private readonly peers: ClientPeer[] = [];

  async add(engine: ClientEngine, job: Extract<Job, { kind: 'idle-open' }>, progress: (done: number, failed: number) => void): Promise<OpenJobResult> {
    const failures: SessionRecord[] = [];
    let opened = 0;
    const report = throttled(200, () => progress(opened + failures.length, failures.length));
    await runWithConcurrency(job.add, job.concurrency, async () => {
      const session = await openSession(engine, job.plan);
      if (session.ok && session.peer) {
        this.peers.push(session.peer);
        opened++;
      } else failures.push({ ok: false, timings: session.timings, reason: session.reason, message: session.message });
      report.tick();
    });
    report.flush();
    return { opened, failures };
  }

  release(): { released: number } {
    const released = this.peers.length;
    for (const peer of this.peers.splice(0)) peer.close();
    return { released };
  }
}
