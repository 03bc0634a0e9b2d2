import { Command, InvalidArgumentError, Option } from 'commander';
import { createLogger, LOG_LEVELS } from '../log.js';
import { DEFAULT_ENGINE, ENGINE_NAMES } from '../engines/registry.js';
import type { EngineName } from '../engines/engine.js';
import { cpus } from 'node:os';
import { SERVER_DEFAULTS, startEchoServer, startWorkerServer, type EchoServer } from '../signaling/server.js';
import type { SessionHost } from '../echo/session-host.js';
import { parsePositiveInt, secondsOption } from './parse.js';

export const serveCommand = new Command('serve')
  .description('run the echo server peer: POST /offer answers, echoes RTP and data channel messages')
  .option('--host <host>', 'address to listen on', SERVER_DEFAULTS.host)
  .option('-p, --port <port>', 'TCP port of the HTTP signaling server', parsePort, SERVER_DEFAULTS.port)
  .addOption(new Option('-e, --engine <engine>', 'WebRTC stack').choices(ENGINE_NAMES).default(DEFAULT_ENGINE))
  .option('--max-sessions <n>', 'live sessions at most (over every worker); more offers get 503', parsePositiveInt, SERVER_DEFAULTS.maxSessions)
  .option('-w, --workers <n>', 'session worker processes behind the one HTTP listener (1: every session in this process)', parsePositiveInt, cpus().length)
  .addOption(secondsOption('--session-timeout <seconds>', 'release a session that has not connected after this long', SERVER_DEFAULTS.connectTimeoutMs))
  .addOption(secondsOption('--max-lifetime <seconds>', 'release any session after this long', SERVER_DEFAULTS.maxLifetimeMs))
  .addOption(secondsOption('--gather-timeout <seconds>', 'longest wait for ICE gathering before answering', SERVER_DEFAULTS.gatherTimeoutMs))
  .addOption(new Option('--log-level <level>', 'log level').choices(LOG_LEVELS).default('info'))
  .action(async (opts: ServeOptions) => {
    const log = createLogger(opts.logLevel);
    const options = {
      host: opts.host,
      port: opts.port,
      engine: opts.engine,
      maxSessions: opts.maxSessions,
      connectTimeoutMs: opts.sessionTimeout,
      maxLifetimeMs: opts.maxLifetime,
      gatherTimeoutMs: opts.gatherTimeout,
      disconnectGraceMs: SERVER_DEFAULTS.disconnectGraceMs,
      log,
    };
    const server: EchoServer<SessionHost> =
      opts.workers > 1 ? await startWorkerServer({ ...options, workers: opts.workers, logLevel: opts.logLevel }) : await startEchoServer(options);
    const shutdown = async (signal: string) => {
      log.info({ event: 'shutdown', signal, sessions: server.sessions.size }, `${signal}: closing every session`);
      await server.close();
      log.info({ event: 'stopped' }, 'stopped');
      // Native stacks may keep threads alive after their peers are closed; we are done.
      process.exit(0);
    };
    process.once('SIGINT', () => void shutdown('SIGINT'));
    process.once('SIGTERM', () => void shutdown('SIGTERM'));
  });

interface ServeOptions {
  host: string;
  port: number;
  engine: EngineName;
  maxSessions: number;
  workers: number;
  sessionTimeout: number;
  maxLifetime: number;
  gatherTimeout: number;
  logLevel: (typeof LOG_LEVELS)[number];
}

function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new InvalidArgumentError('a port is 0..65535');
  return port;
}
