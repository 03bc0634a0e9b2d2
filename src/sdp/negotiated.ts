/**
 * What an offer and its answer negotiated, read from the SDP alone, for the client's sub-checks:
 * the DTLS roles (RFC 8842 §5: `a=setup`), the SCTP message size limit (RFC 8841 §6:
 * `a=max-message-size`), header extension ids (RFC 8285 §5: `a=extmap`) and RTCP feedback
 * (RFC 4585 §4.2: `a=rtcp-fb`).
 */
import sdpTransform from 'sdp-transform';
import type { MediaKind } from './description.js';

export type DtlsRole = 'client' | 'server';
type Setup = 'actpass' | 'active' | 'passive' | 'holdconn';

/** The roles the SDP gives each side, or why it gives none (`problem`). */
export interface DtlsRoles {
  offerSetup?: string;
  answerSetup?: string;
  /** The offerer's role (the client peer's in the Echo Test). */
  offerer?: DtlsRole;
  answerer?: DtlsRole;
  /** Set when the SDP gives no consistent roles: the handshake cannot start. */
  problem?: string;
}

/** The `a=setup` of the first section that has one (bundled sections share one transport), else the session's. */
function setupOf(sdp: string): string | undefined {
  const parsed = sdpTransform.parse(sdp) as { setup?: string; media: Array<{ setup?: string; port?: number }> };
  return parsed.media.find((m) => m.setup !== undefined)?.setup ?? parsed.setup;
}

/**
 * RFC 8842 §5.2-5.3 (and RFC 5763 §5): the offer says `actpass` (or, outside JSEP, a fixed
 * role), the answer `active` (the answerer is the DTLS client, it sends the ClientHello) or
 * `passive` (the answerer is the server). An answer of `actpass`, of the offerer's own fixed
 * role, or of none at all leaves no client or no server.
 */
export function dtlsRoles(offerSdp: string, answerSdp: string): DtlsRoles {
  const offerSetup = setupOf(offerSdp) as Setup | undefined;
  const answerSetup = setupOf(answerSdp) as Setup | undefined;
  const roles: DtlsRoles = { offerSetup, answerSetup };
  if (answerSetup === undefined) return { ...roles, problem: 'the answer has no a=setup' };
  if (answerSetup === 'actpass') return { ...roles, problem: 'the answer says actpass, which only an offer may (RFC 8842 §5.3): nobody is the DTLS client' };
  if (answerSetup === 'holdconn') return { ...roles, problem: 'the answer says holdconn: no DTLS connection' };
  if (answerSetup !== 'active' && answerSetup !== 'passive') return { ...roles, problem: `the answer's a=setup:${answerSetup} is not a role` };
  if (offerSetup !== undefined && offerSetup !== 'actpass' && offerSetup === answerSetup) {
    return { ...roles, problem: `both sides ${answerSetup}: ${answerSetup === 'active' ? 'two DTLS clients' : 'two DTLS servers'}` };
  }
  const answerer: DtlsRole = answerSetup === 'active' ? 'client' : 'server';
  return { ...roles, answerer, offerer: answerer === 'client' ? 'server' : 'client' };
}

/** RFC 8841 §6.1: without the attribute the limit is 64 KiB; 0 means any size. */
export const DEFAULT_MAX_MESSAGE_SIZE = 65_536;

/**
 * The `a=max-message-size` of the SDP's data channel section: a number (0: no limit), the
 * RFC 8841 default when the section has none, undefined when there is no such section.
 */
export function maxMessageSize(sdp: string): { size: number; declared: boolean } | undefined {
  const section = sdpTransform.parse(sdp).media.find((m) => m.type === 'application');
  if (!section) return undefined;
  const declared = (section as { maxMessageSize?: number }).maxMessageSize;
  return declared === undefined ? { size: DEFAULT_MAX_MESSAGE_SIZE, declared: false } : { size: Number(declared), declared: true };
}

interface MediaSection {
  type: string;
  mid?: string | number;
  port?: number;
  ext?: Array<{ value: number; uri: string }>;
  rtp: Array<{ payload: number; codec: string }>;
  rtcpFb?: Array<{ payload: string | number; type: string; subtype?: string }>;
}

/** The (first) audio or video section of an SDP. */
export function mediaSection(sdp: string, kind: MediaKind): MediaSection | undefined {
  return (sdpTransform.parse(sdp).media as MediaSection[]).find((m) => m.type === kind);
}

/** The id an SDP section gives a header extension (`a=extmap:ID URI`), if it lists it. */
export function extensionId(section: MediaSection | undefined, uri: string): number | undefined {
  return section?.ext?.find((e) => e.uri === uri)?.value;
}

/**
 * Whether a section negotiates feedback `type [subtype]` (`nack`, `nack pli`, `ccm fir`) for the
 * payload types of `codec` (case-insensitive), or for every payload type (`*`).
 */
export function negotiatesFeedback(section: MediaSection | undefined, codec: string, type: string, subtype?: string): boolean {
  if (!section) return false;
  const payloads = new Set(section.rtp.filter((r) => r.codec.toLowerCase() === codec.toLowerCase()).map((r) => String(r.payload)));
  if (payloads.size === 0) return false;
  return (section.rtcpFb ?? []).some(
    // `a=rtcp-fb:96 nack ` (pion writes a trailing space) is plain nack: an empty subtype is none.
    (fb) => (fb.payload === '*' || payloads.has(String(fb.payload))) && fb.type === type && (fb.subtype?.trim() || undefined) === subtype,
  );
}
