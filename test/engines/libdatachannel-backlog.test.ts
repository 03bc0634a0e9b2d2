/**
 * The overload guard's estimate of how long a packet waited (src/engines/libdatachannel/backlog.ts),
 * on this process's real event loop: packets come in as UDP datagrams over loopback, so admit()
 * runs in the poll phase as node-datachannel's packet callbacks do. The ticker runs every 50 ms
 * here and the limit is 100 ms, so that timers a little late under load change nothing.
 */
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { test, type TestContext } from 'node:test';
import { EchoBacklog } from '../../src/engines/libdatachannel/backlog.js';

const TICK_MS = 50;
const MAX_WAIT_MS = 100;

function busyFor(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    /* busy */
  }
}

/** A socket that sends datagrams to itself and hands each, in the poll phase, to `onPacket`. */
async function loopbackPackets(t: TestContext, onPacket: () => void): Promise<{ send(): void }> {
  const socket: Socket = createSocket('udp4');
  t.after(() => socket.close());
  socket.on('message', onPacket);
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const { port } = socket.address();
  return { send: () => socket.send(Buffer.from('packet'), port, '127.0.0.1') };
}

test('packets queued behind a long timer are dropped, even when a tick runs between that timer and them', async (t) => {
  const backlog = new EchoBacklog(MAX_WAIT_MS, TICK_MS);
  const verdicts: boolean[] = [];
  let done: () => void;
  const judged = new Promise<void>((resolve) => (done = resolve));
  const packets = await loopbackPackets(t, () => {
    verdicts.push(backlog.admit());
    if (verdicts.length === 1) {
      // The ticker started with this first packet. A timer due just before its first tick queues a
      // packet and holds the loop 150 ms; the loop is held past both first (the ticker sees it
      // sleep before), so that tick runs in the same timers phase, after the long timer, and
      // before the packet. It must not take the sleep before the long timer for one after it.
      setTimeout(() => {
        packets.send();
        busyFor(150);
      }, TICK_MS - 1);
      setTimeout(() => busyFor(TICK_MS + 10), 10);
    } else done();
  });
  packets.send();
  await judged;
  assert.deepEqual(verdicts, [true, false], 'the first packet is taken, the one that waited ~150 ms is dropped');
  assert.equal(backlog.dropped, 1);
});

test('a packet that wakes a sleeping loop is taken, after busy work it did not wait for', async (t) => {
  const backlog = new EchoBacklog(MAX_WAIT_MS, TICK_MS);
  const verdicts: boolean[] = [];
  let done: () => void;
  const judged = new Promise<void>((resolve) => (done = resolve));
  const packets = await loopbackPackets(t, () => {
    verdicts.push(backlog.admit());
    if (verdicts.length > 1) return done();
    // 120 ms of work in short pieces (ticks run between them; the loop never sleeps), then a sleep,
    // then a packet: what a new session's set-up and its first packet look like.
    const until = performance.now() + 120;
    const work = () => {
      busyFor(2);
      if (performance.now() < until) setImmediate(work);
      else setTimeout(() => packets.send(), 20);
    };
    setImmediate(work);
  });
  packets.send();
  await judged;
  assert.deepEqual(verdicts, [true, true], 'neither packet waited');
  assert.equal(backlog.dropped, 0);
});
