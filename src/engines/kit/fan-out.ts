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
import { KeyframeRequests } from './keyframe-requests.js';

/** What the publishing peer does for its viewers: asks its client's sender for a keyframe, or for packets again. */
export interface PublisherUpstream {
  /** A PLI about the publisher's SSRC on section `mid`; false when it could not be sent (no SSRC seen yet). */
  requestKeyframe(mid: string): boolean;
  nack(mid: string, sequences: readonly number[]): void;
}

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
  readonly #keyframes: KeyframeRequests;
  #closed = false;
  /** Viewer copies sent (for the publisher's log line). */
  forwarded = 0;

  constructor(
    readonly tracks: readonly PublishedTrack[],
    private readonly upstream: PublisherUpstream,
    log: Logger,
  ) {
    this.#keyframes = new KeyframeRequests((mid) => upstream.requestKeyframe(mid), log);
  }

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
        // Audio has no keyframes: only video tracks are asked.
        if (!removed && mid !== undefined && this.tracks.find((t) => t.mid === mid)?.kind === 'video') this.#keyframes.request(mid);
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
    this.#keyframes.close();
  }
}
