import type { FastifyInstance } from 'fastify';
import type { SessionHost } from '../echo/session-host.js';
import { parseOfferBody } from '../sdp/offer.js';
import { resolveMdnsCandidates } from '../sdp/mdns.js';
import { EchoError } from '../errors/echo-error.js';

/**
 * `POST /offer`: the one signaling operation of the Echo Test. A JSON offer in, a JSON
 * answer out with every candidate inside (non-trickle ICE).
 */
export function registerOfferRoute(app: FastifyInstance, sessions: SessionHost): void {
  app.post('/offer', async (request, reply) => {
    const contentType = request.headers['content-type'];
    if (contentType !== undefined && !/^application\/json\b/i.test(contentType)) {
      throw EchoError.unsupportedMediaType(contentType);
    }
    const offer = parseOfferBody(request.body);
    if (offer.sdp.includes('.local ')) {
      const mdns = await resolveMdnsCandidates(offer.sdp);
      request.log.info({ event: 'mdns-resolved', resolved: mdns.resolved, unresolved: mdns.unresolved }, 'resolved mDNS candidates of the offer');
      offer.sdp = mdns.sdp;
    }
    const session = await sessions.create(offer);
    void reply.header('Cache-Control', 'no-store').header('X-Session-Id', session.id);
    return session.answer;
  });

  // Every other method on /offer is a 405 (OPTIONS is the CORS preflight, answered by @fastify/cors).
  app.route({
    method: ['GET', 'HEAD', 'PUT', 'PATCH', 'DELETE'],
    url: '/offer',
    handler: async (request) => {
      throw EchoError.methodNotAllowed(request.method, 'POST');
    },
  });
}
