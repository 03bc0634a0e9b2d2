import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance } from 'fastify';
import cors from '@fastify/cors';
import fastifyStatic from '@fastify/static';
import type { Logger } from 'pino';
import type { SessionHost } from '../echo/session-host.js';
import type { EchoMetrics } from '../echo/metrics.js';
import { EchoError } from '../errors/echo-error.js';
import { registerOfferRoute } from './offer-route.js';

/** The Echo Test caps an offer at 64 KiB: real offers are a few KiB, anything larger is abuse. */
export const BODY_LIMIT = 64 * 1024;

/** The built browser page, shipped in the package beside the compiled server. */
const PAGE_DIR = fileURLToPath(new URL('../page/', import.meta.url));

export interface AppOptions {
  sessions: SessionHost;
  metrics: EchoMetrics;
  log: Logger;
}

export async function buildApp({ sessions, metrics, log }: AppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    // pino's own types and Fastify's copy of them differ only in generics.
    loggerInstance: log.child({ module: 'signaling' }) as unknown as FastifyBaseLogger,
    // Our own lines say what matters (session events, rejected requests); Fastify's per-request lines are noise.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: BODY_LIMIT,
    // Our own timeout: a client that opens a request and never finishes its body is dropped.
    requestTimeout: 15_000,
    return503OnClosing: true,
  });

  // Any origin may POST an offer: the page of another echo server, a local file, a test harness.
  await app.register(cors, { origin: '*', methods: ['POST', 'OPTIONS'], maxAge: 86_400 });

  app.setErrorHandler((err: FastifyError | EchoError, request, reply) => {
    const echoError = toEchoError(err);
    if (echoError.code === 'ECHO_ERR_INTERNAL') {
      request.log.error({ err, url: request.url }, 'unexpected error');
    } else {
      request.log.warn({ event: 'request-rejected', error: echoError.code, url: request.url, ip: request.ip }, echoError.message);
    }
    metrics.rejected.inc({ reason: echoError.code });
    if (echoError.code === 'ECHO_ERR_METHOD_NOT_ALLOWED') reply.header('Allow', String(echoError.context.allowed));
    void reply.status(echoError.statusCode).send({ error: echoError.code, message: echoError.message });
  });

  app.setNotFoundHandler((request) => {
    throw EchoError.notFound(request.url);
  });

  registerOfferRoute(app, sessions);

  app.get('/healthz', async () => ({ status: 'ok', engine: sessions.engineName, sessions: sessions.size, ...sessions.health?.() }));

  app.get('/metrics', async (_request, reply) => {
    void reply.header('Content-Type', metrics.registry.contentType);
    return sessions.metricsText ? sessions.metricsText() : metrics.registry.metrics();
  });

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

/** Fastify's own body errors (size, content type, JSON syntax) become ours, with our codes. */
function toEchoError(err: FastifyError | EchoError): EchoError {
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
  return EchoError.internal();
}
