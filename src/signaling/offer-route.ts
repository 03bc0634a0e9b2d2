import type { FastifyInstance } from 'fastify';
import rateLimit from '@fastify/rate-limit';
import type { Logger } from 'pino';
import type { SessionHost } from '../echo/session-host.js';
import type { EchoMetrics } from '../echo/metrics.js';
import { parseOfferBody, type OfferLimits } from '../sdp/offer.js';
import type { CandidatePolicy } from '../sdp/candidate-policy.js';
import { EchoError } from '../errors/echo-error.js';
import { clientKey } from './client-key.js';
import { prepareOffer } from './offer-preparation.js';

export interface OfferRouteOptions {
  metrics: EchoMetrics;
  log: Logger;
  offerLimits: OfferLimits;
  candidatePolicy: CandidatePolicy;
  /** 0: no rate limit. */
  offersPerSecond: number;
}

export const RATE_WINDOW_MS = 1_000;

/** The per-address rate limit of a route that makes or changes sessions (`config.rateLimit`), or none. */
export function rateLimitConfig(perSecond: number) {
  return { rateLimit: perSecond > 0 ? { max: perSecond, timeWindow: RATE_WINDOW_MS } : (false as const) };
}

/** @fastify/rate-limit, once per app, off but for the routes that ask (rateLimitConfig), keyed by clientKey. */
export async function registerRateLimit(app: FastifyInstance): Promise<void> {
  await app.register(rateLimit, {
    global: false,
    keyGenerator: (request) => clientKey(request.ip),
    errorResponseBuilder: (_request, context) => EchoError.tooManyRequests(context.max, RATE_WINDOW_MS, Math.max(1, Math.ceil(context.ttl / 1000))),
  });
}

/**
 * `POST /offer`: the one signaling operation of the Echo Test. A JSON offer in, a JSON
 * answer out with every candidate inside (non-trickle ICE). One way through, in order
 * (docs/architecture.md): the rate limit (before the body is read); the offer's shape and
 * limits, parsed once (parseOfferBody); a session slot (reserve: draining, shutdown, the
 * session limits); mDNS names and the candidate policy, holding the slot (prepareOffer); the
 * stack last (answer), which gets the parsed offer. WHIP and WHEP (whip-whep-routes.ts) take
 * the same way with SDP bodies.
 */
export function registerOfferRoute(app: FastifyInstance, sessions: SessionHost, options: OfferRouteOptions): void {
  const { log } = options;
  app.post(
    '/offer',
    { config: rateLimitConfig(options.offersPerSecond) },
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
        const prepared = await prepareOffer(offer, options, log.child({ module: 'signaling', client }));
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
