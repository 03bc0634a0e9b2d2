/**
 * What keeps a server on a public address usable for everyone: per-address limits (a second
 * client is 127.0.0.2), X-Forwarded-For behind a proxy, CORS only on /offer, a metrics listener
 * of its own, refused paths as 404, the request timeout, and a 413 the client gets to read.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import net from 'node:net';
import { freePort } from '../../src/net/free-port.js';
import { REQUEST_TIMEOUT_MS, CONNECTIONS_CHECK_MS } from '../../src/signaling/app.js';
import { startProcess } from '../../src/interop/process.js';
import { CLI, ROOT } from '../helpers/cli.js';
import { shapedOffer } from '../helpers/offer-shapes.js';
import { postJson, startTestServer, TEST_SERVER_ENGINE } from '../helpers/server.js';

/** POST from a chosen local address (127.0.0.2 is another client of a server on 127.0.0.1). */
function postFrom(localAddress: string, url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const payload = JSON.stringify(body);
    const req = httpRequest(url, { method: 'POST', localAddress, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload), ...headers } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
    });
    req.on('error', reject);
    req.end(payload);
  });
}

const errorOf = (body: string) => (JSON.parse(body) as { error: string }).error;

test('offers per second per address: the next gets 429 ECHO_ERR_TOO_MANY_REQUESTS with Retry-After, another address is still served', async (t) => {
  const server = await startTestServer(t, TEST_SERVER_ENGINE, { offersPerSecond: 3 });
  const url = `${server.url}/offer`;
  // Refused offers count too: the limit is on offers sent, before anything is read.
  const statuses = [];
  for (let i = 0; i < 4; i++) statuses.push((await postFrom('127.0.0.1', url, { type: 'answer', sdp: 'v=0' })).status);
  assert.deepEqual(statuses, [400, 400, 400, 429]);
  const limited = await postFrom('127.0.0.1', url, shapedOffer({ audio: 1 }));
  assert.equal(limited.status, 429);
  assert.equal(errorOf(limited.body), 'ECHO_ERR_TOO_MANY_REQUESTS');
  assert.ok(Number(limited.headers['retry-after']) >= 1, `Retry-After: ${limited.headers['retry-after']}`);
  const other = await postFrom('127.0.0.2', url, shapedOffer({ audio: 1 }));
  assert.equal(other.status, 200, '127.0.0.2 has a budget of its own');
  await new Promise((r) => setTimeout(r, 1100));
  assert.equal((await postFrom('127.0.0.1', url, shapedOffer({ audio: 1 }))).status, 200, 'the window passed');
  const metrics = await (await fetch(`${server.url}/metrics`)).text();
  assert.match(metrics, /^echo_offers_rejected_total\{reason="ECHO_ERR_TOO_MANY_REQUESTS"\} 2$/m);
});

test('unconnected sessions per address: past the cap 429 ECHO_ERR_TOO_MANY_UNCONNECTED with Retry-After, while 127.0.0.2 gets in; the default is 5% of --max-sessions', async (t) => {
  const server = await startTestServer(t, TEST_SERVER_ENGINE, { maxSessions: 40, maxUnconnectedPerAddress: undefined, connectTimeoutMs: 3_000 });
  const url = `${server.url}/offer`;
  // 5% of 40 is 2: nobody answers these offers' candidates, so they stay unconnected.
  for (let i = 0; i < 2; i++) assert.equal((await postFrom('127.0.0.1', url, shapedOffer({ audio: 1 }))).status, 200);
  const third = await postFrom('127.0.0.1', url, shapedOffer({ audio: 1 }));
  assert.equal(third.status, 429);
  assert.equal(errorOf(third.body), 'ECHO_ERR_TOO_MANY_UNCONNECTED');
  const retryAfter = Number(third.headers['retry-after']);
  assert.ok(retryAfter >= 1 && retryAfter <= 3, `Retry-After ${retryAfter} is when the oldest one times out (3 s)`);
  assert.equal((await postFrom('127.0.0.2', url, shapedOffer({ audio: 1 }))).status, 200, 'another address is not locked out');
  assert.equal(server.sessions.size, 3);
  // Once they time out, the address may offer again.
  await new Promise((r) => setTimeout(r, 3_300));
  assert.equal((await postFrom('127.0.0.1', url, shapedOffer({ audio: 1 }))).status, 200);
});

test('with --trust-proxy the limits count by X-Forwarded-For; without it the header is ignored', async (t) => {
  const proxied = await startTestServer(t, TEST_SERVER_ENGINE, { offersPerSecond: 1, trustProxy: '127.0.0.1' });
  const url = `${proxied.url}/offer`;
  const bad = { type: 'answer', sdp: 'v=0' };
  assert.equal((await postFrom('127.0.0.1', url, bad, { 'x-forwarded-for': '203.0.113.1' })).status, 400);
  assert.equal((await postFrom('127.0.0.1', url, bad, { 'x-forwarded-for': '203.0.113.1' })).status, 429, 'the same forwarded client');
  assert.equal((await postFrom('127.0.0.1', url, bad, { 'x-forwarded-for': '203.0.113.2' })).status, 400, 'another forwarded client');
  // IPv6 clients count by their /64.
  assert.equal((await postFrom('127.0.0.1', url, bad, { 'x-forwarded-for': '2001:db8:1:2::1' })).status, 400);
  assert.equal((await postFrom('127.0.0.1', url, bad, { 'x-forwarded-for': '2001:db8:1:2::ffff' })).status, 429, 'same /64');

  const direct = await startTestServer(t, TEST_SERVER_ENGINE, { offersPerSecond: 1 });
  assert.equal((await postFrom('127.0.0.1', `${direct.url}/offer`, bad, { 'x-forwarded-for': '203.0.113.1' })).status, 400);
  assert.equal((await postFrom('127.0.0.1', `${direct.url}/offer`, bad, { 'x-forwarded-for': '203.0.113.2' })).status, 429, 'a client cannot pick its own address');
});

test('CORS: /offer grants * by default or the configured origins; /metrics and /healthz grant nothing', async (t) => {
  const preflight = (url: string, origin: string) =>
    fetch(url, { method: 'OPTIONS', headers: { Origin: origin, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'content-type' } });
  const open = await startTestServer(t, TEST_SERVER_ENGINE);
  assert.equal((await preflight(`${open.url}/offer`, 'http://a.test')).headers.get('access-control-allow-origin'), '*');
  for (const path of ['/metrics', '/healthz']) {
    const response = await fetch(`${open.url}${path}`, { headers: { Origin: 'http://a.test' } });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('access-control-allow-origin'), null, path);
    const pre = await preflight(`${open.url}${path}`, 'http://a.test');
    assert.equal(pre.headers.get('access-control-allow-origin'), null, `${path} preflight`);
    assert.equal(pre.status, 404, `${path} preflight`);
  }
  const closed = await startTestServer(t, TEST_SERVER_ENGINE, { corsOrigin: ['https://page.test'] });
  assert.equal((await preflight(`${closed.url}/offer`, 'https://page.test')).headers.get('access-control-allow-origin'), 'https://page.test');
  assert.equal((await preflight(`${closed.url}/offer`, 'https://evil.test')).headers.get('access-control-allow-origin'), null);
  const response = await postJson(`${closed.url}/offer`, { type: 'answer' }, { Origin: 'https://evil.test' });
  assert.equal(response.headers.get('access-control-allow-origin'), null);
});

test('--metrics-port serves /metrics on its own listener, and the main one no longer does', async (t) => {
  const metricsPort = await freePort();
  const server = await startTestServer(t, TEST_SERVER_ENGINE, { metricsPort, metricsHost: '127.0.0.1' });
  assert.equal(server.metricsUrl, `http://127.0.0.1:${metricsPort}`);
  const metrics = await fetch(`${server.metricsUrl}/metrics`);
  assert.equal(metrics.status, 200);
  assert.match(await metrics.text(), /^echo_sessions_live 0$/m);
  const main = await fetch(`${server.url}/metrics`);
  assert.equal(main.status, 404);
  assert.equal(((await main.json()) as { error: string }).error, 'ECHO_ERR_NOT_FOUND');
  assert.equal((await fetch(`${server.url}/healthz`)).status, 200, '/healthz stays on the main listener for load balancers');
});

/** A raw HTTP request, for paths fetch would normalise. */
function rawRequest(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let data = '';
    socket.on('data', (chunk) => (data += chunk));
    socket.on('end', () => resolve(data));
    socket.on('error', reject);
    socket.end(text);
  });
}

test('traversal and other refused static paths answer 404 in our JSON, never 500', async (t) => {
  const server = await startTestServer(t, TEST_SERVER_ENGINE);
  const port = Number(new URL(server.url).port);
  for (const path of ['/../../etc/passwd', '/%2e%2e/%2e%2e/etc/passwd', '/..%2f..%2fetc/passwd', '/assets/../../package.json', '/%E0%A4%A', '/%00']) {
    const response = await rawRequest(port, `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    assert.match(response, /^HTTP\/1\.1 404 /, `${path}: ${response.split('\r\n')[0]}`);
    assert.match(response, /"error":"ECHO_ERR_NOT_FOUND"/, path);
  }
  const metrics = await (await fetch(`${server.url}/metrics`)).text();
  assert.doesNotMatch(metrics, /ECHO_ERR_INTERNAL/);
});

test('a body over the limit gets its 413 delivered: to fetch, and to a raw socket still writing 1 MiB', async (t) => {
  // The server in a process of its own, as users run it: in this process, the client's writes
  // would all be buffered before the server got to run, and the race would not show.
  const port = await freePort();
  const server = startProcess(process.execPath, [CLI, 'serve', '--host', '127.0.0.1', '--port', String(port), '--offer-rate', '0', '--log-level', 'info'], { cwd: ROOT });
  t.after(() => server.stop());
  await server.waitFor(/"event":"listening"/, 20_000);
  const url = `http://127.0.0.1:${port}/offer`;
  for (let i = 0; i < 5; i++) {
    const response = await postJson(url, { type: 'offer', sdp: 'x'.repeat(1 << 20) });
    assert.equal(response.status, 413);
    assert.equal(((await response.json()) as { error: string }).error, 'ECHO_ERR_BODY_TOO_LARGE');
  }
  for (const framing of ['content-length', 'chunked'] as const) {
    for (let i = 0; i < 5; i++) {
      const reply = await new Promise<string>((resolve, reject) => {
        const socket = net.connect(port, '127.0.0.1');
        let data = '';
        socket.on('data', (chunk) => {
          data += chunk;
          const head = data.indexOf('\r\n\r\n');
          const length = /content-length: (\d+)/i.exec(data)?.[1];
          if (head !== -1 && length !== undefined && data.length >= head + 4 + Number(length)) {
            socket.destroy();
            resolve(data);
          }
        });
        socket.on('error', (err) => reject(new Error(`${framing}: ${err.message} after reading ${JSON.stringify(data.slice(0, 60))}`)));
        const size = 1 << 20;
        socket.write(`POST /offer HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n${framing === 'chunked' ? 'Transfer-Encoding: chunked' : `Content-Length: ${size}`}\r\n\r\n`);
        const chunk = Buffer.alloc(16 * 1024, 'x');
        let sent = 0;
        const pump = () => {
          while (sent < size) {
            sent += chunk.length;
            const ok = framing === 'chunked' ? socket.write(`${chunk.length.toString(16)}\r\n${chunk}\r\n`) : socket.write(chunk);
            if (!ok) return void socket.once('drain', pump);
          }
          if (framing === 'chunked') socket.write('0\r\n\r\n');
        };
        pump();
      });
      assert.match(reply, /^HTTP\/1\.1 413 /, framing);
      assert.match(reply, /"error":"ECHO_ERR_BODY_TOO_LARGE"/, framing);
    }
  }
});

test(`a body that trickles in is cut after the documented ${REQUEST_TIMEOUT_MS / 1000} s (Node checks every ${CONNECTIONS_CHECK_MS / 1000} s), not after 60-90 s`, { timeout: 40_000 }, async (t) => {
  const server = await startTestServer(t, TEST_SERVER_ENGINE);
  const port = Number(new URL(server.url).port);
  const start = Date.now();
  const reply = await new Promise<string>((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let data = '';
    socket.on('data', (chunk) => (data += chunk));
    socket.on('error', () => undefined);
    socket.write('POST /offer HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{');
    const trickle = setInterval(() => socket.write(' '), 500);
    socket.on('close', () => {
      clearInterval(trickle);
      resolve(data);
    });
  });
  const livedMs = Date.now() - start;
  assert.ok(livedMs >= REQUEST_TIMEOUT_MS - 100 && livedMs <= REQUEST_TIMEOUT_MS + CONNECTIONS_CHECK_MS + 1_000, `lived ${livedMs} ms`);
  assert.match(reply, /^HTTP\/1\.1 408 /);
});
