/**
 * Keyframe requests of a publisher's viewers, coalesced per publisher track: at most one PLI
 * to the publisher per KEYFRAME_REQUEST_INTERVAL_MS; one asked for sooner is sent when the
 * interval is over, not dropped, so a viewer that joins right after another still gets a
 * keyframe within that long. A keyframe costs the publisher many times a delta frame. Engine
 * neutral: the JavaScript fan-out uses it, and so can a native data plane's publication, which
 * then only has to send the PLI it is asked for.
 */
import type { Logger } from 'pino';

export const KEYFRAME_REQUEST_INTERVAL_MS = 300;

export class KeyframeRequests {
  /** Per publisher mid: when a request last went out, and the one waiting for the interval. */
  readonly #tracks = new Map<string, { sentAt: number; pending?: NodeJS.Timeout }>();
  #closed = false;

  /** `send(mid)` sends one PLI about the publisher's SSRC on `mid`; false when it could not (no packet from it yet). */
  constructor(
    private readonly send: (mid: string) => boolean,
    private readonly log: Logger,
  ) {}

  request(mid: string): void {
    if (this.#closed) return;
    let state = this.#tracks.get(mid);
    if (!state) this.#tracks.set(mid, (state = { sentAt: -Infinity }));
    if (state.pending) return;
    const wait = state.sentAt + KEYFRAME_REQUEST_INTERVAL_MS - performance.now();
    const go = () => {
      state.pending = undefined;
      if (this.#closed) return;
      if (this.send(mid)) state.sentAt = performance.now();
      else this.log.debug({ mid }, 'keyframe request not sent: no packet from the publisher yet');
    };
    if (wait <= 0) go();
    else state.pending = setTimeout(go, wait).unref();
  }

  /** No more requests; pending ones are dropped. Idempotent. */
  close(): void {
    this.#closed = true;
    for (const state of this.#tracks.values()) clearTimeout(state.pending);
    this.#tracks.clear();
  }
}
