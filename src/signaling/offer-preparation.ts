/**
 * What every offer (and every trickled candidate) goes through between its checks and the
 * stack, holding its slot: `.local` names resolved (sdp/mdns.ts), then the candidate policy
 * (sdp/candidate-policy.ts), each logged and counted. One place, for /offer, /whip, /whep and
 * PATCH alike.
 */
import type { Logger } from 'pino';
import type { EchoMetrics } from '../echo/metrics.js';
import { applyCandidatePolicy, type CandidatePolicy } from '../sdp/candidate-policy.js';
import { resolveMdnsCandidates } from '../sdp/mdns.js';
import type { ParsedOffer } from '../sdp/parsed-offer.js';

export interface PreparationOptions {
  metrics: EchoMetrics;
  candidatePolicy: CandidatePolicy;
}

/** mDNS names, then the candidate policy: the offer (or a PATCH's fragment) as the stack will see it. */
export async function prepareOffer(offer: ParsedOffer, options: PreparationOptions, clientLog: Logger): Promise<ParsedOffer> {
  const mdns = await resolveMdnsCandidates(offer);
  if (mdns.names > 0) {
    clientLog.info({ event: 'mdns-resolved', names: mdns.names, resolved: mdns.resolved, unresolved: mdns.unresolved }, 'resolved mDNS candidates of the offer');
  }
  const filtered = applyCandidatePolicy(mdns.offer, options.candidatePolicy);
  if (filtered.dropped.length > 0) {
    for (const { reason } of filtered.dropped) options.metrics.candidatesRefused.inc({ reason });
    clientLog.info({ event: 'candidates-refused', dropped: filtered.dropped }, `dropped ${filtered.dropped.length} offer candidates by the candidate policy`);
  }
  return filtered.offer;
}
