import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { EngineName } from '../engines/engine.js';
import { loadEngine } from '../engines/registry.js';
import { SessionRegistry } from '../echo/sessions.js';
import { createEchoMetrics } from '../echo/metrics.js';
import { buildApp } from './app.js';

export interface EchoServerOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  engine: EngineName;
  /** Default 1000. */
  maxSessions: number;
  /** A session not connected this long after its answer is released. Default 30 s. */
  connectTimeoutMs: number;
  /** A session is released after this long, connected or not. Default 10 min. */
  maxLifetimeMs: number;
  /** How long the answer may wait for ICE gathering. Default 2 s. */
  gatherTimeoutMs: number;
  /** How long ICE `disconnected` may last before the session is released. Default 5 s. */
  disconnectGraceMs: number;
  /** A connected session from whose client nothing has arrived this long is released. Default 10 s. */
  idleTimeoutMs: number;
  log: Logger;
}

export const SERVER_DEFAULTS = {
  host: '0.0.0.0',
  port: 8080,
  maxSessions: 1000,
  connectTimeoutMs: 30_000,
  maxLifetimeMs: 10 * 60_000,
  gatherTimeoutMs: 2_000,
  disconnectGraceMs: 5_000,
  idleTimeoutMs: 10_000,
} as const;

export interface EchoServer {
  readonly app: FastifyInstance;
  readonly sessions: SessionRegistry;
  /** Base URL, e.g. http://127.0.0.1:8080 */
  readonly url: string;
  /** Stops accepting, closes every session, frees the port. Idempotent. */
  close(): Promise<void>;
}

export async function startEchoServer(options: EchoServerOptions): Promise<EchoServer> {
  const engine = await loadEngine(options.engine);
  const log = options.log;
  let sessions: SessionRegistry | undefined;
  const metrics = createEchoMetrics(() => sessions?.size ?? 0);
  sessions = new SessionRegistry(engine, options, log.child({ module: 'echo', engine: engine.name }), metrics);
  const app = await buildApp({ sessions, metrics, log });
  await app.listen({ host: options.host, port: options.port });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  const urlHost = options.host === '0.0.0.0' || options.host === '::' ? '127.0.0.1' : options.host;
  const url = `http://${urlHost.includes(':') ? `[${urlHost}]` : urlHost}:${port}`;
  log.info({ event: 'listening', url, engine: engine.name, maxSessions: options.maxSessions }, `echo server listening on ${options.host}:${port} (engine ${engine.name})`);
  let closing: Promise<void> | undefined;
  return {
    app,
    sessions,
    url,
    close: () => (closing ??= app.close()),
  };
}
