import type { FastifyInstance } from 'fastify';
import type { Logger, LevelWithSilent } from 'pino';
import type { EngineName } from '../engines/engine.js';
import { loadEngine } from '../engines/registry.js';
import { SessionRegistry } from '../echo/sessions.js';
import { createEchoMetrics, type EchoMetrics } from '../echo/metrics.js';
import type { SessionHost } from '../echo/session-host.js';
import { buildApp } from './app.js';
import { WorkerSessions } from './worker-pool.js';

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
} as const;

/**
 * One running server: the HTTP listener and whoever holds its sessions (this process's registry,
 * or worker processes). `close()` is the one way down; anything that wraps the server (drain on
 * SIGTERM, several workers) builds on it.
 */
export interface EchoServer<Host extends SessionHost = SessionRegistry> {
  readonly app: FastifyInstance;
  readonly sessions: Host;
  /** Base URL, e.g. http://127.0.0.1:8080 */
  readonly url: string;
  /** Stops accepting, closes every session, frees the port. Idempotent. */
  close(): Promise<void>;
}

/** Every session in this process. */
export async function startEchoServer(options: EchoServerOptions): Promise<EchoServer> {
  const engine = await loadEngine(options.engine);
  let sessions: SessionRegistry | undefined;
  const metrics = createEchoMetrics(() => sessions?.size ?? 0);
  sessions = new SessionRegistry(engine, options, options.log.child({ module: 'echo', engine: engine.name }), metrics);
  return listen(sessions, metrics, options);
}

export interface WorkerServerOptions extends EchoServerOptions {
  /** Session worker processes behind the one listener. */
  workers: number;
  /** The workers' log level (they log on their own stderr, which is ours). */
  logLevel: LevelWithSilent;
}

/** `serve --workers N`: this process listens, N worker processes hold the sessions (signaling/worker-pool.ts). */
export async function startWorkerServer(options: WorkerServerOptions): Promise<EchoServer<WorkerSessions>> {
  const metrics = createEchoMetrics();
  const { engine, maxSessions, connectTimeoutMs, maxLifetimeMs, gatherTimeoutMs, disconnectGraceMs, workers, logLevel } = options;
  const sessions = await WorkerSessions.start({
    engine, maxSessions, connectTimeoutMs, maxLifetimeMs, gatherTimeoutMs, disconnectGraceMs, workers, logLevel,
    log: options.log.child({ module: 'workers' }),
    metrics,
  });
  try {
    return await listen(sessions, metrics, options);
  } catch (err) {
    await sessions.closeAll();
    throw err;
  }
}

async function listen<Host extends SessionHost>(sessions: Host, metrics: EchoMetrics, options: EchoServerOptions): Promise<EchoServer<Host>> {
  const log = options.log;
  const app = await buildApp({ sessions, metrics, log });
  await app.listen({ host: options.host, port: options.port });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  const urlHost = options.host === '0.0.0.0' || options.host === '::' ? '127.0.0.1' : options.host;
  const url = `http://${urlHost.includes(':') ? `[${urlHost}]` : urlHost}:${port}`;
  log.info(
    { event: 'listening', url, engine: sessions.engineName, maxSessions: options.maxSessions, ...sessions.health?.() },
    `echo server listening on ${options.host}:${port} (engine ${sessions.engineName})`,
  );
  let closing: Promise<void> | undefined;
  return {
    app,
    sessions,
    url,
    close: () => (closing ??= app.close()),
  };
}
