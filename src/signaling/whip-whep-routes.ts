/**
 * WHIP (RFC 9725) and WHEP (draft-ietf-wish-whep): an SDP offer in, 201 with the answer and a
 * Location of its own out, and that resource's PATCH (trickle ICE) and DELETE.
 *
 *   POST   /whip                  a publisher: echoed where it offers sendrecv, played to viewers
 *   PATCH  /whip/{id}             trickled candidates (204); an ICE restart is refused (422)
 *   DELETE /whip/{id}             ends the publisher and its viewers (200)
 *   POST   /whep/{id}             a viewer of publisher {id}
 *   PATCH  /whep/{id}/{viewer}    as for /whip/{id}
 *   DELETE /whep/{id}/{viewer}    ends that viewer only (200)
 *
 * An offer takes the way /offer's does (docs/architecture.md): the rate limit, the body limit,
 * draining, the same checks and one parse (parseOffer), a slot (reserve), mDNS and the candidate
 * policy (prepareOffer), the stack; only the body's type and the reply differ. GET answers 200
 * with no body and `Content-Type: application/sdp` (a WHEP endpoint is known by it); OPTIONS
 * answers CORS and `Accept-Post`, and, when it is no CORS preflight, the ICE servers.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { EchoMetrics } from '../echo/metrics.js';
import { sameRole, type SessionHost, type SessionRole } from '../echo/session-host.js';
import { EchoError } from '../errors/echo-error.js';
import type { IceServer } from '../net/ice-server.js';
import { iceServerLinks } from '../net/link-header.js';
import type { CandidatePolicy } from '../sdp/candidate-policy.js';
import { checkWhepOffer, checkWhipOffer } from '../sdp/ingest-offer.js';
import { parseOffer, type OfferLimits } from '../sdp/offer.js';
import { SDPFRAG_MEDIA_TYPE, fragmentCandidates, parseTrickleFragment } from '../sdp/sdpfrag.js';
import { clientKey } from './client-key.js';
import { rateLimitConfig } from './offer-route.js';
import { prepareOffer } from './offer-preparation.js';

export interface WhipWhepOptions {
  metrics: EchoMetrics;
  log: Logger;
  offerLimits: OfferLimits;
  candidatePolicy: CandidatePolicy;
  /** Per address, for POST, PATCH and DELETE each (RFC 9725 asks for a rate limit on all three); 0: none. */
  offersPerSecond: number;
  /** Announced in Link headers (rel="ice-server") of the 201 and of OPTIONS that are no CORS preflight. */
  linkIceServers: readonly IceServer[];
}

export const SDP_MEDIA_TYPE = 'application/sdp';

/** Every path of WHIP and WHEP, for CORS (app.ts). */
export function isWhipWhepPath(path: string): boolean {
  return path === '/whip' || path.startsWith('/whip/') || path.startsWith('/whep/');
}

/** The methods a browser may use on them, and the headers it may read. */
export const WHIP_WHEP_CORS = {
  methods: ['GET', 'HEAD', 'POST', 'PATCH', 'DELETE', 'OPTIONS'],
  exposedHeaders: ['Location', 'ETag', 'Link', 'Accept-Patch', 'Accept-Post', 'Retry-After', 'X-Session-Id'],
};

export function registerWhipWhepRoutes(app: FastifyInstance, sessions: SessionHost, options: WhipWhepOptions): void {
  const { log } = options;
  const rateLimit = rateLimitConfig(options.offersPerSecond);
  const links = iceServerLinks(options.linkIceServers);

  // SDP bodies arrive as text, under the app's body limit (64 KiB); the route checks which type it takes.
  app.addContentTypeParser([SDP_MEDIA_TYPE, SDPFRAG_MEDIA_TYPE], { parseAs: 'string' }, (_request, body, done) => done(null, body));

  /** The body's type, checked before the body is read (415, with Accept-Post or Accept-Patch). */
  const requireType = (expected: string) => async (request: FastifyRequest) => {
    const type = request.headers['content-type'];
    if (type === undefined || type.split(';')[0]!.trim().toLowerCase() !== expected) throw EchoError.unsupportedMediaType(type, expected);
  };

  /** POST of an offer: the /offer path with an SDP body, answered 201 with a resource. */
  const createSession = async (request: FastifyRequest, reply: FastifyReply, role: SessionRole, check: (offer: ReturnType<typeof parseOffer>) => void, location: (id: string) => string) => {
    if (sessions.isDraining) throw EchoError.draining();
    const offer = parseOffer(request.body as string, options.offerLimits);
    check(offer);
    const client = clientKey(request.ip);
    const reservation = sessions.reserve(client);
    try {
      const prepared = await prepareOffer(offer, options, log.child({ module: 'signaling', client }));
      const session = await reservation.answer(prepared, role);
      void reply
        .status(201)
        .type(SDP_MEDIA_TYPE)
        .header('Location', location(session.id))
        .header('ETag', session.etag)
        .header('Cache-Control', 'no-store')
        .header('X-Session-Id', session.id);
      if (sessions.capabilities.trickle) void reply.header('Accept-Patch', SDPFRAG_MEDIA_TYPE);
      if (links.length > 0) void reply.header('Link', links);
      return session.answer.sdp;
    } finally {
      reservation.release();
    }
  };

  /** A resource of `role` at this URL, or 404. */
  const requireResource = (request: FastifyRequest, id: string, role: SessionRole) => {
    if (!sameRole(sessions.roleOf(id), role)) throw EchoError.noSuchResource(request.url.split('?')[0]!);
  };

  /** PATCH: trickled candidates (RFC 9725 trickle ICE; an ICE restart is refused with 422, the session kept). */
  const patchSession = async (request: FastifyRequest, reply: FastifyReply, id: string) => {
    const fragment = parseTrickleFragment(request.body as string, options.offerLimits.maxCandidates);
    const client = clientKey(request.ip);
    const prepared = await prepareOffer(fragment.asOffer, options, log.child({ module: 'signaling', client, session: id }));
    await sessions.trickle(id, {
      ifMatch: request.headers['if-match'],
      ...(fragment.ufrag !== undefined ? { ufrag: fragment.ufrag, pwd: fragment.pwd } : {}),
      candidates: fragmentCandidates(prepared),
      maxCandidates: options.offerLimits.maxCandidates,
    });
    // 204, no body and no ETag (RFC 9725: trickle without a restart).
    return reply.status(204).send();
  };

  const deleteSession = async (reply: FastifyReply, id: string, what: string) => {
    if (!(await sessions.end(id, 'deleted'))) throw EchoError.noSuchResource(what);
    return reply.status(200).send();
  };

  /** GET and HEAD: 200, no content, and the type a POST takes (WHEP endpoint discovery). */
  const describe = async (_request: FastifyRequest, reply: FastifyReply) => reply.status(200).type(SDP_MEDIA_TYPE).header('Content-Length', '0').send();

  /** OPTIONS: CORS headers come from @fastify/cors; here what the endpoint takes, and ICE servers unless this is a preflight. */
  const optionsOf = (endpoint: boolean) => async (request: FastifyRequest, reply: FastifyReply) => {
    if (endpoint) void reply.header('Accept-Post', SDP_MEDIA_TYPE);
    else if (sessions.capabilities.trickle) void reply.header('Accept-Patch', SDPFRAG_MEDIA_TYPE);
    // RFC 9725: not on a CORS preflight (Access-Control-Request-Method present).
    if (endpoint && links.length > 0 && request.headers['access-control-request-method'] === undefined) void reply.header('Link', links);
    return reply.status(200).header('Content-Length', '0').send();
  };

  const resourceMethods = (allowed: string) => async (request: FastifyRequest) => {
    throw EchoError.methodNotAllowed(request.method, allowed);
  };

  type Params = { id: string; viewer?: string };
  /** A PATCH's checks before its body is read, in order: the resource (404), PATCH at all (405: an engine that takes no trickled candidates), the type (415). */
  const patchGuard = (resource: (params: Params) => { id: string; role: SessionRole }) => async (request: FastifyRequest) => {
    const { id, role } = resource(request.params as Params);
    requireResource(request, id, role);
    if (!sessions.capabilities.trickle) throw EchoError.methodNotAllowed('PATCH', 'DELETE');
    await requireType(SDPFRAG_MEDIA_TYPE)(request);
  };

  // --- WHIP ---
  const whipRole: SessionRole = { kind: 'publisher' };
  app.post('/whip', { config: rateLimit, onRequest: requireType(SDP_MEDIA_TYPE) }, (request, reply) =>
    createSession(request, reply, whipRole, (offer) => checkWhipOffer(offer.parsed), (id) => `/whip/${id}`),
  );
  app.get('/whip', describe);
  app.options('/whip', optionsOf(true));
  app.route({ method: ['PUT', 'PATCH', 'DELETE'], url: '/whip', handler: resourceMethods('POST') });

  type One = { Params: { id: string } };
  app.patch<One>('/whip/:id', { config: rateLimit, onRequest: patchGuard(({ id }) => ({ id, role: whipRole })) }, (request, reply) => patchSession(request, reply, request.params.id));
  app.delete<One>('/whip/:id', { config: rateLimit }, (request, reply) => {
    requireResource(request, request.params.id, whipRole);
    return deleteSession(reply, request.params.id, request.url);
  });
  app.get<One>('/whip/:id', (request, reply) => {
    requireResource(request, request.params.id, whipRole);
    return describe(request, reply);
  });
  app.options('/whip/:id', optionsOf(false));
  app.route({ method: ['POST', 'PUT'], url: '/whip/:id', handler: resourceMethods('PATCH, DELETE') });

  // --- WHEP ---
  const whepRole = (publisher: string): SessionRole => ({ kind: 'viewer', publisher });
  app.post<One>(
    '/whep/:id',
    {
      config: rateLimit,
      onRequest: async (request) => {
        // Before the body is read: a publisher to watch (404), an engine that can play it (501), then the type (415).
        requireResource(request, (request.params as { id: string }).id, whipRole);
        if (!sessions.capabilities.playback) throw EchoError.playbackUnsupported(sessions.engineName);
        await requireType(SDP_MEDIA_TYPE)(request);
      },
    },
    (request, reply) =>
      createSession(request, reply, whepRole(request.params.id), (offer) => checkWhepOffer(offer.parsed), (id) => `/whep/${request.params.id}/${id}`),
  );
  app.get<One>('/whep/:id', (request, reply) => {
    requireResource(request, request.params.id, whipRole);
    return describe(request, reply);
  });
  app.options('/whep/:id', optionsOf(true));
  app.route({ method: ['PUT', 'PATCH', 'DELETE'], url: '/whep/:id', handler: resourceMethods('POST') });

  type Two = { Params: { id: string; viewer: string } };
  app.patch<Two>(
    '/whep/:id/:viewer',
    { config: rateLimit, onRequest: patchGuard(({ id, viewer }) => ({ id: viewer!, role: whepRole(id) })) },
    (request, reply) => patchSession(request, reply, request.params.viewer),
  );
  app.delete<Two>('/whep/:id/:viewer', { config: rateLimit }, (request, reply) => {
    requireResource(request, request.params.viewer, whepRole(request.params.id));
    return deleteSession(reply, request.params.viewer, request.url);
  });
  app.get<Two>('/whep/:id/:viewer', (request, reply) => {
    requireResource(request, request.params.viewer, whepRole(request.params.id));
    return describe(request, reply);
  });
  app.options('/whep/:id/:viewer', optionsOf(false));
  app.route({ method: ['POST', 'PUT'], url: '/whep/:id/:viewer', handler: resourceMethods('PATCH, DELETE') });
}
