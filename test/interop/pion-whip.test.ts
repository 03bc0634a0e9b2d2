/**
 * `webrtc-echo client --whip` against a WHIP endpoint of another stack: pion's
 * (interop/peers/pion/cmd/pion-whip, built by interop/setup/pion.sh from Debian's pion v3):
 * 201 and Location but no ETag, no Link, PATCH 405. The check passes what is there, says n/a
 * for what pion does not offer (trickle, an ETag), and pion counts the packets we published.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import type { WhipCheckResult } from '../../src/client/whip/run.js';
import { ROOT, runCli } from '../helpers/cli.js';
import { eventually, skipUnlessCi, withTimeout } from '../helpers/timeout.js';

const PION_WHIP = `${ROOT}interop/peers/pion/bin/pion-whip`;
const missing = existsSync(PION_WHIP) ? undefined : 'pion-whip is not built: bash interop/setup/pion.sh';

test('client --whip against pion\'s WHIP endpoint: what it offers passes, what it does not is n/a, and pion gets our media', { skip: skipUnlessCi(missing), timeout: 60_000 }, async (t) => {
  const pion = spawn(PION_WHIP, ['--host', '127.0.0.1', '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => pion.kill('SIGKILL'));
  const lines: string[] = [];
  const port = await withTimeout(
    new Promise<number>((resolve) =>
      createInterface({ input: pion.stdout }).on('line', (line) => {
        lines.push(line);
        if (line.startsWith('listening ')) resolve(Number(line.split(' ')[1]));
      }),
    ),
    10_000,
    'pion-whip listening',
  );
  const run = await runCli(['client', '--whip', `http://127.0.0.1:${port}/whip`, '--json']);
  assert.equal(run.code, 0, run.stdout + run.stderr);
  const result = JSON.parse(run.stdout) as WhipCheckResult;
  const status = Object.fromEntries(result.items.map((item) => [item.name, item.status]));
  for (const name of ['options', 'post', 'content-type', 'location', 'answer', 'connection', 'media', 'get', 'ice-restart', 'delete']) assert.equal(status[name], 'pass', name);
  for (const name of ['etag', 'ice-servers', 'trickle', 'trickle-precondition', 'watch']) assert.equal(status[name], 'n/a', name);
  await eventually(() => lines.some((line) => line.startsWith('deleted ')), 5_000, 'pion saw the DELETE');
  const packets = Number(/^deleted \S+ packets (\d+)$/.exec(lines.find((line) => line.startsWith('deleted '))!)![1]);
  assert.ok(packets > 100, `pion received ${packets} RTP packets of ours`);
});
