/**
 * Our pion peers' own Go tests (interop/peers/pion/*_test.go): `go vet` and `go test` of every
 * package, through the script that builds them (interop/setup/pion.sh --test), on Debian's Go
 * and pion. Among them, the connection watch that stands in for pion's PeerConnectionState
 * (peer/connection.go) and the server's sessions over loopback.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { ROOT } from '../helpers/cli.js';
import { runCommand } from '../helpers/run-command.js';
import { skipUnlessCi } from '../helpers/timeout.js';

function goMissing(): string | undefined {
  try {
    execFileSync('go', ['version'], { stdio: 'ignore' });
    return undefined;
  } catch {
    return 'go is not installed (golang-go)';
  }
}

test('the pion peers pass go vet and their Go tests', { skip: skipUnlessCi(goMissing()), timeout: 300_000 }, async () => {
  const { code, stdout, stderr } = await runCommand('bash', [`${ROOT}interop/setup/pion.sh`, '--test'], process.env, 280_000);
  assert.equal(code, 0, stdout + stderr);
  for (const pkg of ['peer', 'server', 'client', 'load']) assert.match(stdout, new RegExp(`^ok\\s+webrtcecho/pion/${pkg}\\s`, 'm'), `go test ran webrtcecho/pion/${pkg}`);
});
