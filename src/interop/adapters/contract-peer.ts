/**
 * A foreign peer driven through the Echo Test container contract: the server takes
 * `--host H --port N` and prints `listening <port>`; the client takes `-s URL -t 0|1
 * [--timeout S] [--require-echo]` and exits 0 or 1 with `error: <reason>: <detail>`.
 */
import { execFile } from 'node:child_process';
import { access, constants } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Availability, InteropPeer, ServerQuirks } from '../peer.js';
import type { NetworkName } from '../../net/namespaces.js';
import { iceServerArgs, runClientProcess, startServerProcess } from './spawn-peer.js';
import { debianVersion } from './versions.js';

export interface ContractPeerSpec {
  name: string;
  label: string;
  /** Executables relative to the repository root. */
  serverCommand: string[];
  clientCommand: string[];
  /** Extra client flags for test 0, e.g. `--require-echo` so the cell checks the media echo. */
  test0ClientArgs?: string[];
  quirks?: ServerQuirks;
  /** Networks its client can run on (relay needs `--ice-server` and `--relay-only`). Default: see ClientRole. */
  clientNetworks?: readonly NetworkName[];
  /** A command that exits 0 when the stack is installed (its imports work). */
  probe?: string[];
  /** Debian packages, for the install hint when there is no setup script; the first one's version is the peer's. */
  debianPackages: string[];
  /** Whether it writes DTLS keys to SSLKEYLOGFILE (see InteropPeer.keyLog). */
  keyLog?: { writes: boolean; note: string };
}

export function contractPeer(spec: ContractPeerSpec): InteropPeer {
  // Paths in the repository (`interop/…`) are resolved against its root; anything else is as given.
  const resolve = (root: string, command: string[]) => command.map((part) => (part.startsWith('interop/') ? join(root, part) : part));
  return {
    name: spec.name,
    ours: false,
    label: spec.label,
    keyLog: spec.keyLog,
    async detect(root): Promise<Availability> {
      const install = existsSync(join(root, 'interop', 'setup', `${spec.name}.sh`))
        ? `bash interop/setup/${spec.name}.sh`
        : `apt-get install -y ${spec.debianPackages.join(' ')}`;
      for (const command of [spec.serverCommand, spec.clientCommand]) {
        for (const [i, part] of command.entries()) {
          if (i > 0 && !part.startsWith('interop/')) continue;
          try {
            await access(resolve(root, [part])[0]!, i === 0 ? constants.X_OK : constants.R_OK);
          } catch {
            return { available: false, reason: `${part} is missing${i === 0 ? ' or not executable' : ''}`, install };
          }
        }
      }
      if (spec.probe) {
        const failure = await probe(root, spec.probe);
        if (failure) return { available: false, reason: failure, install };
      }
      return { available: true, version: await debianVersion(spec.debianPackages[0]!) };
    },
    server: {
      quirks: spec.quirks,
      start: (port, root, site, options) => {
        const [command, ...args] = resolve(root, spec.serverCommand);
        return startServerProcess(command!, [...args, '--host', site.serverListen, '--port', String(port)], { root, port, site, env: options?.env });
      },
    },
    client: {
      networks: spec.clientNetworks,
      run: ({ url, test, timeoutMs, root, site, env }) => {
        const [command, ...args] = resolve(root, spec.clientCommand);
        args.push('-s', url, '-t', String(test), '--timeout', String(timeoutMs / 1000), ...iceServerArgs(site));
        if (test === 0) args.push(...(spec.test0ClientArgs ?? []));
        return runClientProcess(command!, args, { root, timeoutMs, site, env });
      },
    },
  };
}

/** Runs the probe command; resolves with a one-line reason when it fails. */
function probe(root: string, command: string[]): Promise<string | undefined> {
  return new Promise((done) => {
    execFile(command[0]!, command.slice(1), { cwd: root, timeout: 20_000 }, (err, _stdout, stderr) => {
      if (!err) return done(undefined);
      const last = stderr.trim().split('\n').at(-1) ?? err.message;
      done(`${command.join(' ').slice(0, 60)}… failed: ${last}`);
    });
  });
}
