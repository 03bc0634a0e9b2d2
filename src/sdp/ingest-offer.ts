/**
 * What WHIP and WHEP ask of an offer beyond the Echo Test's checks (sdp/offer.ts), read from
 * the same parse. A WHIP client sends one MediaStream, at most one track of each kind, on
 * sections it sends on (RFC 9725: "sendonly", or "sendrecv"; "recvonly" and "inactive" MUST
 * NOT be used; more tracks than the endpoint supports: 422). A WHEP player receives (draft-
 * ietf-wish-whep: "recvonly", or "sendrecv"; never "sendonly" or "inactive").
 */
import { EchoError } from '../errors/echo-error.js';
import type { ParsedSdp } from './parsed-offer.js';

/** The audio and video sections that take part: not rejected (port 0 without bundle-only). */
function mediaSections(offer: ParsedSdp) {
  return offer.media.filter((m) => (m.type === 'audio' || m.type === 'video') && (m.port !== 0 || m.bundleOnly !== undefined));
}

/** Throws 422 ECHO_ERR_UNSUPPORTED_OFFER for an offer a WHIP endpoint does not take. */
export function checkWhipOffer(offer: ParsedSdp): void {
  const sections = mediaSections(offer);
  if (sections.length === 0) throw EchoError.unsupportedOffer('a WHIP offer publishes audio or video, and this one has neither');
  for (const m of sections) {
    if (m.direction === 'recvonly' || m.direction === 'inactive') {
      throw EchoError.unsupportedOffer(`a WHIP client sends: its ${m.type} section (mid ${m.mid}) is ${m.direction}; offer sendonly (or sendrecv to get it echoed)`);
    }
  }
  for (const kind of ['audio', 'video'] as const) {
    const count = sections.filter((m) => m.type === kind).length;
    if (count > 1) throw EchoError.unsupportedOffer(`WHIP publishes one MediaStream with at most one ${kind} track; this offer has ${count} ${kind} sections`);
  }
}

/** Throws 422 ECHO_ERR_UNSUPPORTED_OFFER for an offer a WHEP endpoint does not take. */
export function checkWhepOffer(offer: ParsedSdp): void {
  const sections = mediaSections(offer);
  if (sections.length === 0) throw EchoError.unsupportedOffer('a WHEP offer receives audio or video, and this one has neither');
  for (const m of sections) {
    if (m.direction === 'sendonly' || m.direction === 'inactive') {
      throw EchoError.unsupportedOffer(`a WHEP player receives: its ${m.type} section (mid ${m.mid}) is ${m.direction}; offer recvonly`);
    }
  }
}
