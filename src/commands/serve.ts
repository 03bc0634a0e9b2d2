import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { Command, InvalidArgumentError, Option } from 'commander';
import { createLogger, LOG_LEVELS } from '../log.js';
import { DEFAULT_SERVER_ENGINE, defaultServerEngine, ENGINE_NAMES, FALLBACK_ENGINE } from '../engines/registry.js';
import type { EngineName } from '../engines/engine.js';
import type { IceServer } from '../net/ice-server.js';
import type { Cidr } from '../sdp/candidate-policy.js';
import type { SessionHost } from '../echo/session-host.js';
import { SERVER_DEFAULTS, startEchoServer, startWorkerServer, type EchoServer } from '../signaling/server.js';
import {
  collect, decidedAtStart, parseCidrs, parseCount, parseIceServer, parseIpAddress, parseOrigins, parsePort, parsePortRange, parsePositiveInt, parseSecondsOrZero, parseTrustProxy, secondsOption,
} from './parse.js';

export const serveCommand = new Command('serve')
  .description('run the echo server peer: POST /offer answers, echoes RTP and data channel messages; WHIP in (POST /whip), WHEP out (POST /whep/ID)')
  .option('--host <host>', 'address to listen on (:: is IPv6 and IPv4)', SERVER_DEFAULTS.host)
  .option('-p, --port <port>', 'TCP port of the HTTP signaling server', parsePort, SERVER_DEFAULTS.port)
  .addOption(
    decidedAtStart(
      new Option('-e, --engine <engine>', 'WebRTC stack').choices(ENGINE_NAMES),
      `${DEFAULT_SERVER_ENGINE}${DEFAULT_SERVER_ENGINE === FALLBACK_ENGINE ? '' : `; ${FALLBACK_ENGINE} where ${DEFAULT_SERVER_ENGINE} cannot load or does not take --ice-server`}`,
    ),
  )
  .addOption(
    decidedAtStart(new Option('--max-sessions <n>', 'live sessions at most; more offers get 503').argParser(parsePositiveInt), '1000; werift 500, libwebrtc 50'),
  )
  .addOption(
    decidedAtStart(new Option('-w, --workers <n>', 'session worker processes behind the one HTTP listener (1: every session in this process)')
      .argParser(parsePositiveInt), 'the number of cores; 1 with --udp-mux'),
  )
  .addOption(secondsOption('--session-timeout <seconds>', 'release a session that has not connected after this long', SERVER_DEFAULTS.connectTimeoutMs))
  .addOption(secondsOption('--max-lifetime <seconds>', 'release any session after this long', SERVER_DEFAULTS.maxLifetimeMs))
  .addOption(
    secondsOption(
      '--idle-timeout <seconds>',
      'release a connected session from whose client nothing (media, data, ICE consent) has arrived this long',
      SERVER_DEFAULTS.idleTimeoutMs,
    ),
  )
  .addOption(secondsOption('--gather-timeout <seconds>', 'longest wait for ICE gathering before answering', SERVER_DEFAULTS.gatherTimeoutMs))
  .option('--public-ip <address>', 'announce this address in the answers\' host candidates (1:1 NAT); once for IPv4, once for IPv6', collect(parseIpAddress))
  .addOption(
    decidedAtStart(new Option('--ice-addresses <which>', 'addresses the echo peers gather, announce and check: loopback (127.0.0.1, ::1) only, or all')
      .choices(['loopback', 'all']), 'loopback when --host is a loopback address, else all'),
  )
  .option('--udp-port-range <min-max>', 'UDP ports the echo peers may use', parsePortRange)
  .option('--udp-mux <port>', 'one UDP port for every session (libdatachannel and native); with --workers N, PORT to PORT+N-1, one per worker', parsePort)
  .option('--ice-server <url>', 'STUN/TURN server for the echo peers\' gathering: stun:HOST:PORT or turn://USER:PASS@HOST:PORT?transport=udp|tcp (repeatable)', collect(parseIceServer))
  .option('--max-media-sections <n>', 'm= sections per offer; more get 422', parsePositiveInt, SERVER_DEFAULTS.maxMediaSections)
  .option('--max-candidates <n>', 'distinct ICE candidates per offer; more get 422', parsePositiveInt, SERVER_DEFAULTS.maxCandidates)
  .option('--max-data-channels <n>', 'data channels per session; later ones are closed at once', parsePositiveInt, SERVER_DEFAULTS.maxDataChannels)
  .option('--max-viewers <n>', 'WHEP viewers per WHIP publisher; more get 503', parsePositiveInt, SERVER_DEFAULTS.maxViewersPerPublisher)
  .option('--link-ice-server <url>', 'STUN/TURN server announced to WHIP and WHEP clients in Link headers (rel="ice-server"), same forms as --ice-server (repeatable)', collect(parseIceServer))
  .addOption(
    decidedAtStart(new Option('--max-unconnected-per-address <n>', 'sessions one client address (IPv6: its /64) may hold before they connect; more get 429')
      .argParser(parsePositiveInt), '5% of --max-sessions, at least 2'),
  )
  .option('--offer-rate <n>', 'offers per second per client address; more get 429 (0: no limit)', parseCount, SERVER_DEFAULTS.offersPerSecond)
  .option('--candidate-allow <cidrs>', 'take remote candidates only from these ranges (comma-separated CIDRs)', parseCidrs)
  .option('--candidate-deny <cidrs>', 'never take remote candidates from these ranges (comma-separated CIDRs)', parseCidrs)
  .option('--cors-origin <origins>', 'origins allowed to use /offer, /whip and /whep from a page: * or comma-separated origins', parseOrigins, '*' as const)
  .option('--trust-proxy [proxies]', 'client address from X-Forwarded-For: from any proxy, from these comma-separated addresses/CIDRs, or a hop count', parseTrustProxy)
  .option('--metrics-port <port>', 'serve /metrics (and /healthz) on a listener of its own, and not on the main one', parsePort)
  .option('--metrics-host <host>', 'address of the metrics listener', SERVER_DEFAULTS.metricsHost)
  .option('--tls-cert <file>', 'PEM certificate (chain): serve HTTPS, the offer endpoint and the page (needs --tls-key)')
  .option('--tls-key <file>', 'PEM private key of --tls-cert')
  .addOption(
    new Option('--drain-timeout <seconds>', 'on SIGTERM/SIGINT, let live sessions run this long before closing them (0: close at once)')
      .argParser(parseSecondsOrZero)
      .default(SERVER_DEFAULTS.drainTimeoutMs, `${SERVER_DEFAULTS.drainTimeoutMs / 1000}`),
  )
  .option('--instance-id <id>', 'name this instance in an X-Echo-Instance header and in /healthz (behind a load balancer)')
  .addOption(new Option('--log-level <level>', 'log level').choices(LOG_LEVELS).default('info'))
  .action(async (opts: ServeOptions) => {
    const log = createLogger(opts.logLevel);
    const tls = readTls(opts.tlsCert, opts.tlsKey);
    const engine = opts.engine ?? chooseDefaultEngine(opts.iceServer?.length ?? 0, log);
    const options = {
      host: opts.host,
      port: opts.port,
      engine,
      maxSessions: opts.maxSessions,
      connectTimeoutMs: opts.sessionTimeout,
      maxLifetimeMs: opts.maxLifetime,
      gatherTimeoutMs: opts.gatherTimeout,
      disconnectGraceMs: SERVER_DEFAULTS.disconnectGraceMs,
      idleTimeoutMs: opts.idleTimeout,
      network: {
        iceServers: opts.iceServer,
        portRange: opts.udpPortRange,
        udpMux: opts.udpMux,
        loopbackOnly: opts.iceAddresses === undefined ? undefined : opts.iceAddresses === 'loopback',
      },
      publicIps: opts.publicIp ?? [],
      maxMediaSections: opts.maxMediaSections,
      maxCandidates: opts.maxCandidates,
      maxDataChannels: opts.maxDataChannels,
      maxViewersPerPublisher: opts.maxViewers,
      linkIceServers: opts.linkIceServer ?? [],
      maxUnconnectedPerAddress: opts.maxUnconnectedPerAddress,
      offersPerSecond: opts.offerRate,
      candidateAllow: opts.candidateAllow,
      candidateDeny: opts.candidateDeny,
      corsOrigin: opts.corsOrigin,
      trustProxy: opts.trustProxy,
      metricsPort: opts.metricsPort,
      metricsHost: opts.metricsHost,
      tls,
      instanceId: opts.instanceId,
      log,
    };
    // One UDP port for every session is one process's port: --udp-mux keeps them in one process
    // unless --workers says otherwise (then worker i takes PORT+i).
    const workers = opts.workers ?? (opts.udpMux !== undefined ? 1 : cpus().length);
    const server: EchoServer<SessionHost> =
      workers > 1 ? await startWorkerServer({ ...options, workers, logLevel: opts.logLevel }) : await startEchoServer(options);
    // The first SIGTERM or SIGINT drains: no new offers, live sessions run until they end or
    // --drain-timeout passes. A second signal (Ctrl-C twice) closes every session at once.
    // Either way the process exits 0: stopping is what was asked for.
    let signalled = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (signalled) {
        log.info({ event: 'shutdown', signal, sessions: server.sessions.size }, `${signal} again: closing every session now`);
        void server.close().finally(exitNow);
        return;
      }
      signalled = true;
      const sessions = server.sessions.size;
      log.info(
        { event: 'draining', signal, sessions, drainTimeoutMs: opts.drainTimeout },
        `${signal}: draining ${sessions} live sessions for at most ${opts.drainTimeout / 1000} s (signal again to close them now)`,
      );
      void server.drain(opts.drainTimeout).then(
        (result) => {
          log.info({ event: 'drained', ...result }, 'drained');
          exitNow();
        },
        (err: unknown) => {
          log.error({ err }, 'the drain failed; stopping');
          exitNow();
        },
      );
    };
    const exitNow = () => {
      log.info({ event: 'stopped' }, 'stopped');
      // Native stacks may keep threads alive after their peers are closed; we are done.
      process.exit(0);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });

/** serve without --engine: the default server engine, or the fallback for --ice-server, said once. */
function chooseDefaultEngine(iceServerCount: number, log: ReturnType<typeof createLogger>): EngineName {
  const { name, because } = defaultServerEngine(iceServerCount);
  if (because) log.info({ event: 'engine-default', engine: name, reason: because }, `serving with ${name}: ${because}`);
  return name;
}

/** Both files or neither; read now, so a wrong path fails at start rather than at the first request. */
function readTls(certFile: string | undefined, keyFile: string | undefined): { cert: Buffer; key: Buffer } | undefined {
  if (!certFile && !keyFile) return undefined;
  if (!certFile || !keyFile) throw new InvalidArgumentError('--tls-cert and --tls-key go together');
  const read = (file: string, what: string) => {
    try {
      return readFileSync(file);
    } catch (err) {
      throw new InvalidArgumentError(`cannot read the TLS ${what} ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  };
  return { cert: read(certFile, 'certificate'), key: read(keyFile, 'key') };
}

interface ServeOptions {
  host: string;
  port: number;
  engine: EngineName | undefined;
  workers: number | undefined;
  maxSessions: number | undefined;
  sessionTimeout: number;
  maxLifetime: number;
  gatherTimeout: number;
  idleTimeout: number;
  publicIp?: string[];
  iceAddresses?: 'loopback' | 'all';
  udpPortRange?: { min: number; max: number };
  udpMux?: number;
  iceServer?: IceServer[];
  maxMediaSections: number;
  maxCandidates: number;
  maxDataChannels: number;
  maxViewers: number;
  linkIceServer?: IceServer[];
  maxUnconnectedPerAddress: number | undefined;
  offerRate: number;
  candidateAllow: Cidr[] | undefined;
  candidateDeny: Cidr[] | undefined;
  corsOrigin: '*' | string[];
  trustProxy: boolean | number | string | undefined;
  metricsPort: number | undefined;
  metricsHost: string;
  tlsCert?: string;
  tlsKey?: string;
  drainTimeout: number;
  instanceId?: string;
  logLevel: (typeof LOG_LEVELS)[number];
}

