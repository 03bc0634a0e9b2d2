/**
 * Playback (WHEP): what a publisher sends, and how a viewer's offer receives it. Plain SDP work
 * on parses, engine-neutral: the session host plans a viewer before any stack sees its offer,
 * and every engine (a native data plane too) gets the same plan, mapped to numbers it can use
 * per packet: payload types, mids, the mid extension's id.
 */
import { EchoError } from '../errors/echo-error.js';
import type { MediaKind } from './description.js';
import type { ParsedSdp } from './parsed-offer.js';

/** One codec of a media section, as its `a=rtpmap` (and `a=fmtp`) says. */
export interface RtpCodec {
  payloadType: number;
  /** As the SDP writes it: `VP8`, `opus`, `H264`. Compared without case. */
  name: string;
  clockRate: number;
  channels?: number;
  fmtp?: string;
}

/** One media section a publisher sends on: its mid, and the codecs our answer accepted (its payload types). */
export interface PublishedTrack {
  readonly mid: string;
  readonly kind: MediaKind;
  readonly codecs: readonly RtpCodec[];
}

/** How one publisher track reaches one viewer section. Plain data: it crosses process and language boundaries. */
export interface TrackMapping {
  readonly kind: MediaKind;
  readonly publisherMid: string;
  readonly viewerMid: string;
  /** [publisher payload type, the viewer's], for each codec both sides have; packets of other payload types are not forwarded. */
  readonly payloadTypes: ReadonlyArray<readonly [number, number]>;
  /** The id the viewer's offer gives the mid header extension (RFC 8843 §15); forwarded packets carry it, and no other extension. */
  readonly midExtensionId?: number;
}

/** What a viewer's offer gets of a publication. */
export interface PlaybackPlan {
  readonly mappings: readonly TrackMapping[];
  /** Viewer sections of a kind the publisher does not send: answered `inactive`. */
  readonly idle: ReadonlyArray<{ readonly mid: string; readonly kind: MediaKind }>;
}

/** RFC 8843 §15 (rtp/header-extensions.ts names it too; sdp/ imports nothing but errors/). */
const MID_EXTENSION_URI = 'urn:ietf:params:rtp-hdrext:sdes:mid';

/** Codecs that only make sense beside another one; never the codec a track plays. */
const AUXILIARY = new Set(['rtx', 'red', 'ulpfec', 'flexfec', 'flexfec-03']);

/** The codecs of one parsed media section, auxiliary ones left out, in the section's order. */
export function sectionCodecs(media: ParsedSdp['media'][number]): RtpCodec[] {
  const order = String(media.payloads ?? '').split(' ').map(Number);
  const codecs = media.rtp
    .filter((rtp) => !AUXILIARY.has(rtp.codec.toLowerCase()))
    .map((rtp): RtpCodec => {
      const fmtp = media.fmtp.find((f) => Number(f.payload) === rtp.payload)?.config;
      return {
        payloadType: rtp.payload,
        name: rtp.codec,
        clockRate: rtp.rate ?? 90_000,
        ...(rtp.encoding !== undefined ? { channels: Number(rtp.encoding) } : {}),
        ...(fmtp !== undefined ? { fmtp } : {}),
      };
    });
  return codecs.sort((a, b) => order.indexOf(a.payloadType) - order.indexOf(b.payloadType));
}

/**
 * The tracks a publisher sends, from the answer we gave it: each audio or video section our
 * answer receives on (recvonly, or sendrecv when it echoes), with the codecs it accepted.
 */
export function publishedTracks(answer: ParsedSdp): PublishedTrack[] {
  return answer.media
    .filter((m) => (m.type === 'audio' || m.type === 'video') && m.port !== 0 && m.mid !== undefined)
    .filter((m) => m.direction === undefined || m.direction === 'recvonly' || m.direction === 'sendrecv')
    .map((m) => ({ mid: String(m.mid), kind: m.type as MediaKind, codecs: sectionCodecs(m) }))
    .filter((track) => track.codecs.length > 0);
}

/**
 * The plan for a viewer's offer: each audio or video section, in order, plays the publisher's
 * first track of its kind not played yet, with every codec both sides have (payload types
 * mapped); a section of a kind the publisher does not send stays idle. Throws 422
 * ECHO_ERR_UNSUPPORTED_OFFER when the offer cannot receive anything the publisher sends, or
 * A section that does not receive (`sendonly`, `inactive`: refused before, ingest-offer.ts) plays nothing.
 */
export function planPlayback(viewerOffer: ParsedSdp, tracks: readonly PublishedTrack[]): PlaybackPlan {
  const mappings: TrackMapping[] = [];
  const idle: Array<{ mid: string; kind: MediaKind }> = [];
  const unplayed = [...tracks];
  const unmatched: string[] = [];
  for (const media of viewerOffer.media) {
    if (media.type !== 'audio' && media.type !== 'video') continue;
    if ((media.port === 0 && media.bundleOnly === undefined) || media.mid === undefined) continue;
    const mid = String(media.mid);
    const receives = media.direction !== 'sendonly' && media.direction !== 'inactive';
    const track = receives ? unplayed.find((t) => t.kind === media.type) : undefined;
    if (!track) {
      idle.push({ mid, kind: media.type });
      continue;
    }
    const offered = sectionCodecs(media);
    const payloadTypes = track.codecs.flatMap((codec) => {
      const match = matchCodec(codec, offered);
      return match ? [[codec.payloadType, match.payloadType] as const] : [];
    });
    if (payloadTypes.length === 0) {
      unmatched.push(`${media.type} (publisher sends ${track.codecs.map(describeCodec).join(', ')}; viewer offers ${offered.map(describeCodec).join(', ') || 'none'})`);
      idle.push({ mid, kind: media.type });
      continue;
    }
    unplayed.splice(unplayed.indexOf(track), 1);
    const midExtensionId = media.ext?.find((e) => e.uri === MID_EXTENSION_URI)?.value;
    mappings.push({ kind: track.kind, publisherMid: track.mid, viewerMid: mid, payloadTypes, ...(midExtensionId !== undefined ? { midExtensionId } : {}) });
  }
  if (mappings.length === 0) {
    const published = tracks.map((t) => t.kind).join(' and ') || 'nothing yet';
    const why = unmatched.length > 0 ? `no codec in common: ${unmatched.join('; ')}` : `the publisher sends ${published}`;
    throw EchoError.unsupportedOffer(`the viewer's offer can receive nothing this publisher sends: ${why}`);
  }
  return { mappings, idle };
}

/** `VP8/90000`, `opus/48000/2`. */
export function describeCodec(codec: RtpCodec): string {
  return `${codec.name}/${codec.clockRate}${codec.channels !== undefined ? `/${codec.channels}` : ''}`;
}

/**
 * The viewer's codec that plays what the publisher's `codec` carries: same name, clock rate
 * and channels; for H264 the same packetization mode (a decoder cannot take another), the same
 * profile where the viewer has it; for VP9 the same profile.
 */
function matchCodec(codec: RtpCodec, offered: readonly RtpCodec[]): RtpCodec | undefined {
  const name = codec.name.toLowerCase();
  const same = offered.filter(
    (o) => o.name.toLowerCase() === name && o.clockRate === codec.clockRate && (o.channels ?? 1) === (codec.channels ?? 1),
  );
  if (name === 'h264') {
    const mode = fmtpParam(codec.fmtp, 'packetization-mode') ?? '0';
    const sameMode = same.filter((o) => (fmtpParam(o.fmtp, 'packetization-mode') ?? '0') === mode);
    const profile = h264Profile(codec.fmtp);
    return sameMode.find((o) => h264Profile(o.fmtp) === profile) ?? sameMode[0];
  }
  if (name === 'vp9') {
    const profile = fmtpParam(codec.fmtp, 'profile-id') ?? '0';
    return same.find((o) => (fmtpParam(o.fmtp, 'profile-id') ?? '0') === profile);
  }
  return same[0];
}

/** profile_idc and the constraint flags of an H264 profile-level-id (RFC 6184 §8.1), without the level. */
function h264Profile(fmtp: string | undefined): string {
  return (fmtpParam(fmtp, 'profile-level-id') ?? '42001f').slice(0, 4).toLowerCase();
}

function fmtpParam(fmtp: string | undefined, name: string): string | undefined {
  for (const part of (fmtp ?? '').split(';')) {
    const [key, value] = part.split('=');
    if (key?.trim().toLowerCase() === name) return value?.trim();
  }
  return undefined;
}
