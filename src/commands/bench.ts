import { resolve } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { CLIENT_ENGINE_NAMES, ENGINE_NAMES, DEFAULT_CLIENT_ENGINE } from '../engines/registry.js';
import type { EngineName } from '../engines/engine.js';
import { BENCH_DEFAULTS } from '../bench/defaults.js';
import { run } from '../bench/run.js';
import { printJson, printTable } from '../bench/print.js';
import { progressLine } from '../bench/progress.js';
import { ownServerCommand, spawnServer, type ServerProcess } from '../bench/server-process.js';
import { SCENARIOS, type BenchOptions, type Scenario } from '../bench/types.js';
import { GENERATORS, type GeneratorName } from '../bench/worker-processes.js';
import { parseCount, parsePositiveInt, secondsOption } from './parse.js';

const D = BENCH_DEFAULTS;

export const benchCommand = new Command('bench')
  .description('measure an echo server: connect latency and rate, media echo capacity, data channel echo, memory per session')
  .argument('[url]', `the server's /offer URL (same as -s)`)
  .option('-s, --server <url>', "the server's /offer URL")
  .addOption(new Option('-e, --engine <engine>', 'start our own server with this engine and bench it').choices(ENGINE_NAMES))
  .option('--spawn-server <command>', 'start this server command ({port} is replaced by a free port) and bench it')
  .option('--server-pid <pid>', 'sample CPU and memory of this server process', parsePositiveInt)
  .option('--server-cpu-prof <dir>', 'with --engine: write a V8 CPU profile of our server into <dir>')
  .option('--server-workers <n>', 'with --engine: serve --workers of our server', parsePositiveInt, 1)
  .addOption(new Option('--generator <kind>', 'load generator: node (our client peers, --client-engine) or pion (the Go pion load worker, interop/setup/pion.sh)').choices(GENERATORS).default(D.generator))
  .addOption(new Option('--client-engine <engine>', "engine of the bench's own client peers (--generator node)").choices(CLIENT_ENGINE_NAMES).default(DEFAULT_CLIENT_ENGINE))
  .option('-w, --workers <n>', 'load generator processes', parsePositiveInt, D.workers)
  .option('--scenarios <list>', `comma-separated: ${SCENARIOS.join(',')}`, parseScenarios, D.scenarios)
  .addOption(secondsOption('--timeout <seconds>', 'per session: longest wait from offer to first echo', D.timeoutMs))
  .option('-n, --sessions <n>', 'connect: sessions one after another, and again concurrently (0 skips a phase: see --sequential/--concurrent)', parsePositiveInt)
  .option('--sequential <n>', 'connect: sessions one after another', parseCount, D.connect.sequential)
  .option('--concurrent <n>', 'connect: sessions run concurrently', parseCount, D.connect.concurrent)
  .option('-c, --concurrency <n>', 'connect: sessions in flight at once in the concurrent phase', parsePositiveInt, D.connect.concurrency)
  .option('--connect-rate <n>', 'connect: start the concurrent phase\'s sessions at this many per second, whether or not earlier ones finished (open loop; --concurrency then caps those in flight)', parsePositiveInt)
  .option('--no-channel', 'connect and idle: offer video only (no data channel); the first echo is then an RTP packet')
  .option('--echo-sessions <n>', 'echo: concurrent sessions', parsePositiveInt, D.echo.sessions)
  .option('--echo-rate <pps>', 'echo: RTP packets per second per session', parsePositiveInt, D.echo.packetsPerSecond)
  .addOption(secondsOption('--echo-duration <seconds>', 'echo: length of each step', D.echo.durationMs))
  .option('--payload-bytes <n>', 'echo: RTP payload size', parsePositiveInt, D.echo.payloadBytes)
  .option('--ramp', 'echo: raise the rate step by step until loss passes 1%; reports the capacity', false)
  .option('--ramp-factor <x>', 'echo: rate multiplier per ramp step', parseFactor, D.echo.rampFactor)
  .option('--dc-sessions <n>', 'datachannel: concurrent sessions', parsePositiveInt, D.datachannel.sessions)
  .option('--dc-size <bytes>', 'datachannel: message size', parsePositiveInt, D.datachannel.messageBytes)
  .option('--dc-window <n>', 'datachannel: messages in flight per channel', parsePositiveInt, D.datachannel.window)
  .addOption(secondsOption('--dc-duration <seconds>', 'datachannel: how long to send', D.datachannel.durationMs))
  .option('--dc-messages <n>', 'datachannel: stop each channel after this many messages', parsePositiveInt)
  .option('--sessions-levels <list>', 'idle: numbers of idle connected sessions at which to read server RSS', parseLevels, D.idle.levels)
  .option('--json', 'print the result as one JSON document on stdout', false)
  .action(async (positional: string | undefined, opts: BenchCliOptions) => {
    const sources = [opts.server ?? positional, opts.engine, opts.spawnServer].filter(Boolean).length;
    if (sources !== 1) throw new InvalidArgumentError('give exactly one of: a URL (-s), --engine, --spawn-server');
    let server: ServerProcess | undefined;
    const progress = progressLine();
    // Ctrl-C: stop a server we started (workers leave when their IPC channel closes).
    const stopOnSignal = () => void (server?.stop() ?? Promise.resolve()).then(() => process.exit(130));
    process.once('SIGINT', stopOnSignal);
    try {
      let url = opts.server ?? positional;
      let serverPid = opts.serverPid;
      if (!url) {
        const nodeArgs = opts.serverCpuProf ? ['--cpu-prof', `--cpu-prof-dir=${resolve(opts.serverCpuProf)}`] : [];
        const command = opts.spawnServer ?? ownServerCommand(opts.engine!, { nodeArgs, workers: opts.serverWorkers });
        progress.update(`starting the server: ${command}`);
        server = await spawnServer(command);
        url = server.url;
        serverPid = server.pid;
      }
      const result = await run(toBenchOptions(opts, normalizeUrl(url), serverPid, progress.update));
      if (server) result.serverCommand = server.command;
      progress.done();
      process.stdout.write(opts.json ? printJson(result) : printTable(result));
      process.exitCode = result.errors.length > 0 ? 1 : 0;
    } finally {
      progress.done();
      process.off('SIGINT', stopOnSignal);
      await server?.stop();
    }
  });

interface BenchCliOptions {
  server?: string;
  engine?: EngineName;
  spawnServer?: string;
  serverPid?: number;
  serverCpuProf?: string;
  serverWorkers: number;
  clientEngine: EngineName;
  generator: GeneratorName;
  workers: number;
  scenarios: Scenario[];
  timeout: number;
  sessions?: number;
  sequential: number;
  concurrent: number;
  concurrency: number;
  connectRate?: number;
  channel: boolean;
  echoSessions: number;
  echoRate: number;
  echoDuration: number;
  payloadBytes: number;
  ramp: boolean;
  rampFactor: number;
  dcSessions: number;
  dcSize: number;
  dcWindow: number;
  dcDuration: number;
  dcMessages?: number;
  sessionsLevels: number[];
  json: boolean;
}

function toBenchOptions(opts: BenchCliOptions, url: string, serverPid: number | undefined, onProgress: (line: string) => void): BenchOptions {
  return {
    url,
    engine: opts.clientEngine,
    generator: opts.generator,
    workers: opts.workers,
    scenarios: opts.scenarios,
    timeoutMs: opts.timeout,
    connect: { sequential: opts.sessions ?? opts.sequential, concurrent: opts.sessions ?? opts.concurrent, concurrency: opts.concurrency, ...(opts.connectRate ? { ratePerSecond: opts.connectRate } : {}), channel: opts.channel },
    echo: { ...D.echo, sessions: opts.echoSessions, packetsPerSecond: opts.echoRate, durationMs: opts.echoDuration, payloadBytes: opts.payloadBytes, ramp: opts.ramp, rampFactor: opts.rampFactor },
    datachannel: { sessions: opts.dcSessions, messageBytes: opts.dcSize, window: opts.dcWindow, durationMs: opts.dcDuration, maxMessages: opts.dcMessages },
    idle: { ...D.idle, levels: opts.sessionsLevels },
    serverPid,
    onProgress,
  };
}

/** A bare host:port is accepted too; a URL without a path gets /offer. */
function normalizeUrl(raw: string): string {
  const url = new URL(/^[a-z]+:\/\//i.test(raw) ? raw : `http://${raw}`);
  if (url.pathname === '/') url.pathname = '/offer';
  return url.toString();
}

function parseScenarios(value: string): Scenario[] {
  const list = value.split(',').map((s) => s.trim()).filter(Boolean);
  for (const s of list) if (!(SCENARIOS as readonly string[]).includes(s)) throw new InvalidArgumentError(`unknown scenario "${s}" (${SCENARIOS.join(', ')})`);
  return list as Scenario[];
}

function parseLevels(value: string): number[] {
  const levels = value.split(',').map(Number);
  if (levels.some((n) => !Number.isInteger(n) || n < 0)) throw new InvalidArgumentError('expected whole numbers ≥ 0, comma-separated');
  return levels;
}


function parseFactor(value: string): number {
  const x = Number(value);
  if (!Number.isFinite(x) || x <= 1) throw new InvalidArgumentError('expected a number > 1');
  return x;
}
