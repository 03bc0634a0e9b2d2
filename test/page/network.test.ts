/**
 * The page's network settings in Chromium: a TURN server and relay only (coturn on this
 * machine's own address: Chromium uses no TURN server on loopback),
 * shown in the selected pair, and a relay-only run without a TURN server refused at the form.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { TURN } from '../../src/net/namespaces.js';
import { TURNSERVER_PATH, startTurnServer, type TurnServer } from '../../src/net/turn-server.js';
import { skipUnlessCi } from '../helpers/timeout.js';
import { launchChromium } from './browser.js';
import { freePort, startEchoServer, type RunningEchoServer } from './echo-server.js';

/** This machine's first IPv4 address that is not loopback: traffic to it never leaves the machine. */
const ownAddress = Object.values(networkInterfaces()).flat().find((a) => a && a.family === 'IPv4' && !a.internal)?.address;
const unavailable = !existsSync(TURNSERVER_PATH) ? `${TURNSERVER_PATH} is missing (apt-get install coturn)` : !ownAddress ? 'no IPv4 address but loopback' : undefined;

describe('the page with a TURN server', { skip: skipUnlessCi(unavailable), timeout: 120_000 }, () => {
  let server: RunningEchoServer;
  let browser: Browser;
  let turn: TurnServer;
  let turnPort: number;

  before(async () => {
    turnPort = await freePort();
    turn = await startTurnServer({ address: ownAddress!, port: turnPort });
    server = await startEchoServer('libdatachannel');
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await server?.close();
    await turn?.stop();
  });

  test('relay only through the TURN server of the link: the data channel echoes and the selected pair is a relay one', { timeout: 60_000 }, async () => {
    const page = await browser.newPage();
    try {
      const ice = encodeURIComponent(`turn://${TURN.username}:${TURN.credential}@${ownAddress}:${turnPort}?transport=udp`);
      await page.goto(`${server.origin}/?mode=data&relay=1&ice=${ice}&autostart=1`);
      assert.equal(await page.isChecked('#relay-only'), true, 'the link sets relay only');
      await page.waitForFunction(
        () => {
          const s = (window as unknown as { __echo: { state: string; dataChannel: { status: string } | null } | null }).__echo;
          return s?.state === 'failed' || s?.dataChannel?.status === 'pass';
        },
        undefined,
        { timeout: 30_000, polling: 200 },
      );
      const error = await page.evaluate(() => (window as unknown as { __echo: { error: unknown } }).__echo.error);
      assert.equal(error, null, `the run failed: ${JSON.stringify(error)}\nturn:\n${turn.log().split("\n").filter((l) => /session|peer|alloc|permission|error/i.test(l)).slice(-40).join("\n")}`);
      await page.waitForFunction(() => /relay/.test(document.querySelector('[data-figure="pair"]')?.textContent ?? ''), undefined, { timeout: 5_000 });
      assert.match((await page.textContent('[data-figure="pair"]')) ?? '', new RegExp(`^relay udp ${ownAddress!.replace(/\./g, '\\.')}:\\d+`), 'the local end is the TURN relay');
    } finally {
      await page.close();
    }
  });

  test('relay only without a TURN server is refused at the form, before any connection', { timeout: 30_000 }, async () => {
    const page = await browser.newPage();
    try {
      await page.goto(`${server.origin}/?mode=data`);
      await page.click('#network summary');
      await page.check('#relay-only');
      await page.getByRole('button', { name: 'Start' }).click();
      assert.match(await page.evaluate(() => (document.getElementById('relay-only') as HTMLInputElement).validationMessage), /TURN server/);
      assert.equal(await page.evaluate(() => (window as unknown as { __echo: unknown }).__echo), null, 'no run started');
      await page.fill('#ice-servers', 'http://not-ice');
      await page.getByRole('button', { name: 'Start' }).click();
      assert.match(await page.evaluate(() => (document.getElementById('ice-servers') as HTMLTextAreaElement).validationMessage), /not a STUN or TURN URL/);
    } finally {
      await page.close();
    }
  });
});
