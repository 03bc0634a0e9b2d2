import type { FastifyInstance } from 'fastify';
import rateLimit from '@fastify/rate-limit';
import type { Logger } from 'pino';
import type { SessionHost } from '../echo/session-host.js';
import type { EchoMetrics } from '../echo/metrics.js';
import { parseOfferBody, type OfferLimits } from '../sdp/offer.js';
import type { ParsedOffer } from '../sdp/parsed-offer.js';
import { resolveMdnsCandidates } from '../sdp/mdns.js';
import { applyCandidatePolicy, type CandidatePolicy } from '../sdp/candidate-policy.js';
import { EchoError } from '../errors/echo-error.js';
import { clientKey } from './client-key.js';

export interface OfferRouteOptions {
  metrics: EchoMetrics;
  log: Logger;
  offerLimits: OfferLimits;
  candidatePolicy: CandidatePolicy;
  /** 0: no rate limit. */
  offersPerSecond: number;
}

const RATE_WINDOW_MS = 1_000;

/**
 * `POST /offer`: the one signaling operation of the Echo Test. A JSON offer in, a JSON
 * answer out with every candidate inside (non-trickle ICE). One way through, in order
 * (docs/architecture.md): the rate limit (before the body is read); the offer's shape and
 * limits, parsed once (parseOfferBody); a session slot (reserve: draining, shutdown, the
 * session limits); mDNS names and the candidate policy, holding the slot; the stack last
 * (answer), which gets the parsed offer.
 */
export async function registerOfferRoute(app: FastifyInstance, sessions: SessionHost, options: OfferRouteOptions): Promise<void> {
  const { metrics, log } = options;
  await app.register(rateLimit, {
    global: false,
    keyGenerator: (request) => clientKey(request.ip),
    errorResponseBuilder: (_request, context) => EchoError.tooManyRequests(context.max, RATE_WINDOW_MS, Math.max(1, Math.ceil(context.ttl / 1000))),
  });

  /** mDNS names, then the candidate policy: the offer as the stack will see it. */
  const prepare = async (offer: ParsedOffer, clientLog: Logger): Promise<ParsedOffer> => {
    const mdns = await resolveMdnsCandidates(offer);
    if (mdns.names > 0) {
      clientLog.info({ event: 'mdns-resolved', names: mdns.names, resolved: mdns.resolved, unresolved: mdns.unresolved }, 'resolved mDNS candidates of the offer');
    }
    const filtered = applyCandidatePolicy(mdns.offer, options.candidatePolicy);
    if (filtered.dropped.length > 0) {
      for (const { reason } of filtered.dropped) metrics.candidatesRefused.inc({ reason });
      clientLog.info({ event: 'candidates-refused', dropped: filtered.dropped }, `dropped ${filtered.dropped.length} offer candidates by the candidate policy`);
    }
    return filtered.offer;
  };

  app.post(
    '/offer',
    { config: { rateLimit: options.offersPerSecond > 0 ? { max: options.offersPerSecond, timeWindow: RATE_WINDOW_MS } : false } },
    async (request, reply) => {
      // A draining server refuses every offer the same way, whatever it holds: go elsewhere.
      if (sessions.isDraining) throw EchoError.draining();
      const contentType = request.headers['content-type'];
      if (contentType !== undefined && !/^application\/json\b/i.test(contentType)) {
        throw EchoError.unsupportedMediaType(contentType);
      }
      const offer = parseOfferBody(request.body, options.offerLimits);
      const client = clientKey(request.ip);
      const reservation = sessions.reserve(client);
      try {
        const prepared = await prepare(offer, log.child({ module: 'signaling', client }));
        const session = await reservation.answer(prepared);
        void reply.header('Cache-Control', 'no-store').header('X-Session-Id', session.id);
        return session.answer;
      } finally {
        reservation.release();
      }
    },
  );

  // Every other method on /offer is a 405 (OPTIONS is the CORS preflight, answered by @fastify/cors).
  app.route({
    method: ['GET', 'HEAD', 'PUT', 'PATCH', 'DELETE'],
    url: '/offer',
    handler: async (request) => {
      throw EchoError.methodNotAllowed(request.method, 'POST');
    },
  });
}
