/**
 * What the echo answer says for each media section of an offer, worked out from the offer alone.
 *
 * libdatachannel answers a media section with the description of the local track that has the
 * same mid, verbatim, if one exists (impl/peerconnection.cpp, populateLocalDescription); only
 * otherwise does it reciprocate the offer, and then without any `a=ssrc` of ours. Clients such as
 * pion drop RTP whose SSRC the answer did not declare, so the echo peer adds one track per mid
 * before it applies the offer, built from this plan.
 */
import type { Direction } from 'node-datachannel';
import type { MediaKind } from '../../sdp/description.js';
import { MID_EXTENSION_URI } from '../../rtp/header-extensions.js';
import type { ParsedSdp } from '../../sdp/parsed-offer.js';

export interface EchoSectionPlan {
  kind: MediaKind;
  mid: string;
  /** The answer's direction: sendrecv when the offer is, so that there is something to echo. */
  direction: Direction;
  /** The offer's payload types we accept; echo never rewrites the payload type. */
  payloadTypes: number[];
  /**
   * `a=rtpmap`, `a=fmtp` and `a=rtcp-fb` lines for those payload types, as the offer wrote them,
   * and the offer's `a=extmap` for the mid, if it has one.
   */
  codecLines: string[];
  /** `codec/rate[/channels]` per payload type, in the offer's order of preference. */
  codecs: Array<{ payloadType: number; codec: string }>;
}

/**
 * Codecs that make no sense to echo packet by packet: retransmission and redundancy streams
 * travel on their own SSRCs (or wrap other payload types), so after an SSRC rewrite they would
 * be misread. Without them the client sends plain media only.
 */
const NOT_ECHOED = new Set(['rtx', 'red', 'ulpfec', 'flexfec', 'flexfec-03']);

/**
 * Feedback we keep: NACK and PLI/FIR, which make a client send keyframes when asked. Dropped:
 * goog-remb and transport-cc, which need header extensions and bandwidth estimation we don't do.
 */
function keepsFeedback(type: string, rawSubtype: string | undefined): boolean {
  // pion writes `a=rtcp-fb:96 nack ` (a trailing space), which sdp-transform reads as subtype '': plain nack.
  const subtype = rawSubtype?.trim() || undefined;
  return (type === 'nack' && (subtype === undefined || subtype === 'pli')) || (type === 'ccm' && subtype === 'fir');
}

/** RFC 3264 §6.1: the answer's direction mirrors the offer's. */
function answerDirection(offered: string | undefined): Direction {
  switch (offered) {
    case 'sendonly':
      return 'RecvOnly';
    case 'recvonly':
    case 'inactive':
      return 'Inactive';
    default:
      return 'SendRecv';
  }
}

/** The plan of every audio and video section of the offer (its parse, ParsedOffer.parsed). */
export function planEchoSections(offer: ParsedSdp): EchoSectionPlan[] {
  const plans: EchoSectionPlan[] = [];
  for (const media of offer.media) {
    if (media.type !== 'audio' && media.type !== 'video') continue;
    // A rejected section (port 0) or one without a mid is left to libdatachannel to answer.
    // Port 0 with a=bundle-only is not a rejection but a section that exists only inside the
    // BUNDLE group (RFC 8843 §7.2): Firefox writes every section after the first this way
    // under bundlePolicy 'max-bundle', and skipping them left its video without an echo.
    if ((media.port === 0 && media.bundleOnly === undefined) || media.mid === undefined) continue;

    const echoed = media.rtp.filter((rtp) => !NOT_ECHOED.has(rtp.codec.toLowerCase()));
    const chosen = echoed.length > 0 ? echoed : media.rtp;
    const codecLines: string[] = [];
    const codecs: EchoSectionPlan['codecs'] = [];
    for (const rtp of chosen) {
      const encoding = rtp.encoding !== undefined ? `/${rtp.encoding}` : '';
      const codec = `${rtp.codec}/${rtp.rate ?? 90000}${encoding}`;
      codecs.push({ payloadType: rtp.payload, codec });
      codecLines.push(`a=rtpmap:${rtp.payload} ${codec}`);
      for (const fmtp of media.fmtp) {
        if (Number(fmtp.payload) === rtp.payload) codecLines.push(`a=fmtp:${rtp.payload} ${fmtp.config}`);
      }
      for (const fb of media.rtcpFb ?? []) {
        if ((String(fb.payload) === String(rtp.payload) || fb.payload === '*') && keepsFeedback(fb.type, fb.subtype)) {
          codecLines.push(`a=rtcp-fb:${rtp.payload} ${fb.type}${fb.subtype?.trim() ? ` ${fb.subtype.trim()}` : ''}`);
        }
      }
    }
    // The echo sends the client's packets back with their header extensions as they came, and
    // each carries the mid of the section it came on, which is the section it goes back on: the
    // answer may say so (RFC 8843 §15), so the client can demux the echo by mid as browsers do.
    const mid = media.ext?.find((e) => e.uri === MID_EXTENSION_URI);
    if (mid) codecLines.push(`a=extmap:${mid.value} ${MID_EXTENSION_URI}`);
    plans.push({
      kind: media.type,
      mid: String(media.mid),
      direction: answerDirection(media.direction),
      payloadTypes: chosen.map((rtp) => rtp.payload),
      codecLines,
      codecs,
    });
  }
  return plans;
}
