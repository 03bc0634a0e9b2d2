/**
 * A client's own candidates and ICE credentials, read from its local description: what a WHIP
 * or WHEP client trickles in a PATCH (RFC 8840 fragment: ice-ufrag, ice-pwd, candidates by mid).
 */
import sdpTransform from 'sdp-transform';
import { splitCandidates, type SdpCandidate } from '../../sdp/candidates.js';

/** The ICE credentials of a description (the session's, or its first section's). */
export function iceCredentialsOf(sdp: string): { ufrag: string; pwd: string } | undefined {
  const parsed = sdpTransform.parse(sdp);
  const parts = [parsed, ...parsed.media];
  const ufrag = parts.find((p) => p.iceUfrag !== undefined)?.iceUfrag;
  const pwd = parts.find((p) => p.icePwd !== undefined)?.icePwd;
  return ufrag === undefined || pwd === undefined ? undefined : { ufrag: String(ufrag), pwd: String(pwd) };
}

/** Every candidate of a local description with its mid, and the credentials; undefined without credentials. */
export function localCandidatesOf(sdp: string | undefined): { candidates: SdpCandidate[]; ufrag: string; pwd: string } | undefined {
  if (!sdp) return undefined;
  const credentials = iceCredentialsOf(sdp);
  return credentials && { candidates: splitCandidates(sdp).candidates, ...credentials };
}
