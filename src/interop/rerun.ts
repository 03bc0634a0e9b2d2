/**
 * The command that reruns one cell: the same server and client (added again with the same
 * --add-server/--add-client where they were added), the same test, network, timeout and
 * capture, one run, its report in rerun/<cell id>/ beside the first.
 */
import { isAbsolute, join, relative } from 'node:path';
import { specArgs, type PeerSpec } from './byo/spec.js';
import { cellId, type CellKey } from './matrix.js';

export interface RerunContext {
  /** How the matrix was started: `webrtc-echo`, or `node dist/cli.js`. */
  program: string[];
  /** Where it was started: commands added on the command line run from here. */
  cwd: string;
  specs: readonly PeerSpec[];
  timeoutSeconds?: number;
  capture: boolean;
  /** The report directory of the full run. */
  reportDir: string;
}

export function rerunCommand(context: RerunContext, cell: CellKey): { command: string; cwd: string } {
  const added = context.specs.filter((s) => (s.role === 'server' && s.name === cell.server) || (s.role === 'client' && s.name === cell.client));
  const out = join(shown(context.cwd, context.reportDir), 'rerun', cellId(cell));
  const args = [
    ...context.program,
    'matrix',
    ...added.flatMap(specArgs),
    '--servers', cell.server,
    '--clients', cell.client,
    '--tests', String(cell.test),
    '--network', cell.network,
    ...(context.timeoutSeconds !== undefined ? ['--timeout', String(context.timeoutSeconds)] : []),
    ...(context.capture ? ['--capture'] : []),
    '--repeat', '1',
    '--out', out,
  ];
  return { command: args.map(shellQuote).join(' '), cwd: context.cwd };
}

/** A path as short as it can be said from `cwd`. */
function shown(cwd: string, path: string): string {
  const rel = relative(cwd, path);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
}

/** One word for /bin/sh: as it is when it is plain, else in single quotes. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_./:=,@%+-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}
