/**
 * The sections of a libdatachannel WHEP viewer: one sendonly track per section that plays a
 * publisher track (announcing the SSRC the viewer receives it on), an inactive one per section
 * that plays nothing. The publication writes each packet for the viewer (kit/fan-out.ts); the
 * track sends it. From the viewer come keyframe requests and NACKs about our SSRC, relayed to
 * the publisher, and one keyframe request as soon as the section can carry media, so a new
 * viewer does not wait for the publisher's next keyframe.
 */
import type { PeerConnection, Track } from 'node-datachannel';
import type { EchoCounters, EchoPeerOptions, Publication, ViewerLink, ViewerTrack } from '../engine.js';
import { isRtcp, randomSsrc } from '../../rtp/packet.js';
import { buildBye, byeSources, genericNacks, keyframeRequestTargets } from '../../rtp/rtcp.js';
import { stackTakes } from '../kit/refusal.js';
import { buildMedia } from './media-description.js';
import type { ViewerSectionPlan } from './playback-plan.js';
import { RtcpRepeatFilter } from './rtcp-repeat-filter.js';

export interface PlaybackHooks {
  log: EchoPeerOptions['log'];
  counters: EchoCounters;
  /** Something arrived from the viewer (its inbound activity). */
  received(): void;
  /** The viewer said BYE for its source on `mid`. */
  sourceLeft(mid: string): void;
}

export function addPlaybackTracks(
  pc: PeerConnection,
  sections: readonly ViewerSectionPlan[],
  publication: Publication,
  hooks: PlaybackHooks,
): { tracks: Track[]; link: ViewerLink; sayBye(): void } {
  const tracks = new Map<string, Track>();
  const sources: Array<{ track: Track; ssrc: number }> = [];
  const viewerTracks: ViewerTrack[] = [];
  let link: ViewerLink | undefined;
  for (const section of sections) {
    const ssrc = randomSsrc();
    const mid = section.mid;
    const track = stackTakes(() =>
      pc.addTrack(buildMedia({ ...section, ssrc: { ssrc, cname: 'echo', streamId: 'whep', trackId: `whep-${section.kind}-${mid}` } })),
    );
    tracks.set(mid, track);
    if (section.mapping) {
      viewerTracks.push({ ...section.mapping, ssrc });
      sources.push({ track, ssrc });
    }
    const repeats = new RtcpRepeatFilter();
    track.onMessage((packet) => {
      hooks.received();
      if (!isRtcp(packet) || repeats.isRepeat(packet)) return;
      if (keyframeRequestTargets(packet).includes(ssrc)) {
        hooks.counters.keyframeRequests++;
        link?.requestKeyframe(mid);
      }
      for (const nack of genericNacks(packet)) if (nack.mediaSsrc === ssrc) link?.nack(mid, nack.sequences);
      if (byeSources(packet).some((source) => source !== ssrc)) hooks.sourceLeft(mid);
    });
    // The first moment this section can carry media: ask for a keyframe now.
    track.onOpen(() => link?.requestKeyframe(mid));
    track.onError((err) => hooks.log.debug({ err, mid }, 'track error'));
    // node-datachannel frees a track's native callbacks only when its closed event reaches JS.
    track.onClosed(() => {});
  }
  link = publication.addViewer(
    {
      sendRtp(viewerMid, packet) {
        const track = tracks.get(viewerMid);
        try {
          if (!track?.isOpen() || !track.sendMessageBinary(packet)) return false;
        } catch {
          return false; // closing, or an SRTP replay: dropped, as UDP would
        }
        hooks.counters.rtpPackets++;
        hooks.counters.rtpBytes += packet.length;
        return true;
      },
    },
    viewerTracks,
  );
  /**
   * Before the peer closes: an RTCP BYE for every source we played (RFC 3550 §6.6). libdatachannel
   * sends no DTLS close_notify for a media-only connection, so without it a viewer whose session
   * the server ended (its publisher went) would only learn it when ICE consent expires.
   */
  const sayBye = () => {
    for (const { track, ssrc } of sources) {
      try {
        if (track.isOpen()) track.sendMessageBinary(buildBye(ssrc));
      } catch {
        // closing anyway
      }
    }
  };
  return { tracks: [...tracks.values()], link, sayBye };
}
