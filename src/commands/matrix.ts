import { Command, InvalidArgumentError } from 'commander';
import { basename, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parsePeerSpec, type PeerSpec, type Role } from '../interop/byo/spec.js';
import type { TestType } from '../interop/peer.js';
import { NETWORKS, type NetworkName } from '../net/namespaces.js';
import { collect, parsePositiveInt, parseSeconds } from './parse.js';

/** The package root: peers live in interop/ and dist/ beside this file's dist/commands/. */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export const matrixCommand = new Command('matrix')
  .description('run every available server × client × test of the Echo Test and write report.md, report.json, report.html and each cell\'s evidence in cells/')
  .option('--servers <names>', 'comma-separated server peers (default: every available one)', parseList)
  .option('--clients <names>', 'comma-separated client peers (default: every available one)', parseList)
  .option('--tests <types>', 'comma-separated test types, 0 and/or 1', parseTests, [0, 1] as TestType[])
  .option('--network <names>', `comma-separated networks: ${NETWORKS.join(', ')} (all but direct run in network namespaces: root, iproute2, nftables, coturn)`, parseNetworks, ['direct'] as NetworkName[])
  .option(
    '--add-server <NAME=COMMAND_OR_URL>',
    'a server of your own (repeatable): COMMAND runs under /bin/sh with {port} (and {host}) replaced, and a cell starts once that port accepts TCP; URL (http://HOST:PORT/offer) is a server already running (direct network only)',
    collect(peerSpec('server')),
  )
  .option('--add-client <NAME=COMMAND>', 'a client of your own (repeatable): COMMAND runs under /bin/sh with "-s URL -t N" appended as one argument (as the Echo Test containers pass it); exit 0 pass, 1 fail, 127 unsupported', collect(peerSpec('client')))
  .option('--repeat <n>', 'runs per cell: a cell that passes some runs and fails others is flaky', parsePositiveInt, 1)
  .option('--capture', "a pcapng of every run with the DTLS keys its peers can give (SSLKEYLOGFILE), in the run's evidence (root, dumpcap: apt-get install tshark)", false)
  .option('--out <dir>', 'directory for the reports and cells/ (each run\'s evidence)', 'report')
  .option('--concurrency <n>', 'cells at once (default: min(2, CPUs))', parsePositiveInt)
  .option('--timeout <seconds>', "each client's timeout (default: the client's own, 15 s; Chromium 20 s)", parseSeconds)
  .option('--ours-only', 'only cells with one of our peers in them', false)
  .action(async (opts: MatrixOptions) => {
    // Loaded here, not at start-up: the peers' adapters bring Playwright (about 60 MiB), which
    // every other command (a server above all) has no use for.
    const { decisiveFailures, detectPeers, runMatrix } = await import('../interop/matrix.js');
    const { allPeers } = await import('../interop/adapters/index.js');
    const { byoPeers } = await import('../interop/byo/peers.js');
    const { rerunCommand } = await import('../interop/rerun.js');
    const { stderrProgress } = await import('../interop/progress.js');
    const { writeReports } = await import('../interop/report/write.js');
    const specs = [...(opts.addServer ?? []), ...(opts.addClient ?? [])];
    const builtIn = allPeers();
    for (const spec of specs) {
      if (builtIn.some((p) => p.name === spec.name)) throw new InvalidArgumentError(`--add-${spec.role} ${spec.name}: that name is one of the matrix's own peers; pick another`);
      if (specs.some((s) => s !== spec && s.role === spec.role && s.name === spec.name)) throw new InvalidArgumentError(`--add-${spec.role} ${spec.name} is given twice`);
    }
    const cwd = process.cwd();
    const peers = [...builtIn, ...byoPeers(specs, cwd)];
    const known = new Set(peers.map((p) => p.name));
    for (const name of [...(opts.servers ?? []), ...(opts.clients ?? [])]) {
      if (!known.has(name)) throw new InvalidArgumentError(`unknown peer "${name}"; known: ${[...known].join(', ')}`);
    }
    for (const peer of await detectPeers(peers, ROOT)) {
      if (peer.availability.available) continue;
      process.stderr.write(`matrix: ${peer.name} (${peer.roles.join(' and ')}) is missing: ${peer.availability.reason}; install it with: ${peer.availability.install}\n`);
    }
    if (opts.capture) {
      const { captureUnavailable } = await import('../interop/evidence/capture.js');
      const why = await captureUnavailable();
      if (why) process.stderr.write(`matrix: --capture: ${why}; the runs go on without captures\n`);
    }
    const reportDir = resolve(opts.out);
    const result = await runMatrix({
      root: ROOT,
      peers,
      servers: opts.servers,
      clients: opts.clients,
      tests: opts.tests,
      networks: opts.network,
      oursOnly: opts.oursOnly,
      concurrency: opts.concurrency,
      timeoutMs: opts.timeout,
      repeat: opts.repeat,
      capture: opts.capture,
      reportDir,
      rerunCommand: (cell) =>
        rerunCommand({ program: invokedAs(cwd), cwd, specs, timeoutSeconds: opts.timeout === undefined ? undefined : opts.timeout / 1000, capture: opts.capture, reportDir }, cell),
      onProgress: stderrProgress(),
    });
    const files = await writeReports(result, reportDir);
    const failures = decisiveFailures(result);
    process.stderr.write(`matrix: wrote ${files.join(', ')} and each run's evidence in ${resolve(reportDir, 'cells')}\n`);
    for (const name of result.ourMissing) process.stderr.write(`matrix: FAIL our peer ${name} could not run\n`);
    for (const cell of failures) {
      const rate = cell.runs.length > 1 ? ` (${cell.passed}/${cell.runs.length} runs passed)` : '';
      process.stderr.write(`matrix: ${cell.status === 'flaky' ? 'FLAKY' : 'FAIL'} ${cell.network} test ${cell.test} ${cell.server} → ${cell.client}${rate}: ${cell.reason ?? ''} ${cell.message ?? ''}\n`);
      if (cell.rerun) process.stderr.write(`matrix:   rerun: ${cell.rerun.command}\n`);
    }
    process.exitCode = failures.length || result.ourMissing.length ? 1 : 0;
  });

interface MatrixOptions {
  servers?: string[];
  clients?: string[];
  tests: TestType[];
  network: NetworkName[];
  addServer?: PeerSpec[];
  addClient?: PeerSpec[];
  repeat: number;
  capture: boolean;
  out: string;
  concurrency?: number;
  timeout?: number;
  oursOnly: boolean;
}

/** How this process was started, as a command to type again: `webrtc-echo`, or `node dist/cli.js`. */
function invokedAs(cwd: string): string[] {
  const script = process.argv[1] ?? 'webrtc-echo';
  if (basename(script) === 'webrtc-echo') return ['webrtc-echo'];
  const rel = relative(cwd, script);
  return ['node', rel.startsWith('..') ? script : rel];
}

function peerSpec(role: Role): (value: string) => PeerSpec {
  return (value) => {
    try {
      return parsePeerSpec(role, value);
    } catch (err) {
      throw new InvalidArgumentError((err as Error).message);
    }
  };
}

function parseList(value: string): string[] {
  return value.split(',').map((s) => s.trim()).filter(Boolean);
}

function parseTests(value: string): TestType[] {
  const tests = parseList(value).map(Number);
  if (!tests.length || tests.some((t) => t !== 0 && t !== 1)) throw new InvalidArgumentError('tests are 0 and/or 1');
  return [...new Set(tests)] as TestType[];
}

function parseNetworks(value: string): NetworkName[] {
  const names = parseList(value);
  const unknown = names.filter((n) => !(NETWORKS as readonly string[]).includes(n));
  if (!names.length || unknown.length) throw new InvalidArgumentError(`networks are ${NETWORKS.join(', ')}; got ${unknown.join(', ') || 'none'}`);
  return [...new Set(names)] as NetworkName[];
}
