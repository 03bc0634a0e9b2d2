/**
 * Our werift client keeps DTLS records that reach it before werift's DTLS transport starts and
 * hands them over when it does (src/engines/werift/early-dtls.ts). Our libdatachannel server
 * checks a werift client first and, for its data channel offers, is the DTLS client: its
 * ClientHello leaves when its ICE connects, before werift has started DTLS. werift dropped it and
 * waited for the resend a second later, every time; now the client says it handed the hello over.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { startTestServer } from '../helpers/server.js';

test('a werift client hands a libdatachannel server its early ClientHello instead of waiting for the resend', { timeout: 120_000 }, async (t) => {
  const server = await startTestServer(t, 'libdatachannel');
  const setups: number[] = [];
  for (let run = 0; run < 3; run++) {
    const { code, stdout, stderr } = await runCli(['client', '-s', `${server.url}/offer`, '-t', '1', '--engine', 'werift', '--json', '--log-level', 'debug', '--timeout', '10'], 30_000);
    assert.equal(code, 0, stderr);
    const handed = stderr.split('\n').filter((line) => line.includes('handed to it')).map((line) => (JSON.parse(line) as { records: number }).records);
    assert.ok(handed.length === 1 && handed[0]! >= 1, `run ${run}: the early record was handed over\n${stderr.slice(-2000)}`);
    const { timings } = JSON.parse(stdout) as { timings: { answerReceived: number; connected: number } };
    setups.push(Math.round(timings.connected - timings.answerReceived));
  }
  t.diagnostic(`answer -> connected: ${setups.join(', ')} ms (the resend came ~1.1 s after the answer)`);
});
