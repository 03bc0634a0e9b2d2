/**
 * `serve --tls-cert FILE --tls-key FILE`: HTTPS for the offer endpoint and the page, with a
 * self-signed certificate made at test time. Clients trust it with `--ca FILE` or
 * NODE_EXTRA_CA_CERTS; Chromium gets a secure context (and so the camera) on a host name that
 * is not localhost only over https.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import sdpTransform from 'sdp-transform';
import { makeOffer } from '../helpers/offer.js';
import { ROOT, runCli } from '../helpers/cli.js';
import { runCommand } from '../helpers/run-command.js';
import { spawnServe } from '../helpers/serve-process.js';
import { httpsRequest, makeTestCert } from '../helpers/tls.js';
import { skipUnlessCi } from '../helpers/timeout.js';
import { existsSync } from 'node:fs';
import { CHROMIUM_PATH, launchChromium } from '../page/browser.js';

test('serve --tls-cert/--tls-key answers a real offer over HTTPS, and only to a client that trusts the certificate', async (t) => {
  const tls = makeTestCert(t);
  const server = await spawnServe(t, ['--host', '127.0.0.1', '--port', '0', '--tls-cert', tls.certFile, '--tls-key', tls.keyFile]);
  assert.match(server.url, /^https:\/\/127\.0\.0\.1:\d+$/);
  assert.equal((await server.event('listening')).tls, true);

  const health = await httpsRequest(`${server.url}/healthz`, tls.cert);
  assert.equal(health.status, 200);
  assert.equal(JSON.parse(health.text).status, 'ok');

  const { offer, peer } = await makeOffer();
  t.after(() => peer.close());
  const reply = await httpsRequest(`${server.url}/offer`, tls.cert, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(offer),
  });
  assert.equal(reply.status, 200, reply.text);
  const answer = JSON.parse(reply.text) as { type: string; sdp: string };
  assert.equal(answer.type, 'answer');
  const candidates = sdpTransform.parse(answer.sdp).media.flatMap((m) => m.candidates ?? []);
  assert.ok(candidates.length > 0, 'the answer carries its candidates');

  // No trust, no answer: Node's fetch with the system roots refuses the self-signed certificate.
  await assert.rejects(fetch(`${server.url}/healthz`), (err: Error & { cause?: { code?: string } }) => {
    assert.equal(err.cause?.code, 'DEPTH_ZERO_SELF_SIGNED_CERT');
    return true;
  });
  // And the TLS port speaks no plain HTTP.
  const plain = await fetch(server.url.replace('https:', 'http:') + '/healthz').then((r) => r.status, (err: Error) => err.message);
  assert.notEqual(plain, 200);
});

test('webrtc-echo client reaches an https:// server with --ca FILE or NODE_EXTRA_CA_CERTS, and says how when it does not trust it', async (t) => {
  const tls = makeTestCert(t);
  const server = await spawnServe(t, ['--host', '127.0.0.1', '--port', '0', '--tls-cert', tls.certFile, '--tls-key', tls.keyFile]);
  const url = `${server.url}/offer`;

  // werift: the trust is the client's, whatever its stack; libdatachannel runs through client.sh below.
  const withCa = await runCli(['client', '-s', url, '-t', '1', '--engine', 'werift', '--ca', tls.certFile, '--json'], 30_000);
  assert.equal(withCa.code, 0, withCa.stderr);
  assert.equal(JSON.parse(withCa.stdout).ok, true);

  const media = await runCli(['client', '-s', url, '-t', '0', '--media', '--engine', 'werift', '--ca', tls.certFile, '--json'], 30_000);
  assert.equal(media.code, 0, media.stderr);
  assert.ok(JSON.parse(media.stdout).media.video.echoed > 0, 'media echoed over an HTTPS-signaled session');

  // The container contract's client.sh, trusting the certificate through the environment.
  const viaEnv = await runCommand('/bin/sh', [`${ROOT}client.sh`, `-s ${url} -t 1`], { ...process.env, NODE_EXTRA_CA_CERTS: tls.certFile });
  assert.equal(viaEnv.code, 0, viaEnv.stderr);

  const untrusted = await runCli(['client', '-s', url, '-t', '1'], 30_000);
  assert.equal(untrusted.code, 1);
  assert.match(untrusted.stderr, /FAIL signaling-unreachable: .*DEPTH_ZERO_SELF_SIGNED_CERT.*--ca FILE or set NODE_EXTRA_CA_CERTS/);
});

test('serve refuses --tls-cert without --tls-key, and a certificate file it cannot read, before listening', async () => {
  const half = await runCli(['serve', '--port', '0', '--tls-cert', '/nonexistent/cert.pem'], 20_000);
  assert.equal(half.code, 1);
  assert.match(half.stderr, /--tls-cert and --tls-key go together/);
  const missing = await runCli(['serve', '--port', '0', '--tls-cert', '/nonexistent/cert.pem', '--tls-key', '/nonexistent/key.pem'], 20_000);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /cannot read the TLS certificate \/nonexistent\/cert\.pem: ENOENT/);
});

const noChromium = skipUnlessCi(existsSync(CHROMIUM_PATH) ? undefined : `no Chromium at ${CHROMIUM_PATH}`);

test(
  'the page over https is a secure context on a host name that is not localhost: it gets the camera and echoes; over http it gets none',
  { skip: noChromium, timeout: 120_000 },
  async (t) => {
    // echo.test resolves to 127.0.0.1 inside this Chromium only: a name that is not
    // "potentially trustworthy" by itself (127.0.0.1 and localhost are secure contexts even
    // over http), so only TLS can make the page a secure context. The test's certificate is
    // trusted by its key's hash, nothing else is.
    const host = 'echo.test';
    const tls = makeTestCert(t, [host]);
    const secure = await spawnServe(t, ['--host', '127.0.0.1', '--port', '0', '--tls-cert', tls.certFile, '--tls-key', tls.keyFile]);
    const plain = await spawnServe(t, ['--host', '127.0.0.1', '--port', '0']);
    const browser = await launchChromium([`--host-resolver-rules=MAP ${host} 127.0.0.1`, `--ignore-certificate-errors-spki-list=${tls.spkiSha256}`]);
    t.after(() => browser.close());

    const run = async (origin: string) => {
      const page = await browser.newPage();
      try {
        await page.goto(`${origin}/`);
        const isSecureContext = await page.evaluate(() => window.isSecureContext);
        await page.getByRole('button', { name: 'Start' }).click();
        await page.waitForFunction(
          () => {
            const s = (window as unknown as { __echo: { state: string; stats: { video?: { framesDecoded?: number } | null } | null } | null }).__echo;
            return s?.state === 'failed' || (s?.state === 'echoing' && (s.stats?.video?.framesDecoded ?? 0) > 0);
          },
          undefined,
          { timeout: 30_000, polling: 200 },
        );
        const snapshot = await page.evaluate(
          () => (window as unknown as { __echo: { state: string; source: { origin: string; fallbackReason?: string } | null; url: string } }).__echo,
        );
        return { isSecureContext, ...snapshot };
      } finally {
        await page.close();
      }
    };

    const overHttps = await run(`https://${host}:${new URL(secure.url).port}`);
    assert.equal(overHttps.isSecureContext, true);
    assert.equal(overHttps.url, `https://${host}:${new URL(secure.url).port}/offer`, 'the page posts its offer to its own origin, over https');
    assert.equal(overHttps.state, 'echoing');
    assert.equal(overHttps.source?.origin, 'camera', 'a secure context gets getUserMedia (the fake camera)');

    const overHttp = await run(`http://${host}:${new URL(plain.url).port}`);
    assert.equal(overHttp.isSecureContext, false);
    assert.equal(overHttp.source?.origin, 'synthetic', 'no secure context, no camera');
    assert.match(overHttp.source?.fallbackReason ?? '', /secure context/);
  },
);
