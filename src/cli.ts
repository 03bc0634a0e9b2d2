#!/usr/bin/env node
/** The `webrtc-echo` executable: wires the subcommands, nothing else. */
import { Command } from 'commander';
import { serveCommand } from './commands/serve.js';
import { clientCommand } from './commands/client.js';
import { benchCommand } from './commands/bench.js';
import { benchCompareCommand } from './commands/bench-compare.js';
import { benchCpuCommand } from './commands/bench-cpu.js';

const program = new Command('webrtc-echo')
  .description('The WebRTC Echo Test: an echo server, a client, an interop matrix and a benchmark')
  .version('0.1.0')
  .addCommand(serveCommand)
  .addCommand(clientCommand)
  .addCommand(benchCommand)
  .addCommand(benchCompareCommand)
  .addCommand(benchCpuCommand);
program.addCommand((await import('./commands/matrix.js')).matrixCommand);

program.parseAsync(process.argv).then(
  () => {
    // Native WebRTC stacks can keep threads alive after every peer is closed: a finished
    // command leaves with its exit code instead of waiting on them.
    if (program.args[0] !== 'serve') setImmediate(() => process.exit(process.exitCode ?? 0)).unref();
  },
  (err: unknown) => {
    process.stderr.write(`webrtc-echo: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
