/**
 * The idle rule, with real peers in real processes: a client that vanishes without a word
 * (SIGKILL: no DTLS close_notify, no RTCP BYE, no SCTP ABORT) is released once nothing has
 * arrived from it for the idle timeout (10 s), on every server engine; a live client that
 * merely sits idle (it sends nothing but what its stack sends: ICE consent checks) is not.
 *
 * The clients are our CLI (libdatachannel: once its test is done it sends no RTCP, so ICE is
 * all that arrives from it), held open with the hidden `--hold` option.
 */
import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chromium } from 'playwright-core';
import type { EngineName } from '../../src/engines/engine.js';
import { TESTED_ENGINES } from '../helpers/engines.js';
import type { EchoSession } from '../../src/echo/session.js';
import type { EchoServer } from '../../src/signaling/server.js';
import { CLI, ROOT } from '../helpers/cli.js';
import { startTestServer } from '../helpers/server.js';
import { skipUnlessCi, withTimeout } from '../helpers/timeout.js';
import { CHROMIUM_PATH, chromiumArgs } from '../../src/interop/browser/chromium.js';

const IDLE_TIMEOUT_MS = 10_000; // the server default, which these tests rely on
const RELEASE_BOUND_MS = 15_000;
const IDLE_HOLD_S = 25;

const CASES: Array<{ name: string; args: string[] }> = [
  { name: 'test 0 with media', args: ['-t', '0', '--media'] },
  { name: 'test 1', args: ['-t', '1'] },
];

interface HeldClient {
  /** The server's session of this client, once the client holds the connection. */
  session: EchoSession;
  heldAt: number;
  kill(): void;
  exited: Promise<{ code: number | null; stdout: string; stderr: string }>;
}

/** Starts a CLI client that passes its test, then holds the connection; resolves once it holds. */
async function holdClient(t: TestContext, server: EchoServer, args: string[], holdSeconds: number): Promise<HeldClient> {
  const before = new Set(server.sessions.list().map((s) => s.id));
  const child = spawn(
    process.execPath,
    [CLI, 'client', '-s', `${server.url}/offer`, ...args, '--engine', 'libdatachannel', '--hold', String(holdSeconds), '--json', '--timeout', '20'],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  t.after(() => child.kill('SIGKILL'));
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  const exited = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.on('close', (code) => resolve({ code, stdout, stderr })),
  );
  await withTimeout(
    new Promise<void>((resolve, reject) => {
      child.stderr.on('data', (d) => {
        stderr += d;
        if (stderr.includes('holding the connection')) resolve();
      });
      void exited.then(() => reject(new Error(`the client exited before holding: ${stderr}`)));
    }),
    30_000,
    'the client to pass its test and hold',
  );
  const heldAt = performance.now();
  // A libdatachannel client may retry a start-up race with a second offer: ours is the last one.
  const session = server.sessions.list().filter((s) => !before.has(s.id) && s.summary().state === 'connected').at(-1);
  assert.ok(session, 'the held client has a connected session');
  return { session, heldAt, kill: () => child.kill('SIGKILL'), exited };
}

async function closedCount(server: EchoServer, reason: string): Promise<number> {
  const metrics = await (await fetch(`${server.url}/metrics`)).text();
  return Number(new RegExp(`echo_sessions_closed_total\\{reason="${reason}"\\} (\\d+)`).exec(metrics)?.[1] ?? 0);
}

/** How a session whose client vanished without a word is released. */
const VANISHED_REASONS: readonly string[] = ['idle', 'disconnected'];

async function vanishedClientIsReleased(t: TestContext, engine: EngineName): Promise<void> {
  const server = await startTestServer(t, engine);
  for (const { name, args } of CASES) {
    const client = await holdClient(t, server, args, 120);
    // Let the connection sit idle a little first, so the last thing received is ICE, not the test.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    assert.equal(client.session.isClosed, false, `${name}: alive before the kill`);
    const killedAt = performance.now();
    client.kill();
    const reason = await withTimeout(client.session.closed, 30_000, `${name}: the session to be released`);
    const releasedMs = performance.now() - killedAt;
    t.diagnostic(`${engine} server, ${name}: released ${Math.round(releasedMs)} ms after SIGKILL (${reason})`);
    // The idle rule (10 s of nothing), or the stack's own ICE noticing first: libwebrtc reports
    // `disconnected` ~7 s after the last consent answer, and the 5 s grace may end before the
    // idle rule does on a loaded machine. Either way: released, within the bound.
    assert.ok(VANISHED_REASONS.includes(reason), `${name}: close reason ${reason}`);
    assert.ok(releasedMs > 0 && releasedMs < RELEASE_BOUND_MS, `${name}: released after ${Math.round(releasedMs)} ms`);
  }
  let counted = 0;
  for (const reason of VANISHED_REASONS) counted += await closedCount(server, reason);
  assert.ok(counted >= CASES.length, `echo_sessions_closed_total{reason=${VANISHED_REASONS.join('|')}}`);
}

async function idleClientSurvives(t: TestContext, engine: EngineName, name: string, args: string[]): Promise<void> {
  const server = await startTestServer(t, engine);
  const client = await holdClient(t, server, args, IDLE_HOLD_S);
  const closedAt = client.session.closed.then((reason) => ({ reason, at: performance.now() }));
  const { code, stdout, stderr } = await withTimeout(client.exited, (IDLE_HOLD_S + 15) * 1000, 'the client to finish its hold');
  assert.equal(code, 0, `${engine} server, ${name}: the client kept its connection; stderr: ${stderr}`);
  const result = JSON.parse(stdout) as { ok: boolean; heldMs: number };
  assert.ok(result.heldMs >= IDLE_HOLD_S * 1000, `held ${result.heldMs} ms`);
  // Released only after the client closed at the end of its hold (at once, or, where the
  // server does not notice that close, by the idle rule), never while it sat idle.
  const closed = await withTimeout(closedAt, IDLE_TIMEOUT_MS + 5_000, 'the session to end after the client closed');
  const keptMs = closed.at - client.heldAt;
  t.diagnostic(`${engine} server, ${name}: kept ${Math.round(keptMs)} ms, then ${closed.reason}`);
  assert.ok(keptMs >= IDLE_HOLD_S * 1000 - 1_000, `${engine} server, ${name}: released (${closed.reason}) after ${Math.round(keptMs)} ms of idling`);
}

const chromiumSkip = skipUnlessCi(existsSync(CHROMIUM_PATH) ? undefined : `${CHROMIUM_PATH} is missing (apt-get install chromium)`);

// The three run side by side: each waits on timers, not the CPU.
describe('clients that vanish, and clients that idle', { concurrency: true }, () => {
  test("a SIGKILLed client (test 0 with media, test 1) is released within 15 s (idle, or the stack's own ICE), on every server engine", { concurrency: true }, async (t) => {
    await Promise.all(TESTED_ENGINES.map((engine) => t.test(`${engine} server`, (st) => vanishedClientIsReleased(st, engine))));
  });

  test(`an idle live client (test 0 with media, test 1) keeps its session for ${IDLE_HOLD_S} s, on every server engine`, { concurrency: true }, async (t) => {
    await Promise.all(
      TESTED_ENGINES.flatMap((engine) =>
        CASES.map(({ name, args }) => t.test(`${engine} server, ${name}`, (st) => idleClientSurvives(st, engine, name, args))),
      ),
    );
  });

  // libdatachannel shows JavaScript no ICE, so its server asks a silent client to answer a STUN
  // request from another port (src/engines/libdatachannel-liveness.ts): a browser must answer too.
  test(`libdatachannel server: an idle Chromium data channel client is kept ${IDLE_HOLD_S} s, and released as idle once the browser is SIGKILLed`, { skip: chromiumSkip, timeout: 90_000 }, async (t) => {
    const server = await startTestServer(t, 'libdatachannel');
    const browser = await chromium.launchServer({ executablePath: CHROMIUM_PATH, args: chromiumArgs(false), timeout: 30_000 });
    // Playwright starts Chromium as the leader of its own process group: this ends all of it.
    const killBrowser = () => {
      try {
        process.kill(-browser.process().pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    };
    t.after(killBrowser);
    const page = await (await chromium.connect(browser.wsEndpoint())).newPage();
    await page.goto(`${server.url}/`);
    const state = await page.evaluate(async () => {
      const pc = new RTCPeerConnection();
      pc.createDataChannel('echo');
      await pc.setLocalDescription(await pc.createOffer());
      await new Promise<void>((resolve) => {
        if (pc.iceGatheringState === 'complete') resolve();
        pc.onicegatheringstatechange = () => pc.iceGatheringState === 'complete' && resolve();
      });
      const response = await fetch('/offer', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(pc.localDescription) });
      await pc.setRemoteDescription(await response.json());
      await new Promise<void>((resolve) => (pc.onconnectionstatechange = () => pc.connectionState === 'connected' && resolve()));
      (globalThis as unknown as { pc: RTCPeerConnection }).pc = pc;
      return pc.connectionState;
    });
    assert.equal(state, 'connected');
    const [session] = server.sessions.list();
    assert.ok(session);
    await new Promise((resolve) => setTimeout(resolve, IDLE_HOLD_S * 1000));
    assert.equal(session.isClosed, false, 'the idle browser keeps its session');
    assert.equal(await page.evaluate(() => (globalThis as unknown as { pc: RTCPeerConnection }).pc.connectionState), 'connected');

    const killedAt = performance.now();
    killBrowser();
    const reason = await withTimeout(session.closed, 30_000, 'the session to be released');
    const releasedMs = performance.now() - killedAt;
    t.diagnostic(`libdatachannel server, Chromium: released ${Math.round(releasedMs)} ms after SIGKILL (${reason})`);
    assert.equal(reason, 'idle');
    assert.ok(releasedMs < RELEASE_BOUND_MS, `released after ${Math.round(releasedMs)} ms`);
  });
});
