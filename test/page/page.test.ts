/**
 * The browser page against a real echo server, with a fake camera: the main case (Start
 * connects, video decodes, the data check passes, the figures show) in Debian's Chromium and
 * Firefox through one driver (src/interop/browser/driver.ts); the rest in Chromium through
 * playwright-core. Run: node --import tsx --test test/page/page.test.ts  (after building the
 * CLI and the page). ECHO_PAGE_BROWSERS=firefox narrows the browsers of the main case.
 * Screenshots land in test-results/page-<engine>-<browser>.png and page-<engine>-phone.png.
 */
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser, type BrowserPage, type LaunchedBrowser } from '../../src/interop/browser/driver.js';
import { browserMissing } from '../interop/browser-suites.js';
import { skipUnlessCi } from '../helpers/timeout.js';
import { launchChromium, pageBrowsers } from './browser.js';
import { enginesUnderTest, freePort, repoRoot, startEchoServer, type RunningEchoServer } from './echo-server.js';

const RESULTS = new URL('test-results/', `file://${repoRoot}`);

/** What the page exposes as window.__echo (page/src/session.ts SessionSnapshot), as far as tests read it. */
interface EchoSnapshot {
  state: string;
  timeline: Record<string, number | undefined>;
  stats: {
    rttMs: number | null;
    sendKbps: number | null;
    recvKbps: number | null;
    video: { framesDecoded?: number; codec: string | null } | null;
  } | null;
  dataChannel: { status: string; echoed: number; lastRttMs: number | null } | null;
  error: { reason: string; message: string } | null;
}

const snapshot = (page: Page): Promise<EchoSnapshot | null> =>
  page.evaluate(() => (window as unknown as { __echo: EchoSnapshot | null }).__echo);

/** The page's main case, written once for every browser: the driver's page runs JavaScript expressions. */
async function startConnectsAndEchoes(page: BrowserPage, origin: string, screenshot: string): Promise<void> {
  const text = (selector: string) => page.evaluate<string>(`document.querySelector(${JSON.stringify(selector)})?.textContent ?? ''`);
  await page.goto(`${origin}/`);
  assert.equal(await page.evaluate(`document.querySelector('#server-url').value`), `${origin}/offer`, 'the URL defaults to this origin');
  await page.click('#start');
  await page.waitFor(
    `(() => { const s = window.__echo; return s?.state === 'failed' ||
      (s?.state === 'echoing' && (s.stats?.video?.framesDecoded ?? 0) > 0 && s.dataChannel?.status === 'pass' && s.stats?.recvKbps != null); })()`,
    30_000,
  );
  let s = await page.evaluate<EchoSnapshot | null>('window.__echo');
  assert.equal(s?.error, null, `the run failed: ${JSON.stringify(s?.error)}`);
  assert.equal(await page.evaluate('document.body.dataset.state'), 'echoing');

  // Let a few more one-second samples land so the bitrates and frame rate settle.
  await new Promise((resolve) => setTimeout(resolve, 2500));
  s = await page.evaluate<EchoSnapshot | null>('window.__echo');
  assert.ok(s?.stats, 'stats are sampled');
  for (const step of ['answer', 'iceConnected', 'dtlsConnected', 'channelOpen', 'firstFrame', 'firstData'] as const) {
    assert.equal(typeof s.timeline[step], 'number', `timeline has ${step}`);
  }
  assert.ok((s.stats.video?.framesDecoded ?? 0) > 0, 'echoed video decodes frames');
  assert.ok(s.dataChannel && s.dataChannel.echoed > 0 && s.dataChannel.status === 'pass', 'data channel echo passes');
  for (const figure of ['rtt', 'send', 'recv', 'video-frames', 'video-fps', 'video-bitrate', 'audio-packets', 'data-rtt']) {
    const shown = await text(`[data-figure="${figure}"]`);
    assert.match(shown, /\d/, `figure ${figure} shows a number (got ${JSON.stringify(shown)})`);
  }
  assert.match(await text('[data-figure="video-codec"]'), /VP8|VP9|H264|AV1/);
  assert.equal(await page.evaluate(`document.querySelector('[data-figure="data-status"]').dataset.status`), 'pass');
  await page.screenshot(screenshot);

  await page.click('#stop');
  await page.waitFor(`document.body.dataset.state === 'stopped'`, 5000);
}

for (const engine of enginesUnderTest()) {
  for (const browserName of pageBrowsers()) {
    describe(`page in ${browserName} against the ${engine} echo server`, { skip: skipUnlessCi(browserMissing(browserName)), timeout: 120_000 }, () => {
      let server: RunningEchoServer;
      let browser: LaunchedBrowser;
      before(async () => {
        server = await startEchoServer(engine);
        browser = await launchBrowser(browserName);
        await mkdir(RESULTS, { recursive: true });
      });
      after(async () => {
        await browser?.close();
        await server?.close();
      });

      test('Start connects, echoes video frames and data channel messages, and shows the figures', { timeout: 60_000 }, async () => {
        const page = await browser.newPage({ width: 1280, height: 900 });
        try {
          await startConnectsAndEchoes(page, server.origin, new URL(`page-${server.label}-${browserName}.png`, RESULTS).pathname);
        } finally {
          await page.close();
        }
      });
    });
  }

  describe(`page in chromium against the ${engine} echo server: layout, keyboard, codecs, errors`, { timeout: 120_000 }, () => {
    let server: RunningEchoServer;
    let browser: Browser;

    before(async () => {
      server = await startEchoServer(engine);
      browser = await launchChromium();
      await mkdir(RESULTS, { recursive: true });
    });

    after(async () => {
      await browser?.close();
      await server?.close();
    });

    test('at phone width in the dark theme the two videos stack', { timeout: 40_000 }, async () => {
      const page = await browser.newPage({ viewport: { width: 390, height: 844 } });
      try {
        await page.emulateMedia({ colorScheme: 'dark' });
        await page.goto(`${server.origin}/?mode=video&autostart=1`);
        await page.waitForFunction(() => ['echoing', 'failed'].includes(document.body.dataset.state ?? ''), undefined, { timeout: 25_000, polling: 200 });
        const sent = await page.locator('#source-video').boundingBox();
        const echoed = await page.locator('#echo-video').boundingBox();
        assert.ok(sent && echoed && echoed.y > sent.y + sent.height - 1, 'videos are stacked on a phone');
        await page.screenshot({ path: new URL(`page-${server.label}-phone.png`, RESULTS).pathname, fullPage: true });
      } finally {
        await page.close();
      }
    });

    test('data channel only, driven from the keyboard, passes the data channel echo', { timeout: 40_000 }, async () => {
      const page = await browser.newPage();
      try {
        await page.goto(`${server.origin}/`);
        await page.focus('#mode-all');
        await page.keyboard.press('ArrowRight'); // Video
        await page.keyboard.press('ArrowRight'); // Audio
        await page.keyboard.press('ArrowRight'); // Data channel
        assert.equal(await page.isChecked('#mode-data'), true, 'arrow keys move through the modes');
        await page.keyboard.press('Tab'); // The codec select is disabled without video: focus lands on Start.
        assert.equal(await page.evaluate(() => document.activeElement?.id), 'start');
        assert.equal(
          await page.evaluate(() => getComputedStyle(document.activeElement as Element).outlineStyle),
          'solid',
          'the focused button shows a focus ring',
        );
        await page.keyboard.press('Enter');

        await page.waitForFunction(
          () => ['echoing', 'failed'].includes(document.body.dataset.state ?? ''),
          undefined,
          { timeout: 25_000, polling: 200 },
        );
        const s = await snapshot(page);
        assert.equal(s?.error, null, `the run failed: ${JSON.stringify(s?.error)}`);
        assert.equal(s?.dataChannel?.status, 'pass');
        assert.equal(typeof s?.timeline.firstData, 'number');
        assert.equal(s?.stats?.video ?? null, null, 'no video is sent in data channel mode');
      } finally {
        await page.close();
      }
    });

    test('a link with ?mode=video&codec=VP9 echoes VP9', { timeout: 40_000 }, async (t) => {
      const page = await browser.newPage();
      try {
        await page.goto(`${server.origin}/`);
        const codecs = await page.$$eval('#codec option', (options) => options.map((o) => (o as HTMLOptionElement).value));
        if (!codecs.includes('VP9')) return t.skip('this Chromium cannot receive VP9');
        await page.goto(`${server.origin}/?mode=video&codec=VP9&autostart=1`);
        await page.waitForFunction(
          () => {
            const s = (window as unknown as { __echo: EchoSnapshot | null }).__echo;
            return s?.state === 'failed' || (s?.state === 'echoing' && s.stats?.video?.codec != null);
          },
          undefined,
          { timeout: 25_000, polling: 200 },
        );
        const s = await snapshot(page);
        assert.equal(s?.error, null, `the run failed: ${JSON.stringify(s?.error)}`);
        assert.match(s?.stats?.video?.codec ?? '', /^VP9/);
        assert.equal(s?.dataChannel, null, 'no data channel in video mode');
      } finally {
        await page.close();
      }
    });

    test('an unreachable server is reported in plain words, with Retry', { timeout: 30_000 }, async () => {
      const page = await browser.newPage();
      try {
        await page.goto(`${server.origin}/`);
        const deadPort = await freePort();
        await page.fill('#server-url', `http://127.0.0.1:${deadPort}/offer`);
        await page.getByLabel('Data channel').check();
        await page.getByRole('button', { name: 'Start' }).click();
        await page.waitForFunction(() => document.body.dataset.state === 'failed', undefined, { timeout: 20_000 });
        const s = await snapshot(page);
        assert.equal(s?.error?.reason, 'signaling-unreachable');
        assert.match((await page.textContent('#problem')) ?? '', /Could not reach the echo server/);
        assert.ok(await page.getByRole('button', { name: 'Retry' }).isVisible(), 'Retry is offered');
      } finally {
        await page.close();
      }
    });

    test('an HTTP error shows the status and the server\'s message', { timeout: 30_000 }, async () => {
      const page = await browser.newPage();
      try {
        await page.goto(`${server.origin}/?mode=data&server=${encodeURIComponent(`${server.origin}/no-such-route`)}&autostart=1`);
        await page.waitForFunction(() => document.body.dataset.state === 'failed', undefined, { timeout: 20_000 });
        const s = await snapshot(page);
        assert.equal(s?.error?.reason, 'signaling-http');
        assert.match(s?.error?.message ?? '', /HTTP 404/);
      } finally {
        await page.close();
      }
    });
  });
}
