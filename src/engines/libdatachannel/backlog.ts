/**
 * Overload is bounded: a packet that waited too long to reach JavaScript is dropped, not echoed.
 *
 * node-datachannel hands every received packet to JavaScript through a thread-safe function whose
 * queue has no limit (src/cpp/thread-safe-callback.cpp: `tsfn_t::New` with a maximum queue size of
 * 0, then one `BlockingCall` per message from libdatachannel's thread, media-track-wrapper.cpp
 * `TrackWrapper::onMessage`). When packets arrive faster than the event loop can echo them, that
 * queue grows without bound: round trips and memory grow with it (the bench saw RTT p99 above a
 * second), and every echo arrives too late to be of use.
 *
 * JavaScript cannot see that queue, but it can tell how long the event loop has been busy since
 * the queue was last empty. The queue is empty right after a turn of the loop has run the
 * packets (Node runs every queued packet of every track in one poll phase, up to 1000 per track),
 * and whenever the loop slept in poll (it wakes as soon as a packet is queued). So the oldest
 * packet of a turn has waited at most the loop's busy time (wall time minus idle time,
 * performance.eventLoopUtilization) since the later of those two moments, plus the time this
 * turn has run. Past `maxWaitMs`, packets are dropped, which costs a fraction of an echo (no copy
 * into a message, no SRTP, no send), so the loop catches up and what it does echo is fresh.
 *
 * A timer looks for the loop's sleeps every few milliseconds while packets flow. Idle time that
 * grew between two of its ticks says the loop slept somewhere in between, not when: the queue was
 * empty at some moment after the earlier tick, so that tick is the mark, never the later one. (A
 * tick that marked itself took a sleep before a long callback in the same timers phase for a
 * sleep after it: packets queued during that callback looked fresh and were echoed late.) A turn
 * whose loop slept since the last tick counts from that tick the same way, so a packet that woke
 * a sleeping loop after busy work it did not wait for is not taken for a stale one. What stays
 * unknown errs on the late side: a packet may be dropped that waited only as long as the loop's
 * busy time since the last tick.
 */
import { performance } from 'node:perf_hooks';

/** A packet that may have waited longer than this in node-datachannel's queue is dropped. */
export const MAX_QUEUE_WAIT_MS = 30;

/** How often the loop's sleeps are looked for while packets flow. */
const TICK_MS = 5;
/** Idle time at least this long (ms) since the last tick: the loop slept since, with nothing queued. */
const SLEPT_MS = 0.5;
/** The timer stops after this long without packets. */
const QUIET_MS = 1_000;

const idleNow = () => performance.eventLoopUtilization().idle;

export class EchoBacklog {
  /** performance.now() of this loop turn's first packet; undefined between turns. */
  #turnStart: number | undefined;
  /** How long the loop was busy before this turn's first packet (ms): about the oldest packet's wait. */
  #stale = 0;
  /** A moment the queue was known to be empty, and the loop's idle time then. */
  #markAt = performance.now();
  #markIdle = idleNow();
  /** When the ticker last ran, and the loop's idle time then. */
  #tickAt = performance.now();
  #tickIdle = idleNow();
  #lastPacket = 0;
  #ticker: NodeJS.Timeout | undefined;
  /** Packets dropped so far, process-wide. */
  dropped = 0;

  constructor(
    readonly maxWaitMs = MAX_QUEUE_WAIT_MS,
    readonly tickMs = TICK_MS,
  ) {}

  /** Called for every received media packet: true to echo it, false to drop it (it is counted). */
  admit(): boolean {
    const now = performance.now();
    if (this.#turnStart === undefined) {
      this.#turnStart = now;
      this.#lastPacket = now;
      if (this.#ticker) {
        const idle = idleNow();
        this.#markIfSlept(idle);
        this.#stale = Math.max(0, now - this.#markAt - (idle - this.#markIdle));
      } else {
        // The first packets after a quiet spell: nothing watched the loop, take them as fresh.
        this.#stale = 0;
        this.#tickAt = now;
        this.#tickIdle = idleNow();
        this.#ticker = setInterval(this.#tick, this.tickMs).unref();
      }
      // The check phase comes right after this turn's poll phase, where every packet callback ran.
      setImmediate(this.#endTurn);
    }
    if (this.#stale + (now - this.#turnStart) <= this.maxWaitMs) return true;
    this.dropped++;
    return false;
  }

  #mark(now: number, idle: number): void {
    this.#markAt = now;
    this.#markIdle = idle;
  }

  /** The loop slept since the last tick: the queue was empty at some moment after it. */
  #markIfSlept(idle: number): void {
    if (idle - this.#tickIdle >= SLEPT_MS && this.#tickAt > this.#markAt) this.#mark(this.#tickAt, this.#tickIdle);
  }

  readonly #endTurn = (): void => {
    this.#turnStart = undefined;
    this.#mark(performance.now(), idleNow());
  };

  readonly #tick = (): void => {
    const now = performance.now();
    const idle = idleNow();
    this.#markIfSlept(idle);
    this.#tickAt = now;
    this.#tickIdle = idle;
    if (now - this.#lastPacket > QUIET_MS) {
      clearInterval(this.#ticker);
      this.#ticker = undefined;
    }
  };
}

/** One for the process: every echo peer's packets share the one event loop and its queue. */
export const echoBacklog = new EchoBacklog();
