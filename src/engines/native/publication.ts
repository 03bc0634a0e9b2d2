/**
 * The native engine's Publication: a publishing session's tracks played to viewer sessions by
 * the data plane itself (native/src/playback.h). No packet comes up to JavaScript: `addViewer`
 * hands the plane the two session ids and the mapping, and the plane copies, rewrites, encrypts
 * and sends each packet on its own thread. What stays here: the viewer count, keyframe requests
 * coalesced per publisher track (kit/keyframe-requests.ts, as the JavaScript engines do), and
 * the viewers' NACKs passed down.
 */
import type { Logger } from 'pino';
import type { Publication, ViewerLink, ViewerSink, ViewerTrack } from '../engine.js';
import type { PublishedTrack } from '../../sdp/playback.js';
import { KeyframeRequests } from '../kit/keyframe-requests.js';
import type { NativePlane } from './plane.js';

/** A viewer peer of this engine: the plane session its packets go to. */
export interface NativeViewerSink extends ViewerSink {
  readonly planeSession: number;
}

export function isNativeViewerSink(sink: ViewerSink): sink is NativeViewerSink {
  return typeof (sink as Partial<NativeViewerSink>).planeSession === 'number';
}

export class NativePublication implements Publication {
  readonly #links = new Set<ViewerLink>();
  readonly #keyframes: KeyframeRequests;
  #closed = false;

  constructor(
    readonly tracks: readonly PublishedTrack[],
    private readonly plane: Pick<NativePlane, 'addViewer' | 'removeViewer' | 'requestKeyframe' | 'nackForViewer'>,
    private readonly session: number,
    private readonly log: Logger,
  ) {
    this.#keyframes = new KeyframeRequests((mid) => !this.#closed && plane.requestKeyframe(session, mid), log);
  }

  get viewers(): number {
    return this.#links.size;
  }

  /** `sink` must be a viewer peer of the native engine in this process (createViewerPeer). */
  addViewer(sink: ViewerSink, tracks: readonly ViewerTrack[]): ViewerLink {
    if (!isNativeViewerSink(sink)) throw new Error('a native publication plays only to native viewer peers');
    const viewer = sink.planeSession;
    const publisherMidOf = (viewerMid: string) => tracks.find((t) => t.viewerMid === viewerMid)?.publisherMid;
    let removed = this.#closed;
    const link: ViewerLink = {
      requestKeyframe: (viewerMid) => {
        const mid = publisherMidOf(viewerMid);
        // Audio has no keyframes: only video tracks are asked.
        if (!removed && mid !== undefined && this.tracks.find((t) => t.mid === mid)?.kind === 'video') this.#keyframes.request(mid);
      },
      nack: (viewerMid, sequences) => {
        // The plane maps the viewer's sequence numbers back to the publisher's (they differ after a change of source).
        if (!removed && sequences.length > 0 && publisherMidOf(viewerMid) !== undefined) {
          for (let i = 0; i < sequences.length; i += 64) this.plane.nackForViewer(viewer, viewerMid, sequences.slice(i, i + 64));
        }
      },
      remove: () => {
        if (removed) return;
        removed = true;
        this.#links.delete(link);
        this.plane.removeViewer(viewer);
      },
    };
    if (removed) return link;
    const played = tracks.map((t) => ({
      publisherMid: t.publisherMid,
      viewerMid: t.viewerMid,
      payloadTypes: t.payloadTypes,
      ssrc: t.ssrc,
      ...(t.midExtensionId !== undefined ? { midExtensionId: t.midExtensionId } : {}),
    }));
    const added = this.plane.addViewer(this.session, viewer, played);
    if (added !== true) {
      this.log.warn({ viewer, reason: added }, 'the data plane refused the viewer');
      removed = true;
      return link;
    }
    this.#links.add(link);
    return link;
  }

  /** The publisher is gone: its viewers are unlinked (the plane unlinks them with its session too). Idempotent. */
  close(): void {
    if (this.#closed) return;
    for (const link of [...this.#links]) link.remove();
    this.#closed = true;
    this.#keyframes.close();
  }
}
