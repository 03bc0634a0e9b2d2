/**
 * Overload is bounded in the libdatachannel echo peer: packets that queued while the event loop
 * was stuck are dropped, not echoed late (src/engines/libdatachannel/backlog.ts).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { run } from '../../src/bench/run.js';
import { BENCH_DEFAULTS } from '../../src/bench/defaults.js';
import { MAX_QUEUE_WAIT_MS, echoBacklog } from '../../src/engines/libdatachannel/backlog.js';
import { startTestServer } from '../helpers/server.js';
import { eventually, withTimeout } from '../helpers/timeout.js';

/** Blocks this process's event loop (the server's) for `ms`, as an overloaded loop would be. */
function stall(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    /* busy */
  }
}

test('packets that waited behind a stuck event loop are dropped and counted; the echo goes on', async (t) => {
  const server = await startTestServer(t, 'libdatachannel');
  // The client peers run in a bench worker process, so they keep sending while we are stuck.
  const stallMs = 10 * MAX_QUEUE_WAIT_MS;
  const stalls: NodeJS.Timeout[] = [];
  t.after(() => stalls.forEach(clearTimeout));
  // The bench's first packets of each session (one every 10 ms until one comes back, outside the
  // step's count) may be dropped too, as many as set-up kept the loop busy for: the step's own
  // drops are what the process-wide counter (the server runs in this process) gains after it starts.
  let droppedBeforeStep = 0;
  // Twice during the echo step (which starts once the sessions are open).
  const onProgress = (line: string) => {
    if (stalls.length > 0 || !/packets\/s for/.test(line)) return;
    droppedBeforeStep = echoBacklog.dropped;
    stalls.push(...[500, 1200].map((at) => setTimeout(() => stall(stallMs), at)));
  };
  const result = await withTimeout(
    run({
      ...BENCH_DEFAULTS,
      url: `${server.url}/offer`,
      engine: 'libdatachannel',
      generator: 'node',
      workers: 1,
      scenarios: ['echo'],
      timeoutMs: 10_000,
      echo: { ...BENCH_DEFAULTS.echo, sessions: 2, packetsPerSecond: 200, durationMs: 2_000, drainMs: 500 },
      onProgress,
    }),
    60_000,
    'the echo bench',
  );
  assert.deepEqual(result.errors, []);
  const step = result.echo!.steps[0]!;
  assert.ok(step.echoed > 0.3 * step.sent, `the echo went on around the stalls: ${step.echoed}/${step.sent}`);
  assert.ok(step.echoed < step.sent, 'what queued during the stalls was not echoed');
  await eventually(() => server.sessions.size === 0, 15_000, 'the echo sessions closed');
  const metrics = await (await fetch(`${server.url}/metrics`)).text();
  const counted = Number(/echo_rtp_packets_dropped_total (\d+)/.exec(metrics)?.[1] ?? 0);
  const dropped = echoBacklog.dropped - droppedBeforeStep;
  // Each stall holds back about 2 sessions × 200 packets/s × stallMs of packets: those are dropped.
  assert.ok(dropped > 0, `packets are dropped in the step (${dropped})`);
  assert.equal(counted, echoBacklog.dropped, 'the sessions count every dropped packet');
  // Only packets that were not echoed (one the bench sent just before the step may be among them: hence the slack).
  assert.ok(dropped <= step.sent - step.echoed + 2, `dropped ${dropped} in the step (${droppedBeforeStep} before it); sent ${step.sent}, echoed ${step.echoed}`);
});
