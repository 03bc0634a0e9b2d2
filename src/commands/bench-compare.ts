import { Command } from 'commander';
import { parsePositiveInt } from './parse.js';

/**
 * `webrtc-echo bench-compare` (`npm run bench:compare -- [options]`): the bench against our server
 * (each engine, and two workers) and every foreign server that is built, repeated; medians go
 * to docs/benchmarks.md and docs/benchmarks.json (src/bench/compare.ts).
 */
export const benchCompareCommand = new Command('bench-compare')
  .description('bench our server (each engine) and the installed foreign servers side by side; writes docs/benchmarks.md and .json')
  .option('--repeats <n>', 'runs per server, round-robin', parsePositiveInt, 3)
  .option('--quick', 'shorter phases: a smoke run, not numbers to quote', false)
  .option('--only <names>', 'only servers whose name contains one of these (comma-separated)', (value: string) => value.split(',').map((s) => s.trim()).filter(Boolean))
  .option('--merge', "keep the other servers' results of docs/benchmarks.json, replace only those measured now", false)
  .option('--render', 'only render docs/benchmarks.md again from docs/benchmarks.json', false)
  .action(async (opts: { repeats: number; quick: boolean; only?: string[]; merge: boolean; render: boolean }) => {
    // Loaded here: the bench's modules are no business of the other commands.
    const { compareServers, renderBenchmarks } = await import('../bench/compare.js');
    if (opts.render) {
      renderBenchmarks();
      return;
    }
    // The page quotes the command line it came from: what followed the command's name.
    const argv = process.argv.slice(process.argv.indexOf('bench-compare') + 1);
    await compareServers({ repeats: opts.repeats, quick: opts.quick, only: opts.only, merge: opts.merge, argv });
  });
