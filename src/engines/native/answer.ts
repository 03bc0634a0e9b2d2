/**
 * The native engine's answer, written from the parsed offer, and what the data plane needs to
 * echo it (`EchoSectionConfig` per section). The echo sends each packet back as it came, only
 * the SSRC rewritten, so the answer mirrors the offer's payload types and header extension ids
 * and announces one echo SSRC per section.
 */
import { randomBytes } from 'node:crypto';
import type { MediaDescription, SessionDescription as ParsedSdp } from 'sdp-transform';
import { candidateLine } from '../../ice/candidates.js';
import type { IceCredentials, LocalCandidate } from '../../ice/types.js';
import { MID_EXTENSION_URI } from '../../rtp/header-extensions.js';
import { isLive, readOfferFacts, UnanswerableOffer, type OfferFacts } from './offer-facts.js';

export { UnanswerableOffer };
import type { EchoSectionConfig } from './plane.js';
import type { PlaybackPlan, TrackMapping } from '../../sdp/playback.js';

/** Our SCTP port (RFC 8841 §5: 5000 is what every stack uses). */
export const SCTP_PORT = 5000;
/** What our SCTP takes in one message, before the offer's own limit lowers it. */
export const DEFAULT_MAX_MESSAGE_SIZE = 262_144;
/** RFC 8841 §6.1: an offer without a=max-message-size takes 64 KiB. */
const MAX_MESSAGE_SIZE_ABSENT = 65_536;

export interface AnswerInput {
  /** The parsed offer (sdp-transform), as the route hands it over. */
  offer: ParsedSdp;
  /** Our ICE credentials (the agent's). */
  ice: IceCredentials;
  /** Our host candidates, as the agent has them (the server may rewrite them later for --public-ip). */
  candidates: readonly LocalCandidate[];
  /** The data plane's certificate fingerprint. */
  fingerprint: { algorithm: string; value: string };
  /** The largest data channel message our SCTP takes (default DEFAULT_MAX_MESSAGE_SIZE). */
  maxMessageSize?: number;
  /** The DTLS role we take when the offer leaves it to us (`a=setup:actpass`); default `client`. See stack-policy.ts. */
  dtlsRole?: 'client' | 'server';
  /**
   * A WHEP viewer's offer: each section of `plan.mappings` is answered sendonly with the
   * viewer's payload types of the mapping and an SSRC of ours (its section has `echo: false`),
   * every other audio or video section inactive.
   */
  playback?: PlaybackPlan;
}

export interface DataChannelPlan {
  mid: string;
  localPort: number;
  remotePort: number;
  /** What the answer announces: the smaller of ours and the offer's, since every message goes back (0: no limit). */
  maxMessageSize: number;
}

export interface NativeAnswer {
  sdp: string;
  offer: OfferFacts;
  /** The DTLS role we take: what the offer leaves us (RFC 5763 §5), chosen by stack-policy.ts when it is actpass. */
  dtlsRole: 'client' | 'server';
  /**
   * The sections the data plane takes, each with its own mid extension id: sendrecv audio and
   * video (echoed), recvonly ones (a WHIP publisher's: `echo: false`), and a viewer's played
   * sections (`echo: false`, `echoSsrc` the SSRC it plays on).
   */
  sections: EchoSectionConfig[];
  /**
   * The negotiated mid header extension id (RFC 8843 §15) of each answered media section, by
   * mid: werift offers a different one per section (extmap:1 in audio, extmap:2 in video).
   */
  midExtensionIds: Record<string, number>;
  dataChannel: DataChannelPlan | undefined;
}

/** Throws UnanswerableOffer when there is nothing this engine can answer. */
export function buildAnswer(input: AnswerInput): NativeAnswer {
  const { offer } = input;
  const facts = readOfferFacts(offer);
  const dtlsRole = facts.setup === 'active' ? 'server' : facts.setup === 'passive' ? 'client' : (input.dtlsRole ?? 'client');
  const shared = [
    `a=ice-ufrag:${input.ice.ufrag}`,
    `a=ice-pwd:${input.ice.pwd}`,
    `a=fingerprint:${input.fingerprint.algorithm} ${input.fingerprint.value}`,
    `a=setup:${dtlsRole === 'client' ? 'active' : 'passive'}`,
  ];
  const usedSsrcs = new Set((offer.media ?? []).flatMap((m) => (m.ssrcs ?? []).map((s) => Number(s.id))));
  const sections: EchoSectionConfig[] = [];
  const accepted: string[] = [];
  const body: string[] = [];
  const midExtensionIds: Record<string, number> = {};
  let dataChannel: DataChannelPlan | undefined;

  (offer.media ?? []).forEach((m, index) => {
    const mid = m.mid === undefined ? undefined : String(m.mid);
    const inTransport = facts.transportSections.has(index) && isLive(m);
    let lines: string[] | undefined;
    if (inTransport && (m.type === 'audio' || m.type === 'video') && mid !== undefined) {
      const played = input.playback?.mappings.find((mapping) => mapping.viewerMid === mid);
      const media = input.playback ? answerPlayback(m, mid, played, usedSsrcs) : answerMedia(m, mid, usedSsrcs);
      if (media) {
        lines = media.lines;
        if (media.section) sections.push(media.section);
        if (media.midExtensionId) midExtensionIds[mid] = media.midExtensionId;
      }
    } else if (inTransport && m.type === 'application' && /SCTP/i.test(m.protocol) && !dataChannel && mid !== undefined) {
      const data = answerData(m, mid, input.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE);
      lines = data.lines;
      dataChannel = data.plan;
    }
    if (!lines) {
      body.push(`m=${m.type} 0 ${m.protocol} ${m.payloads ?? ''}`.trimEnd(), 'c=IN IP4 0.0.0.0', ...(mid === undefined ? [] : [`a=mid:${mid}`]));
      return;
    }
    const candidates = accepted.length === 0 ? [...input.candidates.map((c) => `a=${candidateLine(c)}`), 'a=end-of-candidates'] : [];
    accepted.push(mid!);
    body.push(...lines.slice(0, 3), ...shared, ...lines.slice(3), ...candidates);
  });
  if (accepted.length === 0) throw new UnanswerableOffer('the offer has no section this engine can answer');

  const bundled = (offer.groups ?? []).some((g) => g.type.toUpperCase() === 'BUNDLE');
  const session = [
    'v=0',
    `o=- ${randomBytes(6).readUIntBE(0, 6)} 2 IN IP4 127.0.0.1`,
    's=-',
    't=0 0',
    ...(bundled ? [`a=group:BUNDLE ${accepted.join(' ')}`] : []),
    'a=msid-semantic:WMS echo',
  ];
  return { sdp: `${[...session, ...body].join('\r\n')}\r\n`, offer: facts, dtlsRole, sections, midExtensionIds, dataChannel };
}

/**
 * Codecs that make no sense to echo packet by packet (as src/engines/libdatachannel/echo-plan.ts
 * says): retransmission and redundancy streams travel on their own SSRCs or wrap other payload
 * types, so after an SSRC rewrite they would be misread.
 */
const NOT_ECHOED = new Set(['rtx', 'red', 'ulpfec', 'flexfec', 'flexfec-03']);

/** NACK and PLI/FIR, which the echo relays to the client's sender; not REMB or transport-cc (no bandwidth estimation here). */
function keepsFeedback(type: string, rawSubtype: string | undefined): string | undefined {
  const subtype = rawSubtype?.trim() || undefined; // pion writes `nack ` with a trailing space
  if (type === 'nack' && subtype === undefined) return 'nack';
  if (type === 'nack' && subtype === 'pli') return 'nack pli';
  if (type === 'ccm' && subtype === 'fir') return 'ccm fir';
  return undefined;
}

/** RFC 3264 §6.1: the answer mirrors the offer's direction; there is nothing to echo without the client's media. */
function answerDirection(offered: string | undefined): 'sendrecv' | 'recvonly' | 'inactive' {
  if (offered === 'sendonly') return 'recvonly';
  if (offered === 'recvonly' || offered === 'inactive') return 'inactive';
  return 'sendrecv';
}

function answerMedia(m: MediaDescription, mid: string, usedSsrcs: Set<number>): { lines: string[]; section?: EchoSectionConfig; midExtensionId: number } | undefined {
  // RTP and RTCP share the transport's one port (RFC 5761); an offer that cannot is refused here.
  if (m.rtcpMux === undefined) return undefined;
  const payloads = String(m.payloads ?? '').split(' ').filter(Boolean).map(Number).filter((pt) => Number.isInteger(pt) && pt >= 0 && pt <= 127);
  const mapped = payloads.map((pt) => ({ pt, rtp: m.rtp.find((r) => r.payload === pt) })).filter(({ pt, rtp }) => rtp !== undefined || pt < 35);
  const echoed = mapped.filter(({ rtp }) => !rtp || !NOT_ECHOED.has(rtp.codec.toLowerCase()));
  if (echoed.length === 0) return undefined;
  const direction = answerDirection(m.direction);
  const codecLines: string[] = [];
  for (const { pt, rtp } of echoed) {
    if (rtp) codecLines.push(`a=rtpmap:${pt} ${rtp.codec}/${rtp.rate ?? 90000}${rtp.encoding !== undefined ? `/${rtp.encoding}` : ''}`);
    for (const fmtp of m.fmtp) if (Number(fmtp.payload) === pt) codecLines.push(`a=fmtp:${pt} ${fmtp.config}`);
    const feedback = new Set<string>();
    for (const fb of m.rtcpFb ?? []) {
      const kept = (String(fb.payload) === String(pt) || fb.payload === '*') && keepsFeedback(fb.type, fb.subtype);
      if (kept) feedback.add(kept);
    }
    for (const fb of feedback) codecLines.push(`a=rtcp-fb:${pt} ${fb}`);
  }
  // The echo carries the client's header extensions back as they came, each packet with the
  // mid of the section it came on: the answer may say so, and the client demuxes by mid.
  // Only an id a header can carry (RFC 8285: 1-14 one-byte, up to 255 two-byte); any other is
  // no mid extension at all, and RTP finds its section by SSRC or payload type.
  const midExtension = m.ext?.find((e) => e.uri === MID_EXTENSION_URI && Number.isInteger(e.value) && e.value >= 1 && e.value <= 255);
  const lines = [`m=${m.type} 9 ${m.protocol} ${echoed.map((e) => e.pt).join(' ')}`, 'c=IN IP4 0.0.0.0', `a=mid:${mid}`, `a=${direction}`, 'a=rtcp-mux'];
  if (midExtension) lines.push(`a=extmap:${midExtension.value} ${MID_EXTENSION_URI}`);
  lines.push(...codecLines);
  // Only what an RTP header can carry (32 bits): the plane tells sections apart by these.
  const offeredSsrcs = [...new Set((m.ssrcs ?? []).map((s) => Number(s.id)))].filter((ssrc) => Number.isInteger(ssrc) && ssrc >= 0 && ssrc <= 0xffffffff);
  const midExtensionId = midExtension?.value ?? 0;
  if (direction === 'recvonly') {
    // A WHIP publisher: its RTP is taken (and played to its viewers), not echoed. The SSRC is
    // what our keyframe requests and NACKs to its sender come from; no a=ssrc, we send nothing.
    const section = { mid, echoSsrc: freshSsrc(usedSsrcs), payloadTypes: echoed.map((e) => e.pt), offeredSsrcs, midExtensionId, echo: false };
    return { lines, section, midExtensionId };
  }
  if (direction !== 'sendrecv') return { lines, midExtensionId };
  // Clients such as pion drop RTP on an SSRC the answer did not declare (RFC 5576 §4.1).
  const echoSsrc = freshSsrc(usedSsrcs);
  const track = `echo-${m.type}-${mid}`;
  lines.push(`a=msid:echo ${track}`, `a=ssrc:${echoSsrc} cname:echo`, `a=ssrc:${echoSsrc} msid:echo ${track}`);
  const section = { mid, echoSsrc, payloadTypes: echoed.map((e) => e.pt), offeredSsrcs, midExtensionId };
  return { lines, section, midExtensionId };
}

/**
 * A WHEP viewer's section: sendonly with the viewer's payload types of its mapping (its own
 * rtpmap, fmtp and the feedback we relay), an SSRC of ours announced; or inactive when it plays
 * nothing (planPlayback's idle sections, or a mapping whose codecs the section does not list).
 */
function answerPlayback(m: MediaDescription, mid: string, played: TrackMapping | undefined, usedSsrcs: Set<number>): { lines: string[]; section?: EchoSectionConfig; midExtensionId: number } | undefined {
  if (m.rtcpMux === undefined) return undefined;
  const offered = String(m.payloads ?? '').split(' ').filter(Boolean).map(Number);
  const viewerTypes = new Set((played?.payloadTypes ?? []).map(([, viewer]) => viewer));
  const sent = offered.filter((pt) => viewerTypes.has(pt));
  // Only an id a header can carry (RFC 8285: 1-14 one-byte, up to 255 two-byte); any other is
  // no mid extension at all, and RTP finds its section by SSRC or payload type.
  const midExtension = m.ext?.find((e) => e.uri === MID_EXTENSION_URI && Number.isInteger(e.value) && e.value >= 1 && e.value <= 255);
  const midExtensionId = midExtension?.value ?? 0;
  if (!played || sent.length === 0) {
    const payloads = offered.length > 0 ? offered.join(' ') : '0';
    return { lines: [`m=${m.type} 9 ${m.protocol} ${payloads}`, 'c=IN IP4 0.0.0.0', `a=mid:${mid}`, 'a=inactive', 'a=rtcp-mux'], midExtensionId };
  }
  const lines = [`m=${m.type} 9 ${m.protocol} ${sent.join(' ')}`, 'c=IN IP4 0.0.0.0', `a=mid:${mid}`, 'a=sendonly', 'a=rtcp-mux'];
  if (midExtension) lines.push(`a=extmap:${midExtension.value} ${MID_EXTENSION_URI}`);
  for (const pt of sent) {
    const rtp = m.rtp.find((r) => r.payload === pt);
    if (rtp) lines.push(`a=rtpmap:${pt} ${rtp.codec}/${rtp.rate ?? 90000}${rtp.encoding !== undefined ? `/${rtp.encoding}` : ''}`);
    for (const fmtp of m.fmtp) if (Number(fmtp.payload) === pt) lines.push(`a=fmtp:${pt} ${fmtp.config}`);
    const feedback = new Set<string>();
    for (const fb of m.rtcpFb ?? []) {
      const kept = (String(fb.payload) === String(pt) || fb.payload === '*') && keepsFeedback(fb.type, fb.subtype);
      if (kept) feedback.add(kept);
    }
    for (const fb of feedback) lines.push(`a=rtcp-fb:${pt} ${fb}`);
  }
  const ssrc = freshSsrc(usedSsrcs);
  const track = `whep-${m.type}-${mid}`;
  lines.push(`a=msid:echo ${track}`, `a=ssrc:${ssrc} cname:echo`, `a=ssrc:${ssrc} msid:echo ${track}`);
  // The played section receives nothing (no payload types); its echo SSRC is the one it plays on.
  const section: EchoSectionConfig = { mid, echoSsrc: ssrc, payloadTypes: [], offeredSsrcs: [], midExtensionId, echo: false };
  return { lines, section, midExtensionId };
}

function answerData(m: MediaDescription, mid: string, ourLimit: number): { lines: string[]; plan: DataChannelPlan } {
  // Both forms of RFC 8841: `UDP/DTLS/SCTP webrtc-datachannel` with a=sctp-port, and the older
  // `DTLS/SCTP 5000` with a=sctpmap (aiortc 1.4), whose third field counts streams, not bytes.
  const legacy = m.sctpPort === undefined && m.sctpmap !== undefined;
  const remotePort = m.sctpPort ?? m.sctpmap?.sctpmapNumber ?? (Number(m.payloads) || SCTP_PORT);
  const theirs = m.maxMessageSize ?? MAX_MESSAGE_SIZE_ABSENT;
  const maxMessageSize = theirs === 0 ? ourLimit : Math.min(ourLimit, theirs);
  const lines = legacy
    ? [`m=application 9 ${m.protocol} ${SCTP_PORT}`, 'c=IN IP4 0.0.0.0', `a=mid:${mid}`, `a=sctpmap:${SCTP_PORT} webrtc-datachannel 65535`]
    : [`m=application 9 ${m.protocol} webrtc-datachannel`, 'c=IN IP4 0.0.0.0', `a=mid:${mid}`, `a=sctp-port:${SCTP_PORT}`];
  lines.push(`a=max-message-size:${maxMessageSize}`);
  return { lines, plan: { mid, localPort: SCTP_PORT, remotePort, maxMessageSize } };
}

function freshSsrc(used: Set<number>): number {
  for (;;) {
    const ssrc = randomBytes(4).readUInt32BE(0);
    if (ssrc !== 0 && !used.has(ssrc)) {
      used.add(ssrc);
      return ssrc;
    }
  }
}
