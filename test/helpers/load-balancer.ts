/**
 * Debian's HAProxy or nginx in front of echo servers, run from the recommended configuration
 * in deploy/lb/ with only its listen and server lines replaced: an unprivileged child process
 * (uid 65534 when the test runs as root), on a free loopback port, stopped when the test ends.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, chownSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { freePort } from '../../src/net/free-port.js';
import { ROOT } from './cli.js';
import { eventually } from './timeout.js';

export type BalancerName = 'haproxy' | 'nginx';
export const BALANCER_PATHS: Record<BalancerName, string> = { haproxy: '/usr/sbin/haproxy', nginx: '/usr/sbin/nginx' };

export interface Balancer {
  url: string;
  config: string;
  child: ChildProcess;
  output(): string;
}

const NOBODY = 65534;

/** Starts `name` in front of `backends` (host:port each). */
export async function startBalancer(t: TestContext, name: BalancerName, backends: string[]): Promise<Balancer> {
  const dir = mkdtempSync(join(tmpdir(), `webrtc-echo-${name}-`));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const asRoot = process.getuid?.() === 0;
  if (asRoot) chownSync(dir, NOBODY, NOBODY);
  chmodSync(dir, 0o755);
  const port = await freePort();
  const template = readFileSync(`${ROOT}deploy/lb/${name === 'haproxy' ? 'haproxy.cfg' : 'nginx.conf'}`, 'utf8');
  let config: string;
  let argv: string[];
  if (name === 'haproxy') {
    config = replaceServers(template.replace(/^(\s*)bind .*$/m, `$1bind 127.0.0.1:${port}`), /^(\s*)server (\S+) \S+(.*)$/gm, backends, (indent, n, addr, rest) => `${indent}server echo-${n} ${addr}${rest}`);
    writeFileSync(join(dir, 'haproxy.cfg'), config);
    argv = [BALANCER_PATHS.haproxy, '-db', '-f', join(dir, 'haproxy.cfg')];
  } else {
    const http = replaceServers(template.replace(/^(\s*)listen .*;$/m, `$1listen 127.0.0.1:${port};`), /^(\s*)server [\w.-]+:\d+(.*)$/gm, backends, (indent, _n, addr, rest) => `${indent}server ${addr}${rest}`);
    // The recommended file is the http {} part; around it, what an unprivileged nginx needs.
    config = [
      'daemon off;',
      'worker_processes 1;',
      `pid ${dir}/nginx.pid;`,
      'error_log stderr warn;',
      'events { worker_connections 256; }',
      'http {',
      '  access_log off;',
      ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((kind) => `  ${kind}_temp_path ${dir}/${kind}_temp;`),
      http,
      '}',
      '',
    ].join('\n');
    writeFileSync(join(dir, 'nginx.conf'), config);
    argv = [BALANCER_PATHS.nginx, '-p', dir, '-c', join(dir, 'nginx.conf'), '-e', 'stderr'];
  }
  const [command, ...args] = asRoot ? ['setpriv', `--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', '--', ...argv] : argv;
  // Started in its own directory: the unprivileged balancer may not enter ours (a fresh clone's
  // mktemp directory is 0700), and HAProxy changes back to its starting directory.
  const child = spawn(command!, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  t.after(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 3_000);
    await once(child, 'exit');
    clearTimeout(timer);
  });
  const url = `http://127.0.0.1:${port}`;
  await eventually(
    async () => {
      if (child.exitCode !== null) throw new Error(`${name} exited ${child.exitCode}: ${output}`);
      return fetch(`${url}/healthz`, { signal: AbortSignal.timeout(1_000) }).then((r) => r.status === 200, () => false);
    },
    15_000,
    `${name} answering /healthz`,
  );
  return { url, config, child, output: () => output };
}

/** Replaces the template's server lines, one per backend, keeping what follows the address. */
function replaceServers(
  template: string,
  pattern: RegExp,
  backends: string[],
  line: (indent: string, n: number, address: string, rest: string) => string,
): string {
  const matches = [...template.matchAll(pattern)];
  if (matches.length === 0) throw new Error('the template has no server lines');
  const first = matches[0]!;
  const rest = first.length > 3 ? first[3]! : first[2]!;
  const replacement = backends.map((address, i) => line(first[1]!, i + 1, address, rest)).join('\n');
  let out = template;
  for (const match of matches.reverse()) out = out.slice(0, match.index) + out.slice(match.index! + match[0].length + 1);
  return out.slice(0, first.index) + `${replacement}\n` + out.slice(first.index);
}

export function balancerMissing(name: BalancerName): string | undefined {
  return existsSync(BALANCER_PATHS[name]) ? undefined : `${BALANCER_PATHS[name]} is missing (apt-get install ${name})`;
}
