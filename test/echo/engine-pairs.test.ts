import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CLIENT_ENGINE_NAMES, loadEngine } from '../../src/engines/registry.js';
import { TESTED_ENGINES } from '../helpers/engines.js';
import { runCli } from '../helpers/cli.js';
import { startTestServer } from '../helpers/server.js';
import { eventually } from '../helpers/timeout.js';

// Every server engine × every client engine (native is a server only), through the real CLI client over loopback.
for (const serverEngine of TESTED_ENGINES) {
  for (const clientEngine of CLIENT_ENGINE_NAMES) {
    test(`a ${clientEngine} client passes test 0 with --media and test 1 against a ${serverEngine} server`, async (t) => {
      const server = await startTestServer(t, serverEngine);
      // A packet-level echo of our own packets (same sequence numbers) lets the client time round trips.
      const timesRoundTrips = (await loadEngine(serverEngine)).capabilities.packetEcho && (await loadEngine(clientEngine)).capabilities.rawRtp;
      const url = `${server.url}/offer`;

      const media = await runCli(['client', '-s', url, '-t', '0', '--media', '--engine', clientEngine, '--json', '--timeout', '20'], 40_000);
      assert.equal(media.code, 0, `test 0 exit code; stderr: ${media.stderr}`);
      const mediaResult = JSON.parse(media.stdout) as { ok: boolean; attempts?: number; media: Record<string, { echoed: number; rttMs?: { p50: number } }> };
      assert.equal(mediaResult.ok, true);
      // The client's retry of a start-up failure is a fallback: here it counts as a failure.
      assert.equal(mediaResult.attempts, undefined, 'test 0 connected at the first attempt');
      for (const kind of ['audio', 'video']) {
        const leg = mediaResult.media[kind];
        assert.ok(leg && leg.echoed >= 10, `${kind} echoed packets: ${JSON.stringify(leg)}`);
        if (timesRoundTrips) {
          assert.ok(leg.rttMs && leg.rttMs.p50 >= 0, `${kind}: a packet-level echo gives round-trip times`);
        }
      }

      const dc = await runCli(['client', '-s', url, '-t', '1', '--engine', clientEngine, '--json', '--timeout', '20'], 40_000);
      assert.equal(dc.code, 0, `test 1 exit code; stderr: ${dc.stderr}`);
      const dcResult = JSON.parse(dc.stdout) as { ok: boolean; attempts?: number; dataChannel: { sent: string; received: string } };
      assert.equal(dcResult.attempts, undefined, 'test 1 connected at the first attempt');
      assert.equal(dcResult.dataChannel.received, dcResult.dataChannel.sent);

      // Most pairs release at once (DTLS close_notify, RTCP BYE, channels closed); a close that
      // the server cannot see (a libdatachannel media-only client leaving a werift server) is
      // released by the idle rule, 10 s after the last packet.
      await eventually(() => server.sessions.size === 0, 45_000, 'both sessions released after the clients closed');
    });
  }
}
