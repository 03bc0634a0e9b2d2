import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyReply } from 'fastify';
import cors from '@fastify/cors';
import fastifyStatic from '@fastify/static';
import type { Logger } from 'pino';
import type { SessionHost } from '../echo/session-host.js';
import type { EchoMetrics } from '../echo/metrics.js';
import { EchoError } from '../errors/echo-error.js';
import type { CandidatePolicy } from '../sdp/candidate-policy.js';
import type { OfferLimits } from '../sdp/offer.js';
import type { IceServer } from '../net/ice-server.js';
import { registerOfferRoute, registerRateLimit } from './offer-route.js';
import { WHIP_WHEP_CORS, isWhipWhepPath, registerWhipWhepRoutes } from './whip-whep-routes.js';
import { endLingerOnClientError, lingerOnRefusedBody } from './refused-body.js';

/** The Echo Test caps an offer at 64 KiB: real offers are a few KiB, anything larger is abuse. */
export const BODY_LIMIT = 64 * 1024;

/**
 * The whole request (headers and body) must arrive within this; headers alone within
 * HEADERS_TIMEOUT_MS. Node checks both every CONNECTIONS_CHECK_MS, so a request lives at most
 * that much longer. See buildApp for why all three are passed to Node's server.
 */
export const REQUEST_TIMEOUT_MS = 15_000;
export const HEADERS_TIMEOUT_MS = 10_000;
export const CONNECTIONS_CHECK_MS = 1_000;

/** The built browser page, shipped in the package beside the compiled server. */
const PAGE_DIR = fileURLToPath(new URL('../page/', import.meta.url));

export interface AppOptions {
  sessions: SessionHost;
  metrics: EchoMetrics;
  log: Logger;
  offerLimits: OfferLimits;
  candidatePolicy: CandidatePolicy;
  /** Origins granted CORS on /offer: '*' or a list. Default '*'. */
  corsOrigin: '*' | string[];
  /** Offers per second one client address may send (429 past it); 0: no limit. Default 10. */
  offersPerSecond: number;
  /** Fastify's trustProxy: the client address comes from X-Forwarded-For. Default false. */
  trustProxy: boolean | number | string;
  /** Serve /metrics on this app (false when it has a listener of its own). Default true. */
  serveMetrics: boolean;
  /** PEM certificate and key: HTTPS instead of HTTP. */
  https?: { cert: string | Buffer; key: string | Buffer };
  /** Sent as `X-Echo-Instance` on every reply and shown in /healthz. */
  instanceId?: string;
  /** STUN/TURN servers announced to WHIP and WHEP clients (Link rel="ice-server"). Default none. */
  linkIceServers?: readonly IceServer[];
}

export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const { sessions, metrics, log, https, instanceId } = options;
  const serverTimeouts = { requestTimeout: REQUEST_TIMEOUT_MS, headersTimeout: HEADERS_TIMEOUT_MS, connectionsCheckingInterval: CONNECTIONS_CHECK_MS };
  // With `https` Fastify's instance is typed over https.Server; the routes and hooks are the same.
  const app = Fastify({
    // pino's own types and Fastify's copy of them differ only in generics.
    loggerInstance: log.child({ module: 'signaling' }) as unknown as FastifyBaseLogger,
    // Our own lines say what matters (session events, rejected requests); Fastify's per-request lines are noise.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: BODY_LIMIT,
    // Fastify sets server.requestTimeout only after Node built its server, and Node had by then
    // derived headersTimeout from its own default requestTimeout (min(60 s, 300 s) = 60 s).
    // Node's connection checker swaps the two when headersTimeout > requestTimeout
    // (src/node_http_parser.cc, ConnectionsList::Expired), so a body was given 60 s, checked
    // every 30 s: a slow body lived 60-90 s. Passing all three at creation makes 15 s true.
    requestTimeout: REQUEST_TIMEOUT_MS,
    ...(https ? { https: { ...https, ...serverTimeouts } } : { http: serverTimeouts }),
    // A hop count as a function: Fastify takes a number too, but its types do not say so.
    trustProxy: typeof options.trustProxy === 'number' ? trustHops(options.trustProxy) : options.trustProxy,
    return503OnClosing: true,
    // A URL Fastify cannot decode (FST_ERR_BAD_URL) is a path we do not serve, in our format.
    frameworkErrors: (err, request, reply) => {
      request.log.warn({ event: 'request-rejected', error: 'ECHO_ERR_NOT_FOUND', url: request.url, ip: request.ip, reason: err.code }, err.message);
      metrics.rejected.inc({ reason: 'ECHO_ERR_NOT_FOUND' });
      const notFound = EchoError.notFound(request.url);
      void (reply as FastifyReply).status(notFound.statusCode).send({ error: notFound.code, message: notFound.message });
    },
  }) as unknown as FastifyInstance;

  if (instanceId) app.addHook('onRequest', async (_request, reply) => void reply.header('X-Echo-Instance', instanceId));

  // Only /offer, WHIP and WHEP are for other origins (any page may POST an offer: another echo
  // server's page, a local file, a test harness, a WHIP player in a browser); /metrics, /healthz
  // and the page carry no CORS grant. WHIP/WHEP's OPTIONS go on to their routes (Accept-Post,
  // ICE servers), and a plain OPTIONS without Origin is one too (RFC 9725).
  await app.register(cors, {
    delegator: (request, callback) => {
      const path = (request.url ?? '').split('?')[0]!;
      if (path === '/offer') callback(null, { origin: options.corsOrigin, methods: ['POST', 'OPTIONS'], maxAge: 86_400 });
      else if (isWhipWhepPath(path)) callback(null, { origin: options.corsOrigin, ...WHIP_WHEP_CORS, maxAge: 86_400, preflightContinue: true, strictPreflight: false });
      else callback(null, { origin: false });
    },
  });

  // A refusal sent before the body was read (413, 429…): the rest of the body is read and
  // dropped, within bounds, so that the client reads it (refused-body.ts).
  app.addHook('onSend', async (request, reply) => {
    if (!request.raw.complete) lingerOnRefusedBody(request.raw, () => reply.removeHeader('connection'), request.log);
  });
  // Before Fastify's own handler, which would write a 408 after the refusal the client has.
  app.server.prependListener('clientError', endLingerOnClientError);

  app.setErrorHandler((err: FastifyError | EchoError, request, reply) => {
    const echoError = toEchoError(err, request.url);
    if (echoError.code === 'ECHO_ERR_INTERNAL') {
      // A bug: the error itself (what an engine threw, with its stack) and where, never the client's to read.
      const cause = echoError.cause ?? err;
      request.log.error({ event: 'internal-error', err: cause, url: request.url, ...echoError.context }, `unexpected error: ${cause instanceof Error ? cause.message : String(cause)}`);
    } else {
      request.log.warn({ event: 'request-rejected', error: echoError.code, url: request.url, ip: request.ip }, echoError.message);
    }
    metrics.rejected.inc({ reason: echoError.code });
    if (echoError.code === 'ECHO_ERR_METHOD_NOT_ALLOWED') reply.header('Allow', String(echoError.context.allowed));
    // RFC 9110 §15.5.16: a 415 may say what is taken (Accept-Post for a POST, Accept-Patch for a PATCH).
    if (echoError.code === 'ECHO_ERR_UNSUPPORTED_MEDIA_TYPE' && typeof echoError.context.accept === 'string') {
      reply.header(request.method === 'PATCH' ? 'Accept-Patch' : 'Accept-Post', echoError.context.accept);
    }
    if (typeof echoError.context.retryAfterSeconds === 'number') reply.header('Retry-After', String(echoError.context.retryAfterSeconds));
    void reply.status(echoError.statusCode).send({ error: echoError.code, message: echoError.message });
  });

  app.setNotFoundHandler((request) => {
    throw EchoError.notFound(request.url);
  });

  await registerRateLimit(app);
  registerOfferRoute(app, sessions, { ...options, log });
  registerWhipWhepRoutes(app, sessions, { ...options, log, linkIceServers: options.linkIceServers ?? [] });

  // 503 while draining, so that load balancers and readiness probes stop sending offers here.
  app.get('/healthz', async (_request, reply) => {
    const health = {
      status: sessions.isDraining ? 'draining' : 'ok',
      engine: sessions.engineName,
      sessions: sessions.size,
      ...(instanceId ? { instance: instanceId } : {}),
      ...sessions.health(),
    };
    return reply.status(sessions.isDraining ? 503 : 200).send(health);
  });

  if (options.serveMetrics) registerMetricsRoute(app, metrics, () => sessions.metricsText());

  if (existsSync(PAGE_DIR)) {
    await app.register(fastifyStatic, { root: PAGE_DIR, prefix: '/' });
  } else {
    app.get('/', async (_request, reply) =>
      reply.type('text/plain').send('webrtc-echo server. POST an offer to /offer. (The browser page is not built: run npm run build.)\n'),
    );
  }

  app.addHook('onClose', async () => {
    await sessions.closeAll('shutdown');
  });

  return app;
}

function trustHops(hops: number): (address: string, hop: number) => boolean {
  return (_address, hop) => hop < hops;
}

/** `/metrics`: the exposition `text()` gives (this process's registry, or every worker's summed). */
export function registerMetricsRoute(app: FastifyInstance, metrics: EchoMetrics, text: () => Promise<string>): void {
  app.get('/metrics', async (_request, reply) => {
    void reply.header('Content-Type', metrics.registry.contentType);
    return text();
  });
}

/** Fastify's own body errors (size, content type, JSON syntax) and refused static paths become ours, with our codes. */
function toEchoError(err: FastifyError | EchoError, url: string): EchoError {
  if (err instanceof EchoError) return err;
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return EchoError.bodyTooLarge(BODY_LIMIT);
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return err.statusCode === 415 ? EchoError.unsupportedMediaType(undefined) : EchoError.invalidBody(err.message);
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return EchoError.invalidJson('the body is empty');
  }
  if (err.statusCode === 400 && (err instanceof SyntaxError || err.code?.startsWith('FST_ERR_CTP'))) {
    return EchoError.invalidJson(err.message);
  }
  if (err.statusCode === 413) return EchoError.bodyTooLarge(BODY_LIMIT);
  if (err.statusCode === 415) return EchoError.unsupportedMediaType(undefined);
  // @fastify/static (through `send`) refuses traversal and other odd paths with a 4xx (403 for
  // `..`, 400 for a malformed URI): to a client that is just a path we do not serve.
  if (err.code?.startsWith('FST_STATIC') || (err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500 && !err.code?.startsWith('FST_'))) {
    return EchoError.notFound(url);
  }
  // A client that went away mid-body: nothing to answer, nothing broken.
  if (err.code === 'ECONNRESET') return EchoError.invalidBody('the client aborted the request');
  return EchoError.internal(err);
}
