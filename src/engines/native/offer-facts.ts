/**
 * What the native engine reads from a parsed offer before it answers: the transport the BUNDLE
 * group shares (ICE credentials and candidates, the DTLS fingerprint and role) and which
 * sections it can answer. The route has already checked the offer (src/sdp/offer.ts), applied
 * the candidate policy and resolved mDNS names; what is left to refuse here is what only this
 * engine cannot do.
 */
import type { MediaDescription, SessionDescription as ParsedSdp } from 'sdp-transform';
import { remoteCandidates } from '../../ice/candidates.js';
import type { IceCredentials, RemoteCandidate } from '../../ice/types.js';

export interface OfferFacts {
  ice: IceCredentials;
  /** `a=ice-lite`: the offerer never checks, and we are the controlling agent. */
  iceLite: boolean;
  /** The candidates of the section whose transport carries everything (BUNDLE's tagged section). */
  candidates: RemoteCandidate[];
  fingerprint: { algorithm: string; value: string };
  /** The offer's `a=setup` of the transport section: actpass, active or passive. */
  setup: string;
  /** Indexes into `offer.media` of the sections that share that transport; the others are rejected. */
  transportSections: Set<number>;
}

/** Why an offer cannot be answered by this engine (the route turns it into a 4xx). */
export class UnanswerableOffer extends Error {}

export function readOfferFacts(offer: ParsedSdp): OfferFacts {
  const media = offer.media ?? [];
  const transportSections = bundledSections(offer);
  const first = [...transportSections][0];
  const tagged = first === undefined ? undefined : media[first];
  if (!tagged) throw new UnanswerableOffer('no media section to answer');
  const ufrag = tagged.iceUfrag ?? offer.iceUfrag;
  const pwd = tagged.icePwd ?? offer.icePwd;
  const fingerprint = tagged.fingerprint ?? offer.fingerprint;
  if (!ufrag || !pwd) throw new UnanswerableOffer('the offer has no ICE credentials');
  if (!fingerprint) throw new UnanswerableOffer('the offer has no DTLS fingerprint');
  const fingerprintProblem = checkFingerprint(fingerprint.type, fingerprint.hash);
  if (fingerprintProblem) throw new UnanswerableOffer(fingerprintProblem);
  const setup = (tagged.setup ?? offer.setup ?? 'actpass').toLowerCase();
  if (setup === 'holdconn') throw new UnanswerableOffer('the offer holds its DTLS connection (a=setup:holdconn)');
  return {
    ice: { ufrag, pwd },
    iceLite: offer.icelite === 'ice-lite',
    candidates: remoteCandidates(tagged.candidates ?? []),
    fingerprint: { algorithm: fingerprint.type.toLowerCase(), value: fingerprint.hash },
    setup,
    transportSections,
  };
}

/**
 * The sections carried by one transport: the first BUNDLE group's (RFC 8843; every stack here
 * bundles), in its order, or without a group the first section that is not rejected. Sections
 * outside it would need transports of their own, which one session does not have.
 */
function bundledSections(offer: ParsedSdp): Set<number> {
  const media = offer.media ?? [];
  const bundle = (offer.groups ?? []).find((g) => g.type.toUpperCase() === 'BUNDLE');
  if (bundle) {
    const mids = String(bundle.mids).split(' ').filter(Boolean);
    const indexes = mids.map((mid) => media.findIndex((m) => m.mid !== undefined && String(m.mid) === mid)).filter((i) => i >= 0);
    const live = indexes.filter((i) => isLive(media[i]!));
    if (live.length > 0) return new Set(live);
  }
  const single = media.findIndex(isLive);
  return new Set(single >= 0 ? [single] : []);
}

/** Not rejected: a port, or port 0 with a=bundle-only (RFC 8843 §7.2: Firefox writes every section after the first so). */
export function isLive(m: MediaDescription): boolean {
  return m.port !== 0 || m.bundleOnly !== undefined;
}

/** RFC 8122 §5 hash functions and their digest sizes in bytes: what the data plane can check a certificate against. */
const DIGEST_BYTES: Record<string, number> = { 'sha-1': 20, 'sha-224': 28, 'sha-256': 32, 'sha-384': 48, 'sha-512': 64 };

/** Why the plane could not check the peer's certificate against this fingerprint, or undefined when it can. */
function checkFingerprint(algorithm: string, value: string | undefined): string | undefined {
  const bytes = DIGEST_BYTES[algorithm.toLowerCase()];
  if (bytes === undefined) return `a DTLS fingerprint with a hash function we do not know: ${algorithm.slice(0, 20)}`;
  if (!/^[0-9a-f]{2}(:[0-9a-f]{2})*$/i.test(value ?? '') || (value!.length + 1) / 3 !== bytes) {
    return `a malformed ${algorithm} DTLS fingerprint (${bytes} hex bytes separated by colons expected)`;
  }
  return undefined;
}
