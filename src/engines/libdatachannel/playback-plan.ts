/**
 * What the libdatachannel viewer's answer says for each media section of a WHEP player's offer:
 * the echo plan of that section (its codec lines, as the player wrote them), narrowed to the
 * payload types the playback plan maps, sendonly; or inactive where it plays nothing.
 */
import type { ParsedSdp } from '../../sdp/parsed-offer.js';
import type { PlaybackPlan, TrackMapping } from '../../sdp/playback.js';
import { planEchoSections, type EchoSectionPlan } from './echo-plan.js';

export interface ViewerSectionPlan extends EchoSectionPlan {
  /** The publisher track this section plays; undefined: answered inactive. */
  mapping?: TrackMapping;
}

export function planViewerSections(offer: ParsedSdp, playback: PlaybackPlan): ViewerSectionPlan[] {
  return planEchoSections(offer).map((section) => {
    const mapping = playback.mappings.find((m) => m.viewerMid === section.mid);
    if (!mapping) return { ...section, direction: 'Inactive' };
    // The viewer's payload types, in the publisher's order of preference.
    const wanted = [...new Set(mapping.payloadTypes.map(([, viewer]) => viewer))];
    const codecs = wanted.flatMap((pt) => section.codecs.filter((c) => c.payloadType === pt));
    const codecLines = section.codecLines.filter((line) => {
      const pt = /^a=(?:rtpmap|fmtp|rtcp-fb):(\d+) /.exec(line)?.[1];
      return pt === undefined ? line.startsWith('a=extmap:') : wanted.includes(Number(pt));
    });
    return { ...section, direction: 'SendOnly', payloadTypes: wanted, codecs, codecLines, mapping };
  });
}
