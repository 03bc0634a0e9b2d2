/**
 * `npm run bench:compare`: the same bench against our server (each engine) and the foreign
 * echo servers that are installed, one after another on loopback, repeated; medians go to
 * docs/benchmarks.md and docs/benchmarks.json.
 *
 *   npm run bench:compare -- [--repeats 3] [--quick] [--only pion,libdatachannel]
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { EngineName } from '../engines/engine.js';
import { ENGINE_NAMES, loadEngine } from '../engines/registry.js';
import { BENCH_DEFAULTS } from './defaults.js';
import { progressLine } from './progress.js';
import { run } from './run.js';
import { ownServerCommand, spawnServer } from './server-process.js';
import { median, round } from './stats.js';
import type { BenchOptions, BenchResult } from './types.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

interface Target {
  name: string;
  command: string;
  /** Old pion (Debian v3.1.56) rejects libdatachannel's SCTP INIT (zero checksum): no data channel steps. */
  dataChannel: boolean;
  /**
   * Echoes RTP packets as they came (ours, pion). aiortc and GStreamer decode and re-encode, so
   * the bench's synthetic payloads never come back: their connect steps end with a data channel
   * echo instead, and the media echo scenario does not apply.
   */
  packetEcho: boolean;
}

/** Every engine of the registry, then every foreign server that is built. */
async function targets(): Promise<Target[]> {
  const list: Target[] = [];
  for (const name of ENGINE_NAMES) {
    const { capabilities } = await loadEngine(name);
    list.push({ name: `ours (${name})`, command: ownServerCommand(name), dataChannel: true, packetEcho: capabilities.packetEcho });
  }
  const foreign: Array<[string, string, boolean, boolean]> = [
    ['pion', 'interop/peers/pion/bin/pion-server', false, true],
    ['aiortc', 'interop/peers/aiortc/aiortc-server', true, false],
    ['gstreamer', 'interop/peers/gstreamer/server.py', true, false],
  ];
  for (const [name, path, dataChannel, packetEcho] of foreign) {
    if (!existsSync(`${root}${path}`)) continue;
    const launcher = path.endsWith('.py') ? `/usr/bin/python3 ${root}${path}` : `${root}${path}`;
    list.push({ name, command: `${launcher} --host 127.0.0.1 --port {port}`, dataChannel, packetEcho });
  }
  return list;
}

function benchOptions(quick: boolean, workers: number): Omit<BenchOptions, 'url' | 'serverPid'> {
  return {
    ...BENCH_DEFAULTS,
    engine: 'libdatachannel',
    workers,
    scenarios: ['idle', 'connect', 'echo', 'datachannel'],
    timeoutMs: 10_000,
    // Video only for every server, so pion is measured the same way (first echo over RTP).
    connect: { sequential: quick ? 15 : 30, concurrent: quick ? 30 : 100, concurrency: 10, channel: false },
    echo: { ...BENCH_DEFAULTS.echo, sessions: 10, packetsPerSecond: 250, durationMs: quick ? 1_500 : 3_000, drainMs: 700, ramp: true, rampFactor: 1.6, maxSteps: 9 },
    datachannel: { sessions: 2, messageBytes: 1_024, window: 16, durationMs: quick ? 1_500 : 3_000 },
    idle: { levels: quick ? [0, 50] : [0, 300], settleMs: 1_500 },
  };
}

/** The numbers the comparison quotes, from one run. */
interface Headline {
  connectP50Ms?: number;
  connectP95Ms?: number;
  firstEchoP50Ms?: number;
  concurrentConnectP50Ms?: number;
  sessionsPerSecond?: number;
  connectFailures: number;
  echoCapacityPps?: number;
  echoCapacityStoppedBy?: string;
  echoRttP50Ms?: number;
  dcMessagesPerSecond?: number;
  dcRttP50Ms?: number;
  rssPerSessionKiB?: number;
  idleRssMiB?: number;
  generatorWarnings: number;
}

function headline(r: BenchResult): Headline {
  const seq = r.connect?.sequential;
  return {
    connectP50Ms: seq?.steps.connected?.p50,
    connectP95Ms: seq?.steps.connected?.p95,
    firstEchoP50Ms: seq?.steps.firstEcho?.p50,
    concurrentConnectP50Ms: r.connect?.concurrent?.steps.connected?.p50,
    sessionsPerSecond: r.connect?.concurrent?.sessionsPerSecond,
    connectFailures: (seq?.failed ?? 0) + (r.connect?.concurrent?.failed ?? 0),
    echoCapacityPps: r.echo?.capacity?.packetsPerSecond,
    echoCapacityStoppedBy: r.echo?.capacity?.stoppedBy,
    echoRttP50Ms: r.echo?.steps[0]?.rttMs?.p50,
    dcMessagesPerSecond: r.datachannel?.messagesPerSecond,
    dcRttP50Ms: r.datachannel?.rttMs?.p50,
    rssPerSessionKiB: r.idle?.levels.at(-1)?.rssPerSessionKiB,
    idleRssMiB: r.idle?.levels[0]?.serverRssMiB,
    generatorWarnings: r.generatorWarnings.length,
  };
}

const NUMERIC: Array<keyof Headline> = [
  'connectP50Ms', 'connectP95Ms', 'firstEchoP50Ms', 'concurrentConnectP50Ms', 'sessionsPerSecond', 'connectFailures',
  'echoCapacityPps', 'echoRttP50Ms', 'dcMessagesPerSecond', 'dcRttP50Ms', 'rssPerSessionKiB', 'idleRssMiB', 'generatorWarnings',
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

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { repeats: { type: 'string', default: '3' }, quick: { type: 'boolean', default: false }, only: { type: 'string' }, workers: { type: 'string', default: '1' }, render: { type: 'boolean', default: false } },
  });
  if (values.render) {
    // Re-renders docs/benchmarks.md from docs/benchmarks.json, without measuring anything.
    const saved = JSON.parse(readFileSync(`${root}docs/benchmarks.json`, 'utf8')) as { machine: ReturnType<typeof machineInfo>; repeats: number; options: ReturnType<typeof benchOptions>; results: Record<string, CompareEntry>; argv?: string[] };
    writeFileSync(`${root}docs/benchmarks.md`, markdown(saved.machine, saved.repeats, saved.options, saved.results, saved.argv ?? []));
    return;
  }
  const repeats = Number(values.repeats);
  const only = values.only?.split(',');
  const chosen = (await targets()).filter((t) => !only || only.some((o) => t.name.includes(o)));
  const base = benchOptions(values.quick!, Number(values.workers));
  const results: Record<string, CompareEntry> = {};
  const progress = progressLine();
  let current: Awaited<ReturnType<typeof spawnServer>> | undefined;
  // Interrupted: stop the server under test (it runs in its own process group) before leaving.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => void (current?.stop() ?? Promise.resolve()).then(() => process.exit(130)));
  }
  for (let repeat = 0; repeat < repeats; repeat++) {
    for (const target of chosen) {
      process.stderr.write(`[${repeat + 1}/${repeats}] ${target.name}: ${target.command}\n`);
      const entry = (results[target.name] ??= { command: target.command, firstEchoVia: target.packetEcho ? 'rtp' : 'datachannel', runs: [], median: { connectFailures: 0, generatorWarnings: 0 }, notes: [] });
      let server;
      try {
        server = current = await spawnServer(target.command);
        const scenarios = base.scenarios.filter((s) => (s !== 'datachannel' || target.dataChannel) && (s !== 'echo' || target.packetEcho));
        const connect = { ...base.connect, channel: !target.packetEcho };
        const result = await run({ ...base, scenarios, connect, url: server.url, serverPid: server.pid, onProgress: progress.update });
        if (!target.dataChannel && base.scenarios.includes('datachannel')) {
          // The werift client's SCTP is accepted where libdatachannel's is not (old pion): its data channel numbers.
          const werift = await run({ ...base, engine: 'werift', scenarios: ['datachannel'], url: server.url, serverPid: server.pid, onProgress: progress.update });
          result.datachannel = werift.datachannel;
          result.errors.push(...werift.errors);
          result.generatorWarnings.push(...werift.generatorWarnings.map((w) => `werift client: ${w}`));
          entry.dataChannelClient = 'werift';
        }
        progress.done();
        result.serverCommand = server.command;
        entry.runs.push(result);
      } catch (err) {
        entry.notes.push(`run ${repeat + 1}: ${(err as Error).message}`);
      } finally {
        await server?.stop();
      }
      // Written after every run, so an interrupted comparison still leaves what it measured.
      write(results, repeats, base);
    }
  }
  process.stderr.write(`wrote docs/benchmarks.md and docs/benchmarks.json\n`);
}

function write(results: Record<string, CompareEntry>, repeats: number, base: ReturnType<typeof benchOptions>): void {
  for (const entry of Object.values(results)) entry.median = medians(entry.runs.map(headline));
  const machine = machineInfo();
  mkdirSync(`${root}docs`, { recursive: true });
  writeFileSync(`${root}docs/benchmarks.json`, `${JSON.stringify({ machine, repeats, argv: process.argv.slice(2), options: base, results }, null, 2)}\n`);
  writeFileSync(`${root}docs/benchmarks.md`, markdown(machine, repeats, base, results, process.argv.slice(2)));
}

interface CompareEntry {
  command: string;
  /** The client engine of the data channel scenario when it is not the bench's default. */
  dataChannelClient?: EngineName;
  firstEchoVia: 'rtp' | 'datachannel';
  runs: BenchResult[];
  median: Headline;
  notes: string[];
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
  const rows = Object.entries(results).map(([name, r]) => {
    const m = r.median;
    return `| ${name} | ${r.runs.length} | ${r.firstEchoVia === 'rtp' ? 'video, RTP' : 'data channel'} | ${cell(m.connectP50Ms)} | ${cell(m.connectP95Ms)} | ${cell(m.firstEchoP50Ms)} | ${cell(m.concurrentConnectP50Ms)} | ${cell(m.sessionsPerSecond)} | ${cell(m.echoCapacityPps)} | ${cell(m.echoRttP50Ms)} | ${cell(m.dcMessagesPerSecond)}${r.dataChannelClient ? ` (${r.dataChannelClient} client)` : ''} | ${cell(m.rssPerSessionKiB)} | ${cell(m.idleRssMiB)} |`;
  });
  const ratios = Object.entries(results).map(([name, r]) => {
    const m = r.median;
    return `| ${name} | ${ratio(m.connectP50Ms, pion?.connectP50Ms)} | ${ratio(m.echoCapacityPps, pion?.echoCapacityPps)} | ${ratio(m.rssPerSessionKiB, pion?.rssPerSessionKiB)} |`;
  });
  const commands = Object.entries(results).map(([name, r]) => `- ${name}: \`${r.command.replaceAll(root, '')}\``);
  const notes = Object.entries(results).flatMap(([name, r]) => [
    ...r.notes.map((n) => `- ${name}: ${n}`),
    ...r.runs.flatMap((run, i) => [...run.generatorWarnings, ...run.errors].map((w) => `- ${name}, run ${i + 1}: ${w}`)),
    ...r.runs.flatMap((run, i) => (run.connect?.sequential?.failures ?? []).concat(run.connect?.concurrent?.failures ?? []).map((f) => `- ${name}, run ${i + 1}: ${f.count} connect failures, ${f.reason}: ${f.example}`)),
  ]);
  return `# Benchmarks

Generated by \`npm run bench:compare${argv.length ? ` -- ${argv.join(' ')}` : ''}\` (src/bench/compare.ts). Medians of ${repeats} runs per server; servers
run one after another on loopback. **The machine is shared with other work and noisy**: compare
servers within one table, not across files.

## Machine

- CPUs (nproc): ${machine.nproc}, ${machine.cpuModel}
- memory: ${machine.memoryGiB} GiB
- node ${machine.node}; pion from Debian golang-github-pion-webrtc.v3-dev ${machine.pionVersion}
- date: ${machine.date}

## What was run

The bench's client peers are libdatachannel (node-datachannel) in ${base.workers} worker process(es), against:

${commands.join('\n')}

Per server and run: connect ${base.connect.sequential} sessions one after another, then ${base.connect.concurrent} at concurrency ${base.connect.concurrency}
(offer for the packet-echo servers, ours and pion: one sendrecv VP8 section, **no data channel**, first echo = first RTP
packet back: pion v3.1.56 rejects libdatachannel's SCTP INIT with a zero checksum, so data channel steps would never
complete against it; aiortc and GStreamer decode and re-encode media, so the bench's synthetic RTP never comes back from
them: they get a data-channel-only offer, first echo = a data channel message, and no media echo scenario); media echo ramp from ${base.echo.sessions} sessions × ${base.echo.packetsPerSecond} packets/s of ${base.echo.payloadBytes}-byte RTP payloads, ×${base.echo.rampFactor} per
${base.echo.durationMs / 1000} s step until loss passes 1%; data channel echo (${base.datachannel.sessions} sessions, ${base.datachannel.messageBytes}-byte messages,
${base.datachannel.window} in flight; against pion with the werift client, whose own CPU then limits the rate); server RSS at ${base.idle.levels.join(' and ')} idle connected sessions.
The same can be run against one server by hand, e.g.
\`webrtc-echo bench --spawn-server "interop/peers/pion/bin/pion-server --host 127.0.0.1 --port {port}" --no-channel --ramp\`.

## Results (medians)

| server | runs | offer, first echo | connect p50 ms | connect p95 ms | first echo p50 ms | connect p50 ms at c=${base.connect.concurrency} | sessions/s at c=${base.connect.concurrency} | echo capacity packets/s (<1% loss) | echo rtt p50 ms (first step) | dc messages/s | RSS KiB per idle session | idle RSS MiB |
|---|---|---|---|---|---|---|---|---|---|---|---|---|
${rows.join('\n')}

"connect" is the time from creating the client peer to \`connected\` (includes the client's own offer
and gathering, the POST, ICE and DTLS). Echo capacity is the highest total rate a ramp step held
under 1% loss (stopped by: ${Object.entries(results).map(([n, r]) => `${n} ${r.median.echoCapacityStoppedBy || 'n/a'}`).join('; ')}).

## Ratios to pion

| server | connect p50 (lower is better) | echo capacity (higher is better) | RSS per session (lower is better) |
|---|---|---|---|
${ratios.join('\n')}

## Notes and warnings

${notes.length ? notes.join('\n') : '- none'}

## Reading these numbers

- The load generator is one Node process of libdatachannel client peers; every echo step reports
  its CPU (whole process and event-loop thread) and event-loop stalls, and a step where it could
  not keep its send rate is named above. A ramp "stopped by generator" means the server's limit
  is above the figure quoted.
- Our server runs compiled (dist/cli.js, as npm start runs it) when compare runs from dist. RSS per
  session is (RSS with the sessions held − RSS before) / sessions, each a median of five
  readings; for a garbage-collected server it moves by tens of MiB between runs.
- The machine is shared with other work: ramps in particular vary between runs (see each run in
  the JSON), which is why medians are quoted.

Full per-run results, including p99s, CPU of the server and of the generator, are in docs/benchmarks.json.
`;
}

main().catch((err) => {
  process.stderr.write(`bench:compare: ${(err as Error).stack ?? err}\n`);
  process.exitCode = 1;
}).finally(() => setImmediate(() => process.exit(process.exitCode ?? 0)).unref());
