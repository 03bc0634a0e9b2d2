import { writeFileSync } from 'node:fs';
import { Command, InvalidArgumentError } from 'commander';
import { collect, parsePositiveInt, secondsOption } from './parse.js';

/**
 * `webrtc-echo bench-cpu` (`npm run bench:cpu -- [options]`): server CPU per echoed packet at one
 * fixed rate, several servers side by side, round-robin (src/bench/cpu-compare.ts). Prints a
 * markdown table on stdout.
 */
export const benchCpuCommand = new Command('bench-cpu')
  .description('compare servers\' CPU per echoed packet at one fixed rate, driven by the pion load worker')
  .option('--rate <pps>', 'packets per second over every session', parsePositiveInt, 32_000)
  .option('--sessions <n>', 'sessions the rate is spread over', parsePositiveInt, 16)
  .addOption(secondsOption('--duration <seconds>', 'length of each measurement', 4_000))
  .option('--payload <bytes>', 'RTP payload size', parsePositiveInt, 1_200)
  .option('--repeats <n>', 'runs per server, round-robin', parsePositiveInt, 5)
  .option('--workers <n>', 'pion load worker processes', parsePositiveInt, 1)
  .option('--server <name=command>', 'one more server: a name, =, and a command with {port} (repeatable)', collect(parseServer))
  .option('--only <names>', 'only these servers (comma-separated names)', (value: string) => value.split(',').map((s) => s.trim()).filter(Boolean))
  .option('--json <file>', 'also write every run as JSON to this file')
  .action(async (opts: { rate: number; sessions: number; duration: number; payload: number; repeats: number; workers: number; server?: Array<{ name: string; command: string }>; only?: string[]; json?: string }) => {
    const { cpuTable, defaultCpuTargets, measureCpu } = await import('../bench/cpu-compare.js');
    const { only } = opts;
    const targets = [...defaultCpuTargets(), ...(opts.server ?? [])].filter((t) => !only || only.includes(t.name));
    const options = { rate: opts.rate, sessions: opts.sessions, durationMs: opts.duration, payloadBytes: opts.payload, repeats: opts.repeats, workers: opts.workers };
    const entries = await measureCpu(targets, options, (line) => process.stderr.write(`${line}\n`));
    process.stdout.write(`${cpuTable(entries, only && !only.includes('pion') ? targets[0]!.name : 'pion')}\n`);
    if (opts.json) writeFileSync(opts.json, `${JSON.stringify({ options, date: new Date().toISOString(), entries }, null, 2)}\n`);
  });

function parseServer(spec: string): { name: string; command: string } {
  const at = spec.indexOf('=');
  if (at < 1 || at === spec.length - 1) throw new InvalidArgumentError('expected name=command (the command with {port})');
  return { name: spec.slice(0, at), command: spec.slice(at + 1) };
}
