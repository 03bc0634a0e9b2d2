import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { run } from '../../src/bench/run.js';
import { printJson, printTable } from '../../src/bench/print.js';
import { BENCH_DEFAULTS } from '../../src/bench/defaults.js';
import type { BenchOptions } from '../../src/bench/types.js';
import { startTestServer } from '../helpers/server.js';
import { skipUnlessCi, withTimeout } from '../helpers/timeout.js';
import { PION_LOAD_BINARY } from '../../src/bench/worker-processes.js';

/** A tiny bench: the numbers are not checked (the machine is shared), only that everything ran and succeeded. */
function tinyBench(url: string): BenchOptions {
  return {
    ...BENCH_DEFAULTS,
    url,
    engine: 'libdatachannel',
    workers: 1,
    timeoutMs: 10_000,
    connect: { sequential: 3, concurrent: 4, concurrency: 2, channel: true },
    echo: { ...BENCH_DEFAULTS.echo, sessions: 2, packetsPerSecond: 50, durationMs: 1_000, drainMs: 500 },
    datachannel: { sessions: 1, messageBytes: 256, window: 1, durationMs: 1_000, maxMessages: 2 },
    idle: { levels: [0, 2], settleMs: 200 },
    // The server runs inside this process: its CPU and memory are ours.
    serverPid: process.pid,
  };
}

test('a short bench against our own server: every session succeeds and the report has its shape', async (t) => {
  const server = await startTestServer(t, 'libdatachannel');
  const result = await withTimeout(run(tinyBench(`${server.url}/offer`)), 60_000, 'the bench');

  assert.deepEqual(result.errors, []);
  const { sequential, concurrent } = result.connect!;
  for (const phase of [sequential!, concurrent!]) {
    assert.equal(phase.failed, 0, JSON.stringify(phase.failures));
    assert.equal(phase.ok, phase.sessions);
    for (const step of ['answerReceived', 'connected', 'channelOpen', 'firstEcho', 'closed'] as const) {
      assert.equal(phase.steps[step]?.n, phase.sessions, `every session timed ${step}`);
    }
    assert.ok(phase.server && phase.server.rssMiB > 0, 'the server process was sampled');
    assert.equal(phase.generator.length, 1);
  }

  const echo = result.echo!;
  assert.equal(echo.opened, 2);
  assert.equal(echo.steps.length, 1);
  assert.equal(echo.steps[0]!.sent, 2 * 50);
  assert.ok(echo.steps[0]!.echoed > 0, 'RTP came back');
  assert.ok(echo.steps[0]!.rttMs && echo.steps[0]!.rttMs.p50 >= 0);

  const dc = result.datachannel!;
  assert.equal(dc.opened, 1);
  assert.equal(dc.sent, 2);
  assert.equal(dc.echoed, 2);
  assert.equal(dc.mismatched, 0);

  assert.deepEqual(result.idle!.levels.map((l) => l.held), [0, 2]);
  assert.ok(result.idle!.levels[1]!.rssPerSessionKiB !== undefined);

  assert.match(printTable(result), /connect, one after another: 3\/3 ok/);
  assert.deepEqual(JSON.parse(printJson(result)), JSON.parse(JSON.stringify(result)));
});

test('the pion load worker runs the same jobs and reports its own CPU per packet', { skip: skipUnlessCi(existsSync(PION_LOAD_BINARY) ? undefined : 'pion-load not built (interop/setup/pion.sh)') }, async (t) => {
  const server = await startTestServer(t, 'libdatachannel');
  const options: BenchOptions = {
    ...tinyBench(`${server.url}/offer`),
    generator: 'pion',
    scenarios: ['idle', 'connect', 'echo'],
    connect: { sequential: 2, concurrent: 2, concurrency: 2, channel: false },
  };
  const result = await withTimeout(run(options), 90_000, 'the pion bench');

  assert.deepEqual(result.errors, []);
  assert.equal(result.generator, 'pion');
  for (const phase of [result.connect!.sequential!, result.connect!.concurrent!]) {
    assert.equal(phase.failed, 0, JSON.stringify(phase.failures));
    assert.equal(phase.steps.firstEcho?.n, phase.sessions);
  }
  const step = result.echo!.steps[0]!;
  assert.equal(step.sent, 2 * 50);
  assert.ok(step.echoed > 0, 'RTP came back');
  assert.ok(step.worstSession, 'the pion worker reports each session');
  assert.ok(step.generator[0]!.cpuSeconds >= 0 && step.generator[0]!.generator === 'pion');
  assert.equal(typeof step.generator[0]!.saturated, 'boolean');
  assert.ok(step.machine && step.machine.cores > 0, 'the machine was sampled');
  assert.deepEqual(result.idle!.levels.map((l) => l.held), [0, 2]);
  assert.match(printTable(result), /pion load worker/);
});

test('--connect-rate: the concurrent phase starts its sessions on schedule (open loop), with our client peers and the pion load worker', async (t) => {
  const server = await startTestServer(t, 'libdatachannel');
  const generators: Array<BenchOptions['generator']> = existsSync(PION_LOAD_BINARY) ? ['node', 'pion'] : ['node'];
  if (!existsSync(PION_LOAD_BINARY) && process.env.CI) assert.fail('pion-load not built (interop/setup/pion.sh)');
  for (const generator of generators) {
    const options: BenchOptions = {
      ...tinyBench(`${server.url}/offer`),
      generator,
      scenarios: ['connect'],
      // Three sessions at 2/s: the last starts 1 s after the first, however fast each one is.
      connect: { sequential: 0, concurrent: 3, concurrency: 3, ratePerSecond: 2, channel: false },
    };
    const result = await withTimeout(run(options), 60_000, `the ${generator} bench`);
    assert.deepEqual(result.errors, []);
    const phase = result.connect!.concurrent!;
    assert.equal(phase.ok, 3, `${generator}: ${JSON.stringify(phase.failures)}`);
    assert.equal(phase.ratePerSecond, 2);
    assert.ok(phase.elapsedMs >= 990, `${generator}: paced, not all at once (${phase.elapsedMs} ms)`);
    assert.match(printTable(result), /started at 2\/s \(open loop, at most 3 in flight\): 3\/3 ok/);
  }
});
