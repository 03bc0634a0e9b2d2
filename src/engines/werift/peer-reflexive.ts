/**
 * werift's ICE gives up at once when the remote description carries no candidate: its check
 * list is empty, so connect() skips the wait for checks and throws "ICE negotiation failed"
 * (werift 0.24 lib/ice/src/ice.js, Connection.connect) before the client's first check
 * arrives. A client is still reachable then, peer-reflexively, from its own checks (RFC 8445
 * §7.3.1.3): a browser's .local names nobody answered, candidates our policy refused, a
 * client behind a NAT that offers none it can be reached at. libdatachannel and libwebrtc
 * wait for those checks; werift does when it has one pair to check. So an offer without
 * candidates gets one on loopback's discard port: its check fails quietly, the client's own
 * checks connect, and no packet leaves the machine.
 */
import { hasCandidates, type ParsedOffer } from '../../sdp/parsed-offer.js';

const PLACEHOLDER = 'a=candidate:wait 1 udp 1 127.0.0.1 9 typ host';

/** The offer's SDP as werift is to apply it: as it came, or with the placeholder when it has no candidate. */
export function withPeerReflexiveWait(offer: ParsedOffer): string {
  if (hasCandidates(offer)) return offer.sdp;
  // In the first media section: with BUNDLE, its transport carries every section.
  return offer.sdp.replace(/(\r?\n)(m=[^\r\n]*(?:\r?\n(?!m=)[^\r\n]*)*)/, (section, eol: string, body: string) => `${eol}${body}${eol}${PLACEHOLDER}`);
}
