import Fastify, { type FastifyInstance } from 'fastify';
import type { LevelWithSilent, Logger } from 'pino';
import type { Engine, EngineName, NetworkOptions } from '../engines/engine.js';
import { loadServerEngine } from '../engines/registry.js';
import type { IceServer } from '../net/ice-server.js';
import { descriptorShortfall, openFileLimit } from '../net/descriptor-limit.js';
import { SessionRegistry, type SessionRegistryOptions } from '../echo/sessions.js';
import { createEchoMetrics, type EchoMetrics } from '../echo/metrics.js';
import type { SessionHost } from '../echo/session-host.js';
import { WorkerSessions } from '../echo/worker-pool.js';
import { candidatePolicy, isLoopbackHost, type Cidr } from '../sdp/candidate-policy.js';
import { OFFER_LIMIT_DEFAULTS } from '../sdp/offer.js';
import { buildApp, registerMetricsRoute } from './app.js';

export interface EchoServerOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  engine: EngineName;
  /** Live sessions at most. Default per engine (Engine.budget): libdatachannel 1000, werift 500, libwebrtc 50. */
  maxSessions?: number;
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
  /** ICE servers and UDP ports of the echo peers. Default: host candidates, any port. */
  network: NetworkOptions;
  /** Addresses the answers announce instead of the local ones (1:1 NAT). Default none. */
  publicIps: readonly string[];
  /** m= sections per offer. Default 16. */
  maxMediaSections?: number;
  /** Distinct candidates per offer. Default 64. */
  maxCandidates?: number;
  /** Data channels per session. Default 16. */
  maxDataChannels?: number;
  /** WHEP viewers per WHIP publisher. Default 16. */
  maxViewersPerPublisher?: number;
  /** STUN/TURN servers announced to WHIP and WHEP clients in Link headers (rel="ice-server"). Default none. */
  linkIceServers?: readonly IceServer[];
  /** Unconnected sessions per client address. Default 5% of maxSessions, at least 2. */
  maxUnconnectedPerAddress?: number;
  /** Offers per second per client address; 0: no limit. Default 10. */
  offersPerSecond?: number;
  /** Remote candidates only from these ranges (empty: any but the refused ones). */
  candidateAllow?: Cidr[];
  /** Remote candidates never from these ranges. */
  candidateDeny?: Cidr[];
  /** CORS on /offer. Default '*'. */
  corsOrigin?: '*' | string[];
  /** Take the client address from X-Forwarded-For (Fastify trustProxy). Default false. */
  trustProxy?: boolean | number | string;
  /** Serve /metrics on a listener of its own, on metricsHost (default 127.0.0.1), and not on the main one. */
  metricsPort?: number;
  metricsHost?: string;
  /** PEM certificate chain and private key: serve HTTPS (the offer endpoint and the page). */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** Named in an `X-Echo-Instance` header on every reply and in /healthz: which instance behind a load balancer answered. */
  instanceId?: string;
  log: Logger;
}

export const SERVER_DEFAULTS = {
  /** Dual stack: IPv6 and IPv4 (mapped) on one socket; 0.0.0.0 where the host has no IPv6. */
  host: '::',
  port: 8080,
  connectTimeoutMs: 30_000,
  maxLifetimeMs: 10 * 60_000,
  gatherTimeoutMs: 2_000,
  disconnectGraceMs: 5_000,
  idleTimeoutMs: 10_000,
  network: {},
  publicIps: [],
  maxDataChannels: 16,
  maxViewersPerPublisher: 16,
  offersPerSecond: 10,
  metricsHost: '127.0.0.1',
  /** How long a drain (SIGTERM) lets live sessions run before it closes them. */
  drainTimeoutMs: 30_000,
  ...OFFER_LIMIT_DEFAULTS,
} as const;

/** A small share of the session limit, so that one address cannot hold every slot with offers that never connect. */
export function defaultMaxUnconnectedPerAddress(maxSessions: number): number {
  return Math.max(2, Math.ceil(maxSessions * 0.05));
}

export interface DrainResult {
  /** Sessions alive when the drain began. */
  sessionsAtStart: number;
  /** Sessions still alive at the drain timeout, closed then. */
  closedAtTimeout: number;
  ms: number;
}

/**
 * One running server: the HTTP listener and whoever holds its sessions (this process's registry,
 * or worker processes). `close()` is the one way down; drain() builds on it.
 */
export interface EchoServer<Host extends SessionHost = SessionRegistry> {
  readonly app: FastifyInstance;
  readonly sessions: Host;
  /** Base URL, e.g. http://127.0.0.1:8080 (https://… with TLS) */
  readonly url: string;
  /** Base URL of the metrics listener, when it has one of its own. */
  readonly metricsUrl: string | undefined;
  /** Stops accepting, closes every session, frees the port. Idempotent. */
  close(): Promise<void>;
  /**
   * Stops accepting offers (503 ECHO_ERR_DRAINING, /healthz 503 `draining`), lets live sessions
   * echo until they end or `timeoutMs` passes, closes what is left, then close(). A timeout of 0
   * closes at once. close() during a drain ends it early.
   */
  drain(timeoutMs: number): Promise<DrainResult>;
}

/**
 * The engine the server runs: the one asked for, or libdatachannel where that one cannot run
 * here (native without its addon), said once, at start.
 */
async function serverEngine(options: EchoServerOptions): Promise<Engine> {
  const { engine, unavailable } = await loadServerEngine(options.engine);
  if (unavailable) {
    options.log.warn(
      { event: 'engine-fallback', engine: options.engine, fallback: engine.name, reason: unavailable },
      `the ${options.engine} engine cannot run here (${unavailable}): serving with ${engine.name} instead`,
    );
  }
  return engine;
}

/** Every session in this process. */
export async function startEchoServer(options: EchoServerOptions): Promise<EchoServer> {
  const engine = await serverEngine(options);
  const registryOptions = sessionOptions(engine, options);
  warnIfDescriptorsShort(engine, registryOptions.maxSessions, 1, options.log);
  let registry: SessionRegistry | undefined;
  const metrics = createEchoMetrics(() => registry?.size ?? 0);
  registry = new SessionRegistry(engine, registryOptions, options.log.child({ module: 'echo', engine: engine.name }), metrics);
  return serveSessions(registry, metrics, registryOptions.maxSessions, options);
}

export interface WorkerServerOptions extends EchoServerOptions {
  /** Session worker processes behind the one listener. */
  workers: number;
  /** The workers' log level (they log on their own stderr, which is ours). */
  logLevel: LevelWithSilent;
}

/** `serve --workers N`: this process listens, N worker processes hold the sessions (echo/worker-pool.ts). */
export async function startWorkerServer(options: WorkerServerOptions): Promise<EchoServer<WorkerSessions>> {
  // The workers run what the primary found it can run: a fallback is said once, here.
  const engine = await serverEngine(options);
  const registryOptions = sessionOptions(engine, options);
  warnIfDescriptorsShort(engine, registryOptions.maxSessions, options.workers, options.log);
  // The primary's metrics: offers refused here, candidates refused; the live-sessions gauge is the workers'.
  const metrics = createEchoMetrics();
  const sessions = await WorkerSessions.start({
    ...registryOptions,
    engine: engine.name,
    workers: options.workers,
    logLevel: options.logLevel,
    log: options.log.child({ module: 'workers' }),
    metrics,
    capabilities: engine.capabilities,
  });
  try {
    return await serveSessions(sessions, metrics, registryOptions.maxSessions, options);
  } catch (err) {
    await sessions.closeAll();
    throw err;
  }
}

/** The options of a session registry (one process's, or each worker's), defaults filled in. */
function sessionOptions(engine: Engine, options: EchoServerOptions): SessionRegistryOptions {
  if (options.network.udpMux !== undefined && !engine.capabilities.udpMux) {
    throw new Error(`the ${engine.name} engine cannot share one UDP port between sessions (--udp-mux); libdatachannel and native can`);
  }
  if ((options.network.iceServers ?? []).length > 0 && !engine.capabilities.iceServers) {
    throw new Error(
      `the ${engine.name} engine gathers host candidates only and takes no --ice-server: its own checks reach a client behind a NAT, ` +
        'and a server behind a 1:1 NAT announces its public address with --public-ip',
    );
  }
  const maxSessions = options.maxSessions ?? engine.budget.maxSessions;
  const { connectTimeoutMs, maxLifetimeMs, gatherTimeoutMs, disconnectGraceMs, idleTimeoutMs, publicIps } = options;
  const network = { ...options.network, loopbackOnly: iceOnLoopbackOnly(options) };
  return {
    connectTimeoutMs, maxLifetimeMs, gatherTimeoutMs, disconnectGraceMs, idleTimeoutMs, network, publicIps,
    maxSessions,
    maxDataChannels: options.maxDataChannels ?? SERVER_DEFAULTS.maxDataChannels,
    maxViewersPerPublisher: options.maxViewersPerPublisher ?? SERVER_DEFAULTS.maxViewersPerPublisher,
    maxUnconnectedPerAddress: options.maxUnconnectedPerAddress ?? defaultMaxUnconnectedPerAddress(maxSessions),
  };
}

/**
 * Whether the echo peers' ICE stays on loopback: as asked (`network.loopbackOnly`), else when the
 * server listens on a loopback address. Such a server is for clients on this machine, which
 * reach it on loopback; announcing (and checking) this machine's other addresses would only send
 * their traffic to those interfaces, which tests, benches and soaks must not.
 */
export function iceOnLoopbackOnly(options: Pick<EchoServerOptions, 'host' | 'network'>): boolean {
  return options.network.loopbackOnly ?? isLoopbackHost(options.host);
}

/** A warning, not a refusal: the budget is a measured worst case (16 media sections), most offers cost far less. */
function warnIfDescriptorsShort(engine: Engine, maxSessions: number, processes: number, log: Logger): void {
  const short = descriptorShortfall(engine.budget, maxSessions, processes, openFileLimit());
  if (!short) return;
  log.warn(
    { event: 'descriptor-limit', engine: engine.name, maxSessions, processes, ...short },
    `--max-sessions ${maxSessions} may need ${short.worstCaseFds} file descriptors per process with the ${engine.name} engine (worst case ${engine.budget.fdsPerSession} per session), above this process's limit of ${short.limit}: ` +
      `a stack that runs out may abort the server; raise ulimit -n or keep --max-sessions at ${short.sessionsThatFit * processes} or less`,
  );
}

/** The HTTP side for any session host: the app, its listeners, close and drain. */
async function serveSessions<Host extends SessionHost>(sessions: Host, metrics: EchoMetrics, maxSessions: number, options: EchoServerOptions): Promise<EchoServer<Host>> {
  const log = options.log;
  const metricsApart = options.metricsPort !== undefined;
  const app = await buildApp({
    sessions,
    metrics,
    log,
    offerLimits: {
      maxMediaSections: options.maxMediaSections ?? SERVER_DEFAULTS.maxMediaSections,
      maxCandidates: options.maxCandidates ?? SERVER_DEFAULTS.maxCandidates,
    },
    candidatePolicy: candidatePolicy({ allow: options.candidateAllow, deny: options.candidateDeny, listenHost: options.host, loopbackOnly: iceOnLoopbackOnly(options) }),
    corsOrigin: options.corsOrigin ?? '*',
    offersPerSecond: options.offersPerSecond ?? SERVER_DEFAULTS.offersPerSecond,
    trustProxy: options.trustProxy ?? false,
    serveMetrics: !metricsApart,
    https: options.tls,
    instanceId: options.instanceId,
    linkIceServers: options.linkIceServers ?? [],
  });
  let metricsApp: FastifyInstance | undefined;
  let host: string;
  try {
    host = await listen(app, options.host, options.port, log);
    if (metricsApart) {
      metricsApp = Fastify({ requestTimeout: 15_000 });
      registerMetricsRoute(metricsApp, metrics, () => sessions.metricsText());
      metricsApp.get('/healthz', async () => ({ status: 'ok', engine: sessions.engineName, sessions: sessions.size, ...sessions.health() }));
      await metricsApp.listen({ host: options.metricsHost ?? SERVER_DEFAULTS.metricsHost, port: options.metricsPort });
    }
  } catch (err) {
    await app.close();
    throw err;
  }
  const url = baseUrl(host, app, options.tls ? 'https' : 'http');
  const metricsUrl = metricsApp && baseUrl(options.metricsHost ?? SERVER_DEFAULTS.metricsHost, metricsApp, 'http');
  log.info(
    { event: 'listening', url, host, metricsUrl, engine: sessions.engineName, maxSessions, tls: Boolean(options.tls), instance: options.instanceId, ...sessions.health() },
    `echo server listening on ${url} (engine ${sessions.engineName})`,
  );
  let closing: Promise<void> | undefined;
  const close = () => (closing ??= Promise.all([app.close(), metricsApp?.close()]).then(() => undefined));
  let draining: Promise<DrainResult> | undefined;
  const drain = (timeoutMs: number) => (draining ??= drainSessions(sessions, timeoutMs, close, log));
  return { app, sessions, url, metricsUrl, close, drain };
}

async function drainSessions(sessions: SessionHost, timeoutMs: number, close: () => Promise<void>, log: Logger): Promise<DrainResult> {
  const start = performance.now();
  sessions.startDraining();
  const sessionsAtStart = sessions.size;
  let timer: NodeJS.Timeout | undefined;
  const timedOut = await Promise.race([
    sessions.whenEmpty().then(() => false),
    new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), timeoutMs))),
  ]);
  clearTimeout(timer);
  const closedAtTimeout = timedOut ? sessions.size : 0;
  if (timedOut && closedAtTimeout > 0) {
    log.info({ event: 'drain-timeout', sessions: closedAtTimeout, drainTimeoutMs: timeoutMs }, `drain timeout: closing ${closedAtTimeout} live sessions`);
  }
  await close();
  return { sessionsAtStart, closedAtTimeout, ms: Math.round(performance.now() - start) };
}

function baseUrl(host: string, app: FastifyInstance, scheme: 'http' | 'https'): string {
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const urlHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  return `${scheme}://${urlHost.includes(':') ? `[${urlHost}]` : urlHost}:${port}`;
}

/** Listens on `host`; the dual-stack `::` falls back to 0.0.0.0 on a host without IPv6. Returns the host it listens on. */
async function listen(app: FastifyInstance, host: string, port: number, log: Logger): Promise<string> {
  try {
    await app.listen({ host, port });
    return host;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (host !== '::' || (code !== 'EAFNOSUPPORT' && code !== 'EADDRNOTAVAIL')) throw err;
    log.warn({ err }, 'no IPv6 here: listening on 0.0.0.0 only');
    await app.listen({ host: '0.0.0.0', port });
    return '0.0.0.0';
  }
}
