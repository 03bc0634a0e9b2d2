/**
 * Debian's Chromium (playwright-core) as the client against our server, each engine of the
 * registry: test 0 passes only when the echoed video decodes in the browser, test 1 when
 * the random string comes back on the data channel. The server is the built CLI in a child
 * process: loading several native engines into the test process crashed it on exit (SIGSEGV).
 */
import { skipUnlessCi } from '../helpers/timeout.js';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { describe, test } from 'node:test';
import { ENGINE_NAMES } from '../../src/engines/registry.js';
import { CHROMIUM_PATH, runChromiumClient } from '../../src/interop/chromium/run-chromium.js';
import type { TestContext } from 'node:test';
import { ourPeers } from '../../src/interop/adapters/ours.js';
import { freePort } from '../../src/net/free-port.js';
import { ROOT } from '../helpers/cli.js';

async function startServer(t: TestContext, engine: string): Promise<{ url: string }> {
  const peer = ourPeers().find((p) => p.name === engine)!;
  const running = await peer.server!.start(await freePort(), ROOT);
  t.after(() => running.process.stop());
  return { url: running.url.replace(/\/offer$/, '') };
}

const skip = skipUnlessCi(existsSync(CHROMIUM_PATH) ? undefined : `${CHROMIUM_PATH} is missing (apt-get install chromium)`);

for (const engine of ENGINE_NAMES) {
  describe(`Chromium client against the ${engine} echo server`, { skip, timeout: 90_000 }, () => {
    test('test 0: the echoed camera video decodes in Chromium (framesDecoded > 0)', async (t) => {
      const server = await startServer(t, engine);
      const logs: string[] = [];
      const result = await runChromiumClient({ url: `${server.url}/offer`, test: 0, timeoutMs: 20_000, audio: true, mdns: false, log: (l) => logs.push(l) });
      assert.equal(result.ok, true, `${result.reason}: ${result.message}\n${logs.join('\n')}`);
      assert.ok((result.video?.framesDecoded ?? 0) > 0, 'frames decoded');
      assert.equal(typeof result.timings.connected, 'number');
    });

    test('test 1: the data channel echoes the random string unchanged', async (t) => {
      const server = await startServer(t, engine);
      const logs: string[] = [];
      const result = await runChromiumClient({ url: `${server.url}/offer`, test: 1, timeoutMs: 20_000, audio: true, mdns: false, log: (l) => logs.push(l) });
      assert.equal(result.ok, true, `${result.reason}: ${result.message}\n${logs.join('\n')}`);
      assert.ok(result.dataChannel?.sent && result.dataChannel.received === result.dataChannel.sent);
    });
  });
}
