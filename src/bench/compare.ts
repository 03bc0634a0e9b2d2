/**
 * The comparison behind `webrtc-echo bench-compare` (`npm run bench:compare`, commands/bench-compare.ts):
 * the same bench against our server (each engine, and the default engine with two worker
 * processes) and the foreign echo servers that are installed, one after another on loopback,
 * repeated; medians go to docs/benchmarks.md and docs/benchmarks.json.
 *
 * Two generators drive every server: the pion load worker (Go, every core, cheaper per packet
 * than the servers: media echo, CPU per packet, connect) and our own libdatachannel client peers
 * (connect, idle memory, data channels). A step where a generator or the machine saturated is
 * named, and is not quoted as the server's capacity.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { EngineName } from '../engines/engine.js';
import { DEFAULT_CLIENT_ENGINE, DEFAULT_SERVER_ENGINE, ENGINE_NAMES, loadEngine } from '../engines/registry.js';
import { EngineUnavailable } from '../engines/engine.js';
import { BENCH_DEFAULTS } from './defaults.js';
import { progressLine } from './progress.js';
import { run } from './run.js';
import { ownServerCommand, spawnServer } from './server-process.js';
import { median, round } from './stats.js';
import type { BenchOptions, BenchResult } from './types.js';
import { PION_LOAD_BINARY } from './worker-processes.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

/** The fixed rate at which CPU per echoed packet is compared: 32,000 packets/s of 1,200-byte payloads. */
export const CPU_RATE = { sessions: 16, packetsPerSecond: 2_000, payloadBytes: 1_200 };

interface Target {
  name: string;
  command: string;
  /** Echoes data channel messages exactly: the data channel scenario runs. Janus's EchoTest prefixes them. */
  dataChannel: boolean;
  /**
   * Echoes RTP packets as they came (ours, pion). aiortc and GStreamer decode and re-encode, so
   * the bench's synthetic payloads never come back: their connect steps end with a data channel
   * echo instead, and the media echo scenarios do not apply.
   */
  packetEcho: boolean;
}

/** Every engine of the registry (the default one also with 2 workers), then every foreign server that is built. */
async function targets(): Promise<Target[]> {
  const list: Target[] = [];
  for (const name of ENGINE_NAMES) {
    // An engine that cannot run here (native without its addon) is left out, as a foreign server that is not built.
    const loaded = await loadEngine(name).catch((err: unknown) => (err instanceof EngineUnavailable ? undefined : Promise.reject(err)));
    if (!loaded) continue;
    const { capabilities } = loaded;
    list.push({ name: `ours (${name})`, command: ownServerCommand(name), dataChannel: true, packetEcho: capabilities.packetEcho });
    if (name === DEFAULT_SERVER_ENGINE) {
      list.push({ name: `ours (${name}, 2 workers)`, command: ownServerCommand(name, { workers: 2 }), dataChannel: true, packetEcho: capabilities.packetEcho });
    }
  }
  const foreign: Array<[string, string, boolean, boolean]> = [
    ['pion', 'interop/peers/pion/bin/pion-server', true, true],
    ['aiortc', 'interop/peers/aiortc/aiortc-server', true, false],
    ['gstreamer', 'interop/peers/gstreamer/server.py', true, false],
    // The Janus EchoTest plugin prefixes echoed text: no data channel steps. The bench samples the
    // adapter's process tree, janus included (the adapter itself idles during the echo).
    ['janus', 'interop/peers/janus/server.sh', false, true],
  ];
  for (const [name, path, dataChannel, packetEcho] of foreign) {
    if (!existsSync(`${root}${path}`)) continue;
    const launcher = path.endsWith('.py') ? `/usr/bin/python3 ${root}${path}` : `${root}${path}`;
    list.push({ name, command: `${launcher} --host 127.0.0.1 --port {port}`, dataChannel, packetEcho });
  }
  return list;
}

function benchOptions(quick: boolean): Omit<BenchOptions, 'url' | 'serverPid'> {
  return {
    ...BENCH_DEFAULTS,
    engine: DEFAULT_CLIENT_ENGINE,
    generator: 'node',
    workers: 1,
    scenarios: ['idle', 'connect', 'echo', 'datachannel'],
    timeoutMs: 10_000,
    // Video only for every server, so pion is measured the same way (first echo over RTP).
    connect: { sequential: quick ? 15 : 30, concurrent: quick ? 30 : 100, concurrency: 10, channel: false },
    echo: { ...BENCH_DEFAULTS.echo, sessions: 10, packetsPerSecond: 250, durationMs: quick ? 1_500 : 3_000, drainMs: 700, ramp: true, rampFactor: 1.6, maxSteps: 9 },
    datachannel: { sessions: 2, messageBytes: 1_024, window: 16, durationMs: quick ? 1_500 : 3_000 },
    idle: { levels: quick ? [0, 50] : [0, 300], settleMs: 1_500 },
  };
}

/** One run of one server: our client peers (node), the pion load worker (pion), the fixed-rate CPU step (cpu). */
interface CompareRun {
  node: BenchResult;
  pion?: BenchResult;
  cpu?: BenchResult;
}

/** The numbers the comparison quotes, from one run. */
interface Headline {
  connectP50Ms?: number;
  connectP95Ms?: number;
  firstEchoP50Ms?: number;
  sessionsPerSecond?: number;
  /** Connect p50 of the concurrent phase (concurrency 10): set-up latency under load. */
  connectC10P50Ms?: number;
  pionConnectP50Ms?: number;
  pionConnectC10P50Ms?: number;
  pionSessionsPerSecond?: number;
  connectFailures: number;
  echoCapacityPps?: number;
  echoCapacityStoppedBy?: string;
  echoRttP50Ms?: number;
  cpuUsPerPacket?: number;
  cpuLoss?: number;
  cpuRttP99Ms?: number;
  cpuGeneratorUsPerPacket?: number;
  cpuMachineBusyPercent?: number;
  dcMessagesPerSecond?: number;
  rssPerSessionKiB?: number;
  idleRssMiB?: number;
  generatorWarnings: number;
}

function headline({ node, pion, cpu }: CompareRun): Headline {
  const seq = node.connect?.sequential;
  const echo = (pion ?? node).echo;
  const step = cpu?.echo?.steps[0];
  const failures = (r: BenchResult | undefined) => (r?.connect?.sequential?.failed ?? 0) + (r?.connect?.concurrent?.failed ?? 0);
  return {
    connectP50Ms: seq?.steps.connected?.p50,
    connectP95Ms: seq?.steps.connected?.p95,
    firstEchoP50Ms: seq?.steps.firstEcho?.p50,
    sessionsPerSecond: node.connect?.concurrent?.sessionsPerSecond,
    connectC10P50Ms: node.connect?.concurrent?.steps.connected?.p50,
    pionConnectP50Ms: pion?.connect?.sequential?.steps.connected?.p50,
    pionConnectC10P50Ms: pion?.connect?.concurrent?.steps.connected?.p50,
    pionSessionsPerSecond: pion?.connect?.concurrent?.sessionsPerSecond,
    connectFailures: failures(node) + failures(pion),
    echoCapacityPps: echo?.capacity?.packetsPerSecond,
    echoCapacityStoppedBy: echo?.capacity?.stoppedBy,
    echoRttP50Ms: echo?.steps[0]?.rttMs?.p50,
    cpuUsPerPacket: step?.serverCpuUsPerPacket,
    cpuLoss: step ? round(step.loss * 100, 2) : undefined,
    cpuRttP99Ms: step?.rttMs?.p99,
    cpuGeneratorUsPerPacket: step?.generatorCpuUsPerPacket,
    cpuMachineBusyPercent: step?.machine?.busyPercent,
    dcMessagesPerSecond: node.datachannel?.messagesPerSecond,
    rssPerSessionKiB: node.idle?.levels.at(-1)?.rssPerSessionKiB,
    idleRssMiB: node.idle?.levels[0]?.serverRssMiB,
    generatorWarnings: [node, pion, cpu].reduce((sum, r) => sum + (r?.generatorWarnings.length ?? 0), 0),
  };
}

const NUMERIC: Array<keyof Headline> = [
  'connectP50Ms', 'connectP95Ms', 'firstEchoP50Ms', 'sessionsPerSecond', 'connectC10P50Ms', 'pionConnectP50Ms', 'pionConnectC10P50Ms', 'pionSessionsPerSecond', 'connectFailures',
  'echoCapacityPps', 'echoRttP50Ms', 'cpuUsPerPacket', 'cpuLoss', 'cpuRttP99Ms', 'cpuGeneratorUsPerPacket', 'cpuMachineBusyPercent',
  'dcMessagesPerSecond', 'rssPerSessionKiB', 'idleRssMiB', 'generatorWarnings',
];

function medians(runs: Headline[]): Headline {
  const out: Record<string, unknown> = { connectFailures: 0, generatorWarnings: 0 };
  for (const key of NUMERIC) {
    const m = median(runs.map((h) => h[key]).filter((v): v is number => typeof v === 'number'));
    if (m !== undefined) out[key] = round(m, 1);
  }
  out.echoCapacityStoppedBy = runs.map((h) => h.echoCapacityStoppedBy).filter(Boolean).join('/');
  return out as unknown as Headline;
}

/** Runs every scenario of one server once: our clients, then the pion load worker, then the CPU step. */
async function measureServer(target: Target, base: ReturnType<typeof benchOptions>, url: string, serverPid: number, onProgress: (line: string) => void): Promise<CompareRun> {
  const common = { ...base, url, serverPid, onProgress };
  // Idle first: on a fresh server the RSS each session adds is not hidden by memory that
  // earlier scenarios freed and the allocator kept.
  const nodeScenarios = base.scenarios.filter((s) => s !== 'echo' && (s !== 'datachannel' || target.dataChannel));
  const node = await run({ ...common, scenarios: nodeScenarios, connect: { ...base.connect, channel: !target.packetEcho } });
  if (!existsSync(PION_LOAD_BINARY)) {
    // Without the pion load worker, the media echo falls back on our own client peers.
    if (target.packetEcho) Object.assign(node, { echo: (await run({ ...common, scenarios: ['echo'] })).echo });
    return { node };
  }
  if (!target.packetEcho) return { node };
  const pion = await run({ ...common, generator: 'pion', scenarios: ['connect', 'echo'] });
  const cpu = await run({
    ...common,
    generator: 'pion',
    scenarios: ['echo'],
    echo: { ...base.echo, ...CPU_RATE, durationMs: Math.max(base.echo.durationMs, 3_000), ramp: false },
  });
  return { node, pion, cpu };
}

export interface CompareOptions {
  repeats: number;
  /** Shorter phases: a smoke run, not numbers to quote. */
  quick: boolean;
  /** Only the servers whose name contains one of these. */
  only?: string[];
  /** Keep the other servers' results of docs/benchmarks.json and replace only those measured now. */
  merge: boolean;
  /** The command line, as the generated page quotes it. */
  argv: string[];
}

/** Re-renders docs/benchmarks.md from docs/benchmarks.json, without measuring anything. */
export function renderBenchmarks(): void {
  const saved = JSON.parse(readFileSync(`${root}docs/benchmarks.json`, 'utf8')) as { machine: ReturnType<typeof machineInfo>; repeats: number; options: ReturnType<typeof benchOptions>; results: Record<string, CompareEntry>; argv?: string[] };
  // Medians again from the saved runs: a figure added to the table since shows for older runs too.
  for (const entry of Object.values(saved.results)) entry.median = medians(entry.runs.map(headline));
  writeFileSync(`${root}docs/benchmarks.md`, markdown(saved.machine, saved.repeats, saved.options, saved.results, saved.argv ?? []));
}

/** Measures every chosen server `repeats` times, round-robin, and writes docs/benchmarks.{md,json} after each run. */
export async function compareServers({ repeats, quick, only, merge, argv }: CompareOptions): Promise<void> {
  const chosen = (await targets()).filter((t) => !only || only.some((o) => t.name.includes(o)));
  const base = benchOptions(quick);
  const results: Record<string, CompareEntry> = {};
  if (merge && existsSync(`${root}docs/benchmarks.json`)) {
    const saved = JSON.parse(readFileSync(`${root}docs/benchmarks.json`, 'utf8')) as { results: Record<string, CompareEntry> };
    for (const [name, entry] of Object.entries(saved.results)) {
      const target = chosen.find((t) => t.name === name);
      // Measured again: a fresh entry in the same place of the table.
      results[name] = target ? newEntry(target) : entry;
    }
  }
  const progress = progressLine();
  const machine = machineInfo();
  let current: Awaited<ReturnType<typeof spawnServer>> | undefined;
  // Interrupted: stop the server under test (it runs in its own process group) before leaving.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => void (current?.stop() ?? Promise.resolve()).then(() => process.exit(130)));
  }
  for (let repeat = 0; repeat < repeats; repeat++) {
    for (const target of chosen) {
      process.stderr.write(`[${repeat + 1}/${repeats}] ${target.name}: ${target.command} (load ${loadavg()[0]!.toFixed(1)})\n`);
      const entry = (results[target.name] ??= newEntry(target));
      let server;
      try {
        entry.loadAverages.push(round(loadavg()[0]!, 1));
        server = current = await spawnServer(target.command);
        const one = await measureServer(target, base, server.url, server.pid, progress.update);
        progress.done();
        for (const r of [one.node, one.pion, one.cpu]) if (r) r.serverCommand = server.command;
        entry.runs.push(one);
      } catch (err) {
        entry.notes.push(`run ${repeat + 1}: ${(err as Error).message}`);
      } finally {
        await server?.stop();
      }
      // Written after every run, so an interrupted comparison still leaves what it measured.
      write(results, repeats, base, machine, argv);
    }
  }
  process.stderr.write(`wrote docs/benchmarks.md and docs/benchmarks.json\n`);
}

function newEntry(target: Target): CompareEntry {
  return {
    command: target.command,
    firstEchoVia: target.packetEcho ? 'rtp' : 'datachannel',
    runs: [],
    median: { connectFailures: 0, generatorWarnings: 0 },
    notes: [],
    loadAverages: [],
  };
}

function write(results: Record<string, CompareEntry>, repeats: number, base: ReturnType<typeof benchOptions>, machine: ReturnType<typeof machineInfo>, argv: string[]): void {
  for (const entry of Object.values(results)) entry.median = medians(entry.runs.map(headline));
  mkdirSync(`${root}docs`, { recursive: true });
  writeFileSync(`${root}docs/benchmarks.json`, `${JSON.stringify({ machine, repeats, argv, options: base, results }, null, 2)}\n`);
  writeFileSync(`${root}docs/benchmarks.md`, markdown(machine, repeats, base, results, argv));
}

interface CompareEntry {
  command: string;
  /** The client engine of the data channel scenario when it is not the bench's default. */
  dataChannelClient?: EngineName;
  firstEchoVia: 'rtp' | 'datachannel';
  runs: CompareRun[];
  median: Headline;
  notes: string[];
  /** The machine's 1-minute load average as each run started (other work shares it). */
  loadAverages: number[];
}

function machineInfo() {
  const cpuModel = readFileSync('/proc/cpuinfo', 'utf8').match(/^model name\s*:\s*(.*)$/m)?.[1] ?? cpus()[0]?.model ?? 'unknown';
  let pionVersion = 'unknown';
  try {
    pionVersion = execFileSync('dpkg-query', ['-W', '-f=${Version}', 'golang-github-pion-webrtc.v3-dev'], { encoding: 'utf8' });
  } catch {
    /* not a Debian machine */
  }
  return { nproc: cpus().length, cpuModel, memoryGiB: round(totalmem() / 2 ** 30, 1), node: process.version, pionVersion, date: new Date().toISOString() };
}

function markdown(machine: ReturnType<typeof machineInfo>, repeats: number, base: ReturnType<typeof benchOptions>, results: Record<string, CompareEntry>, argv: string[]): string {
  const pion = results.pion?.median;
  const ratio = (value: number | undefined, reference: number | undefined) => (value !== undefined && reference ? `${round(value / reference, 2)}×` : 'n/a');
  const cell = (v: number | undefined) => (v === undefined ? 'n/a' : String(v));
  const c = base.connect.concurrency;
  const rows = Object.entries(results).map(([name, r]) => {
    const m = r.median;
    return `| ${name} | ${r.runs.length} | ${r.firstEchoVia === 'rtp' ? 'video, RTP' : 'data channel'} | ${cell(m.connectP50Ms)} | ${cell(m.connectP95Ms)} | ${cell(m.sessionsPerSecond)} | ${cell(m.connectC10P50Ms)} | ${cell(m.pionConnectP50Ms)} | ${cell(m.pionSessionsPerSecond)} | ${cell(m.pionConnectC10P50Ms)} | ${cell(m.echoCapacityPps)} | ${cell(m.cpuUsPerPacket)} | ${cell(m.cpuLoss)} | ${cell(m.cpuRttP99Ms)} | ${cell(m.dcMessagesPerSecond)}${r.dataChannelClient ? ` (${r.dataChannelClient} client)` : ''} | ${cell(m.rssPerSessionKiB)} | ${cell(m.idleRssMiB)} |`;
  });
  const ratios = Object.entries(results).map(([name, r]) => {
    const m = r.median;
    return `| ${name} | ${ratio(m.connectP50Ms, pion?.connectP50Ms)} | ${ratio(m.pionConnectP50Ms, pion?.pionConnectP50Ms)} | ${ratio(m.connectC10P50Ms, pion?.connectC10P50Ms)} | ${ratio(m.pionConnectC10P50Ms, pion?.pionConnectC10P50Ms)} | ${ratio(m.sessionsPerSecond, pion?.sessionsPerSecond)} | ${ratio(m.pionSessionsPerSecond, pion?.pionSessionsPerSecond)} | ${ratio(m.echoCapacityPps, pion?.echoCapacityPps)} | ${ratio(m.cpuUsPerPacket, pion?.cpuUsPerPacket)} | ${ratio(m.rssPerSessionKiB, pion?.rssPerSessionKiB)} |`;
  });
  // Paths relative to the checkout, also for results measured in another checkout (--render, --merge).
  const relative = (command: string) => command.replaceAll(root, '').replace(/(^|\s)\/\S*?\/(?=(dist\/cli\.js|interop\/peers\/)\S*)/g, '$1');
  const commands = Object.entries(results).map(([name, r]) => `- ${name}: \`${relative(r.command)}\``);
  const notes = Object.entries(results).flatMap(([name, r]) => [
    ...r.notes.map((n) => `- ${name}: ${n}`),
    ...r.runs.flatMap((run, i) =>
      (['node', 'pion', 'cpu'] as const).flatMap((kind) => {
        const one = run[kind];
        if (!one) return [];
        return [
          ...[...one.generatorWarnings, ...one.errors].map((w) => `- ${name}, run ${i + 1} (${kind}): ${w}`),
          ...(one.connect?.sequential?.failures ?? []).concat(one.connect?.concurrent?.failures ?? []).map((f) => `- ${name}, run ${i + 1} (${kind}): ${f.count} connect failures, ${f.reason}: ${f.example}`),
        ];
      }),
    ),
  ]);
  const loads = Object.entries(results).map(([name, r]) => `${name} ${r.loadAverages.join('/')}`).join('; ');
  return `# Benchmarks

Generated by \`npm run bench:compare${argv.length ? ` -- ${argv.join(' ')}` : ''}\` (src/bench/compare.ts). Medians of ${repeats} runs per server; servers
run one after another on loopback, round-robin. **The machine is shared with other work and noisy**: compare
servers within one table, not across files. Load average (1 min) as each run started: ${loads}.

## Machine

- CPUs (nproc): ${machine.nproc}, ${machine.cpuModel}
- memory: ${machine.memoryGiB} GiB
- node ${machine.node}; pion from Debian golang-github-pion-webrtc.v3-dev ${machine.pionVersion}
- date: ${machine.date}

## What was run

Two load generators drive every server: **our client peers** (libdatachannel, node-datachannel, one Node
process) and **the pion load worker** (\`interop/peers/pion/bin/pion-load\`, Go, pion v3.1.56 without
interceptors, one process using every core). Servers:

${commands.join('\n')}

Per server and run:

- our clients: server RSS at ${base.idle.levels.join(' and ')} idle connected sessions; connect ${base.connect.sequential} sessions one after another, then
  ${base.connect.concurrent} at concurrency ${c}; data channel echo (${base.datachannel.sessions} sessions, ${base.datachannel.messageBytes}-byte messages, ${base.datachannel.window} in flight; against pion
  with the werift client: pion v3.1.56 rejects libdatachannel's SCTP INIT with a zero checksum).
- the pion load worker (packet-echo servers only): the same connect phases; a media echo ramp from ${base.echo.sessions} sessions ×
  ${base.echo.packetsPerSecond} packets/s of ${base.echo.payloadBytes}-byte RTP payloads, ×${base.echo.rampFactor} per ${base.echo.durationMs / 1000} s step until loss passes 1% (or the generator or
  the machine saturates); then ${CPU_RATE.sessions} sessions × ${CPU_RATE.packetsPerSecond} packets/s (${CPU_RATE.sessions * CPU_RATE.packetsPerSecond} packets/s, ${CPU_RATE.payloadBytes}-byte payloads) for the server's CPU per
  echoed packet, counted over every thread of the server and of every process it started.

Connect offers, for the packet-echo servers (ours, pion): one sendrecv VP8 section, no data channel, first echo = first
RTP packet back. aiortc and GStreamer decode and re-encode media, so the bench's synthetic RTP never comes back from
them: they get a data-channel-only offer (first echo = a data channel message), and no media echo scenario.

## Results (medians)

| server | runs | offer, first echo | connect p50 ms | connect p95 ms | sessions/s at c=${c} | connect p50 ms at c=${c} | connect p50 ms, pion client | sessions/s at c=${c}, pion client | connect p50 ms at c=${c}, pion client | echo capacity packets/s (<1% loss) | server CPU µs per echoed packet at ${CPU_RATE.sessions * CPU_RATE.packetsPerSecond / 1000}k/s | loss % at ${CPU_RATE.sessions * CPU_RATE.packetsPerSecond / 1000}k/s | rtt p99 ms at ${CPU_RATE.sessions * CPU_RATE.packetsPerSecond / 1000}k/s | dc messages/s | RSS KiB per idle session | idle RSS MiB |
|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|
${rows.join('\n')}

"connect" is the time from creating the client peer to \`connected\` (includes the client's own offer
and gathering, the POST, ICE and DTLS). Echo capacity is the highest total rate a ramp step held
under 1% loss (stopped by: ${Object.entries(results).map(([n, r]) => `${n} ${r.median.echoCapacityStoppedBy || 'n/a'}`).join('; ')}; "machine": every core of the machine was busy when
the loss came, so the server's own limit may be higher). CPU per echoed packet is only comparable between rows of one
table, and between steps of little loss (a lost packet costs the server CPU without counting as echoed).

## Ratios to pion

| server | connect p50, our client | connect p50, pion client | connect p50 at c=${c}, our client | connect p50 at c=${c}, pion client | sessions/s, our client | sessions/s, pion client | echo capacity | CPU per echoed packet | RSS per session |
|---|---|---|---|---|---|---|---|---|---|
${ratios.join('\n')}

Lower is better for connect, CPU and RSS; higher for sessions/s and capacity.

## Notes and warnings

${notes.length ? notes.join('\n') : '- none'}

## Reading these numbers

- Every echo step reports the generator's CPU (each process, and per thread) and the whole machine's; a step where a
  generator worker saturated (a Node worker's event loop, or the Go worker's share of every core) or the machine had no
  CPU left is named, and a ramp that stops there says so instead of quoting a capacity.
- Our server runs compiled (dist/cli.js, as npm start runs it) when compare runs from dist. RSS per
  session is (RSS with the sessions held − RSS before) / sessions, each a median of five
  readings; for a garbage-collected server it moves by tens of MiB between runs.
- The machine is shared with other work: ramps in particular vary between runs (see each run in
  the JSON), which is why medians are quoted.

Full per-run results, including p99s, CPU of the server and of the generators, are in docs/benchmarks.json.
${extra()}`;
}

/** Measurements made by hand (each with its command) live in docs/benchmarks.extra.md and follow the table. */
function extra(): string {
  const path = `${root}docs/benchmarks.extra.md`;
  return existsSync(path) ? `
${readFileSync(path, 'utf8')}` : '';
}

