/**
 * Starts a module of ours in a process of its own (a session worker of `serve --workers`, a
 * bench load worker), the same way whether we run from source under tsx (tests) or compiled
 * (dist): the module's extension and the loader follow this file's own.
 */
import { fork, type ChildProcess, type StdioOptions } from 'node:child_process';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';

const OWN_EXTENSION = extname(fileURLToPath(import.meta.url));

export interface ForkOptions {
  env?: NodeJS.ProcessEnv;
  /** Default: no stdin, stdout and stderr shared with us, and the IPC channel. */
  stdio?: StdioOptions;
}

/** `module`: a URL without extension (`new URL('../commands/echo-worker', import.meta.url)`). */
export function forkModule(module: URL, options: ForkOptions = {}): ChildProcess {
  const entry = new URL(`${module.href}${OWN_EXTENSION}`);
  return fork(entry, [], {
    execArgv: OWN_EXTENSION === '.ts' ? ['--import', 'tsx'] : [],
    env: options.env ?? process.env,
    stdio: options.stdio ?? ['ignore', 'inherit', 'inherit', 'ipc'],
  });
}
