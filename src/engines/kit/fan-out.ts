/**
 * A Publication in JavaScript, for engines whose publishing peer sees each RTP packet in JS
 * (libdatachannel, werift): the peer hands every packet it receives to `forward`, and each viewer
 * gets its own copy, rewritten for it (rtp/forward.ts). A native data plane implements the same
 * interface without this class (docs/whip-whep.md).
 */
import type { Logger } from 'pino';
import type { Publication, ViewerLink, ViewerSink, ViewerTrack } from '../engine.js';
import type { PublishedTrack } from '../../sdp/playback.js';
import { oneByteExtensionBlock } from '../../rtp/header-extensions.js';
import { forwardedPacket } from '../../rtp/forward.js';
import { rtpPayloadType } from '../../rtp/packet.js';

/** What the publishing peer does for its viewers: asks its client's sender for a keyframe, or for packets again. */
export interface PublisherUpstream {
  /** A PLI about the publisher's SSRC on section `mid`; false when it could not be sent (no SSRC seen yet). */
  requestKeyframe(mid: string): boolean;
  nack(mid: string, sequences: readonly number[]): void;
}

/**
 * Keyframe requests for one publisher track at most this often; one that comes sooner is sent
 * when the interval is over, not dropped, so a viewer that joins right after another still gets
 * a keyframe within this long. A keyframe costs the publisher many times a delta frame.
 */
export const KEYFRAME_REQUEST_INTERVAL_MS = 300;

/** One viewer section fed from one publisher track. */
interface Outlet {
  readonly sink: ViewerSink;
  readonly track: ViewerTrack;
  /** publisher payload type → the viewer's. */
  readonly payloadTypes: Map<number, number>;
  readonly extensions: Buffer | undefined;
}

export class RtpFanOut implements Publication {
  /** Per publisher mid, the viewer sections it feeds. */
  readonly #outlets = new Map<string, Set<Outlet>>();
  readonly #viewers = new Set<ViewerLink>();
  /** Per publisher mid: when a keyframe request last went out, and the one waiting for the interval. */
  readonly #keyframes = new Map<string, { sentAt: number; pending?: NodeJS.Timeout }>();
  #closed = false;
  /** Viewer copies sent (for the publisher's log line). */
  forwarded = 0;

  constructor(
    readonly tracks: readonly PublishedTrack[],
    private readonly upstream: PublisherUpstream,
    private readonly log: Logger,
  ) {}

  get viewers(): number {
    return this.#viewers.size;
  }

  /** Called by the publishing peer with every RTP packet of section `mid`, before anything changes it in place. */
  forward(mid: string, packet: Buffer): void {
    const outlets = this.#outlets.get(mid);
    if (!outlets || outlets.size === 0) return;
    const payloadType = rtpPayloadType(packet);
    for (const outlet of outlets) {
      const viewerPayloadType = outlet.payloadTypes.get(payloadType);
      if (viewerPayloadType === undefined) continue;
      const copy = forwardedPacket(packet, viewerPayloadType, outlet.track.ssrc, outlet.extensions);
      if (copy && outlet.sink.sendRtp(outlet.track.viewerMid, copy)) this.forwarded++;
    }
  }

  addViewer(sink: ViewerSink, tracks: readonly ViewerTrack[]): ViewerLink {
    const outlets = tracks.map(
      (track): Outlet => ({
        sink,
        track,
        payloadTypes: new Map(track.payloadTypes.map(([from, to]) => [from, to])),
        extensions: track.midExtensionId === undefined ? undefined : oneByteExtensionBlock([{ id: track.midExtensionId, value: Buffer.from(track.viewerMid, 'utf8') }]),
      }),
    );
    const publisherMidOf = (viewerMid: string) => tracks.find((t) => t.viewerMid === viewerMid)?.publisherMid;
    let removed = false;
    const link: ViewerLink = {
      requestKeyframe: (viewerMid) => {
        const mid = publisherMidOf(viewerMid);
        if (!removed && mid !== undefined) this.#requestKeyframe(mid);
      },
      nack: (viewerMid, sequences) => {
        const mid = publisherMidOf(viewerMid);
        if (!removed && mid !== undefined && sequences.length > 0) this.upstream.nack(mid, sequences);
      },
      remove: () => {
        if (removed) return;
        removed = true;
        this.#viewers.delete(link);
        for (const outlet of outlets) this.#outlets.get(outlet.track.publisherMid)?.delete(outlet);
      },
    };
    if (this.#closed) {
      removed = true;
      return link;
    }
    for (const outlet of outlets) {
      let set = this.#outlets.get(outlet.track.publisherMid);
      if (!set) this.#outlets.set(outlet.track.publisherMid, (set = new Set()));
      set.add(outlet);
    }
    this.#viewers.add(link);
    return link;
  }

  /** The publisher is gone: no more forwarding, no more requests upstream. Idempotent. */
  close(): void {
    this.#closed = true;
    for (const link of [...this.#viewers]) link.remove();
    for (const state of this.#keyframes.values()) clearTimeout(state.pending);
    this.#keyframes.clear();
  }

  #requestKeyframe(mid: string): void {
    if (this.#closed || this.tracks.find((t) => t.mid === mid)?.kind !== 'video') return;
    let state = this.#keyframes.get(mid);
    if (!state) this.#keyframes.set(mid, (state = { sentAt: -Infinity }));
    if (state.pending) return;
    const wait = state.sentAt + KEYFRAME_REQUEST_INTERVAL_MS - performance.now();
    const send = () => {
      state.pending = undefined;
      if (this.#closed) return;
      if (this.upstream.requestKeyframe(mid)) state.sentAt = performance.now();
      else this.log.debug({ mid }, 'keyframe request not sent: no packet from the publisher yet');
    };
    if (wait <= 0) send();
    else state.pending = setTimeout(send, wait).unref();
  }
}
