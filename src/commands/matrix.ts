import { Command, InvalidArgumentError } from 'commander';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestType } from '../interop/peer.js';
import { NETWORKS, type NetworkName } from '../net/namespaces.js';
import { parsePositiveInt, parseSeconds } from './parse.js';

/** The package root: peers live in interop/ and dist/ beside this file's dist/commands/. */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export const matrixCommand = new Command('matrix')
  .description('run every available server × client × test of the Echo Test and write report.md, report.json, report.html')
  .option('--servers <names>', 'comma-separated server peers (default: every available one)', parseList)
  .option('--clients <names>', 'comma-separated client peers (default: every available one)', parseList)
  .option('--tests <types>', 'comma-separated test types, 0 and/or 1', parseTests, [0, 1] as TestType[])
  .option('--network <names>', `comma-separated networks: ${NETWORKS.join(', ')} (all but direct run in network namespaces: root, iproute2, nftables, coturn)`, parseNetworks, ['direct'] as NetworkName[])
  .option('--out <dir>', 'directory for the reports', 'report')
  .option('--concurrency <n>', 'cells at once (default: min(2, CPUs))', parsePositiveInt)
  .option('--timeout <seconds>', "each client's timeout (default: the client's own, 15 s; Chromium 20 s)", parseSeconds)
  .option('--ours-only', 'only cells with one of our peers in them', false)
  .action(async (opts: MatrixOptions) => {
    // Loaded here, not at start-up: the peers' adapters bring Playwright (about 60 MiB), which
    // every other command (a server above all) has no use for.
    const { decisiveFailures, detectPeers, runMatrix } = await import('../interop/matrix.js');
    const { allPeers } = await import('../interop/adapters/index.js');
    const { stderrProgress } = await import('../interop/progress.js');
    const { writeReports } = await import('../interop/report/write.js');
    const peers = allPeers();
    const known = new Set(peers.map((p) => p.name));
    for (const name of [...(opts.servers ?? []), ...(opts.clients ?? [])]) {
      if (!known.has(name)) throw new InvalidArgumentError(`unknown peer "${name}"; known: ${[...known].join(', ')}`);
    }
    for (const peer of await detectPeers(peers, ROOT)) {
      if (peer.availability.available) continue;
      process.stderr.write(`matrix: ${peer.name} (${peer.roles.join(' and ')}) is missing: ${peer.availability.reason}; install it with: ${peer.availability.install}\n`);
    }
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
      onProgress: stderrProgress(),
    });
    const files = await writeReports(result, resolve(opts.out));
    const failures = decisiveFailures(result);
    process.stderr.write(`matrix: wrote ${files.join(', ')}\n`);
    for (const name of result.ourMissing) process.stderr.write(`matrix: FAIL our peer ${name} could not run\n`);
    for (const cell of failures) process.stderr.write(`matrix: FAIL ${cell.network} test ${cell.test} ${cell.server} → ${cell.client}: ${cell.reason ?? ''} ${cell.message ?? ''}\n`);
    process.exitCode = failures.length || result.ourMissing.length ? 1 : 0;
  });

interface MatrixOptions {
  servers?: string[];
  clients?: string[];
  tests: TestType[];
  network: NetworkName[];
  out: string;
  concurrency?: number;
  timeout?: number;
  oursOnly: boolean;
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
