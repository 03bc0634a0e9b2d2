/**
 * The WHIP/WHEP page (page/ingest.html) in real browsers against a real server (the built CLI,
 * as users run it, with its default worker processes): it publishes the fake camera by WHIP,
 * trickles its candidates by PATCH, watches the stream come back by WHEP and decodes it, and
 * Stop deletes both resources; in Chromium it also plays a stream our Node client publishes
 * (the shipped VP8 clip and Opus, forwarded with the browser's own payload types).
 * Run after `npm run build`: node --import tsx --test test/page/ingest.test.ts
 */
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { launchBrowser, type LaunchedBrowser } from '../../src/interop/browser/driver.js';
import { loadClientEngine } from '../../src/engines/registry.js';
import { browserMissing } from '../interop/browser-suites.js';
import { eventually, skipUnlessCi } from '../helpers/timeout.js';
import { connectResource, playOn } from '../helpers/whip.js';
import { pageBrowsers } from './browser.js';
import { repoRoot, startEchoServer, type RunningEchoServer } from './echo-server.js';

const RESULTS = new URL('test-results/', `file://${repoRoot}`);

/** window.__ingest (page/src/ingest/runs.ts IngestSnapshot), as far as the tests read it. */
interface PeerView {
  status: number | null;
  location: string | null;
  etag: string | null;
  patches: number[];
  deleted: number | null;
  connection: string;
  framesDecoded: number;
  audioPackets: number;
  packetsSent: number;
}
interface Snapshot {
  state: string;
  publish: PeerView | null;
  watch: PeerView | null;
  error: string | null;
}

const LIVE_AND_DECODING = `(() => { const s = window.__ingest; return s?.state === 'failed' || (s?.state === 'live' && (s.watch?.framesDecoded ?? 0) > 10 && (s.watch?.audioPackets ?? 0) > 10); })()`;

async function liveSessions(server: RunningEchoServer): Promise<number> {
  return ((await (await fetch(`${server.origin}/healthz`)).json()) as { sessions: number }).sessions;
}

for (const browserName of pageBrowsers()) {
  describe(`WHIP/WHEP page in ${browserName}`, { skip: skipUnlessCi(browserMissing(browserName)), timeout: 120_000 }, () => {
    let server: RunningEchoServer;
    let browser: LaunchedBrowser;
    before(async () => {
      server = await startEchoServer('libdatachannel');
      browser = await launchBrowser(browserName);
      await mkdir(RESULTS, { recursive: true });
    });
    after(async () => {
      await browser?.close();
      await server?.close();
    });

    test('publishes by WHIP (candidates by PATCH), sees it come back by WHEP and decodes it; Stop deletes both', { timeout: 60_000 }, async () => {
      const page = await browser.newPage({ width: 1280, height: 900 });
      try {
        await page.goto(`${server.origin}/ingest.html?autostart=1`);
        await page.waitFor(LIVE_AND_DECODING, 40_000);
        const s = await page.evaluate<Snapshot>('window.__ingest');
        assert.equal(s.error, null);
        const { publish, watch } = s as Required<Snapshot> & { publish: PeerView; watch: PeerView };
        assert.equal(publish.status, 201);
        assert.match(publish.location!, new RegExp(`^${server.origin}/whip/[0-9a-f-]{36}$`));
        assert.match(publish.etag!, /^"/);
        assert.ok(publish.patches.length > 0 && publish.patches.every((status) => status === 204), `trickle PATCHes: ${publish.patches}`);
        assert.ok(publish.packetsSent > 0);
        assert.equal(watch.status, 201);
        assert.match(watch.location!, new RegExp(`^${publish.location!.replace('/whip/', '/whep/')}/[0-9a-f-]{36}$`));
        assert.equal(await liveSessions(server), 2);
        await page.screenshot(new URL(`ingest-${browserName}.png`, RESULTS).pathname);

        await page.click('#stop');
        await page.waitFor(`window.__ingest?.state === 'stopped'`, 10_000);
        const stopped = await page.evaluate<Snapshot>('window.__ingest');
        assert.equal(stopped.watch?.deleted, 200);
        assert.equal(stopped.publish?.deleted, 200);
        await eventually(async () => (await liveSessions(server)) === 0, 5_000, 'both sessions released');
      } finally {
        await page.close();
      }
    });
  });
}

describe('WHEP page in chromium: a stream our Node client publishes', { skip: skipUnlessCi(browserMissing('chromium')), timeout: 120_000 }, () => {
  let server: RunningEchoServer;
  let browser: LaunchedBrowser;
  before(async () => {
    server = await startEchoServer('libdatachannel');
    browser = await launchBrowser('chromium');
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  test('plays in the browser: our VP8 clip decodes, our Opus arrives', { timeout: 60_000 }, async (t) => {
    const publisher = await connectResource(t, await loadClientEngine('libdatachannel'), `${server.origin}/whip`, 'sendonly');
    await playOn(t, publisher.peer);
    const page = await browser.newPage();
    try {
      const whep = `${server.origin}/whep/${publisher.id}`;
      await page.goto(`${server.origin}/ingest.html?mode=watch&whep=${encodeURIComponent(whep)}&autostart=1`);
      await page.waitFor(LIVE_AND_DECODING, 30_000);
      const s = await page.evaluate<Snapshot>('window.__ingest');
      assert.equal(s.error, null);
      assert.equal(s.publish, null, 'watch only');
      assert.ok((s.watch?.framesDecoded ?? 0) > 10);
    } finally {
      await page.close();
    }
  });
});
