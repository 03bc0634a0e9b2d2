import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { DEFAULT_SERVER_ENGINE } from '../../src/engines/registry.js';
import { CLI, ROOT, runCli } from '../helpers/cli.js';
import { withTimeout } from '../helpers/timeout.js';

/** Starts `webrtc-echo serve` as a user would, and resolves once it logs that it listens. */
async function spawnServer(args: string[]) {
  const child = spawn(process.execPath, [CLI, 'serve', '--host', '127.0.0.1', '--port', '0', ...args], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
  const logs: Record<string, unknown>[] = [];
  const lines = createInterface({ input: child.stderr });
  const listening = new Promise<string>((resolve) => {
    lines.on('line', (line) => {
      const entry = JSON.parse(line) as Record<string, unknown>;
      logs.push(entry);
      if (entry.event === 'listening') resolve(String(entry.url));
    });
  });
  const url = await withTimeout(listening, 20_000, 'server listening');
  return { child, url, logs };
}

test('webrtc-echo --help lists serve and client', async () => {
  const run = await runCli(['--help']);
  assert.equal(run.code, 0);
  assert.match(run.stdout, /serve/);
  assert.match(run.stdout, /client/);
});

test('client.sh takes the container contract\'s single argument "-s URL -t 1", and serve logs each session and exits 0 on SIGTERM', async (t) => {
  const server = await spawnServer(['--engine', 'libdatachannel']);
  t.after(() => server.child.kill('SIGKILL'));
  const url = `${server.url}/offer`;

  const dc = await runCli([`-s ${url} -t 1`], 30_000, '/bin/sh', [`${ROOT}client.sh`]);
  assert.equal(dc.code, 0, dc.stderr);
  assert.match(dc.stdout, /PASS test 1/);
  assert.match(dc.stdout, /channel open/);

  const bare = await runCli([url], 30_000, '/bin/sh', [`${ROOT}client.sh`]);
  assert.equal(bare.code, 0, bare.stderr);
  assert.match(bare.stdout, /PASS test 0/);

  server.child.kill('SIGTERM');
  const [code] = await withTimeout(once(server.child, 'exit'), 15_000, 'server exit');
  assert.equal(code, 0);
  const events = server.logs.map((l) => l.event);
  assert.ok(events.filter((e) => e === 'session-created').length >= 2, `events: ${events.join(',')}`);
  assert.ok(events.includes('session-connected'));
  const connected = server.logs.find((l) => l.event === 'session-connected');
  assert.equal(typeof connected?.connectMs, 'number', 'connected carries the time it took');
  const closed = server.logs.filter((l) => l.event === 'session-closed');
  assert.ok(closed.length >= 2, 'every session logs its close');
  assert.ok(closed.every((l) => typeof l.reason === 'string' && typeof l.rtpPackets === 'number' && typeof l.messages === 'number'));
  assert.ok(events.includes('stopped'));
});

test('client: a test type it does not run exits 127 (unsupported), not 1', async () => {
  const run = await runCli(['client', '-s', 'http://127.0.0.1:9/offer', '-t', '2']);
  assert.equal(run.code, 127);
  assert.match(run.stderr, /FAIL unsupported: test type "2" is not one this client runs \(0, 1\)/);
});

test('client --json reports its sub-checks: media ones in test 0, data channel ones in test 1', async (t) => {
  const server = await spawnServer(['--engine', 'libdatachannel']);
  t.after(() => server.child.kill('SIGKILL'));
  const url = `${server.url}/offer`;
  const names = async (args: string[]) => {
    const run = await runCli(['client', '-s', url, '--json', ...args], 30_000);
    assert.equal(run.code, 0, run.stderr);
    const result = JSON.parse(run.stdout) as { checks: Array<{ name: string; status: string; detail: string }> };
    return result.checks.map((c) => `${c.name} ${c.status}`);
  };
  assert.deepEqual(await names(['-t', '0', '--media']), ['dtls-role pass', 'srtp-profile n/a', 'mid-extension pass', 'nack pass', 'pli-keyframe pass']);
  assert.deepEqual(await names(['-t', '1']), [
    'dtls-role pass', 'sctp-zero-checksum n/a', 'max-message-size pass', 'dc-binary pass', 'dc-empty-string pass', 'dc-empty-binary pass',
  ]);
});

test('bench-compare and bench-cpu are commands of the one CLI, their options parsed by commander: a bad value exits 1 naming the option', async () => {
  const help = await runCli(['--help']);
  assert.match(help.stdout, /bench-compare/);
  assert.match(help.stdout, /bench-cpu/);
  const compare = await runCli(['bench-compare', '--repeats', '0']);
  assert.equal(compare.code, 1);
  assert.match(compare.stderr, /option '--repeats <n>' argument '0' is invalid/);
  const cpu = await runCli(['bench-cpu', '--server', 'no-command']);
  assert.equal(cpu.code, 1);
  assert.match(cpu.stderr, /option '--server <name=command>' argument 'no-command' is invalid\. expected name=command/);
});

test('serve --help says every default, those decided at start too (workers, session limits, ICE addresses)', async () => {
  const run = await runCli(['serve', '--help']);
  assert.equal(run.code, 0, run.stderr);
  const help = run.stdout.replace(/\s+/g, ' ');
  for (const said of [
    `(default: ${DEFAULT_SERVER_ENGINE}`,
    '(default: 1000; werift 500, libwebrtc 50)',
    '(default: the number of cores; 1 with --udp-mux)',
    '(default: loopback when --host is a loopback address, else all)',
    '(default: 5% of --max-sessions, at least 2)',
  ]) {
    assert.ok(help.includes(said), `serve --help says ${said}:\n${run.stdout}`);
  }
});
