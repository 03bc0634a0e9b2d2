/**
 * The pieces of a run's evidence: the recording signaling proxy over real HTTP (what a client
 * sends reaches the server unchanged and both bodies are kept), the phase timings from what a
 * client reports, the verdict over repeated runs, and --add-server/--add-client parsing with
 * the rerun command built from them.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { parsePeerSpec } from '../../src/interop/byo/spec.js';
import { phasesOf } from '../../src/interop/evidence/phases.js';
import { createSignalingProxy, type Exchange } from '../../src/interop/evidence/signaling-proxy.js';
import { signalingOf } from '../../src/interop/evidence/signaling.js';
import { cellStatus, type RunResult } from '../../src/interop/matrix.js';
import { rerunCommand, shellQuote } from '../../src/interop/rerun.js';
import { freePort } from '../../src/net/free-port.js';

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

const OFFER = { type: 'offer', sdp: 'v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n' };
const ANSWER = { type: 'answer', sdp: 'v=0\r\no=- 2 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=setup:active\r\n' };

test('the signaling proxy forwards every request unchanged, keeps both bodies and the times, and drops the client when the server is gone', async (t) => {
  const seen: { method?: string; url?: string; host?: string; body: string }[] = [];
  const upstream = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => (body += chunk));
    request.on('end', () => {
      seen.push({ method: request.method, url: request.url, host: request.headers.host, body });
      if (request.method === 'OPTIONS') return response.writeHead(204, { 'Access-Control-Allow-Origin': '*', 'Access-Control-Allow-Headers': 'content-type' }).end();
      response.writeHead(201, { 'Content-Type': 'application/json', Location: '/session/7', 'Access-Control-Allow-Origin': '*' }).end(JSON.stringify(ANSWER));
    });
  });
  const upstreamPort = await listen(upstream);
  t.after(() => upstream.close());
  const exchanges: Exchange[] = [];
  const proxy = createSignalingProxy(new URL(`http://127.0.0.1:${upstreamPort}/offer`), (e) => exchanges.push(e));
  const proxyPort = await listen(proxy);
  t.after(() => proxy.close());

  const preflight = await fetch(`http://127.0.0.1:${proxyPort}/offer`, { method: 'OPTIONS' });
  assert.equal(preflight.status, 204);
  assert.equal(preflight.headers.get('access-control-allow-origin'), '*');
  const before = performance.timeOrigin + performance.now();
  const response = await fetch(`http://127.0.0.1:${proxyPort}/offer?x=1`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(OFFER) });
  assert.equal(response.status, 201);
  assert.equal(response.headers.get('location'), '/session/7', 'headers come back as the server sent them');
  assert.deepEqual(await response.json(), ANSWER);

  assert.deepEqual(seen.map((s) => [s.method, s.url, s.host]), [
    ['OPTIONS', '/offer', `127.0.0.1:${proxyPort}`],
    ['POST', '/offer?x=1', `127.0.0.1:${proxyPort}`],
  ], 'method, path and Host as the client sent them');
  assert.equal(seen[1]!.body, JSON.stringify(OFFER));
  const post = exchanges.find((e) => e.method === 'POST')!;
  assert.equal(post.status, 201);
  assert.equal(post.response.location, '/session/7');
  assert.ok(post.startedAt >= before - 5 && post.endedAt >= post.startedAt, 'epoch times, in order');
  const signaling = signalingOf(exchanges);
  assert.equal(signaling.offer, OFFER.sdp);
  assert.equal(signaling.answer, ANSWER.sdp);
  assert.equal(signaling.note, undefined);

  // A server that is gone: the client's connection fails (as it would without the proxy), no 502 of ours.
  const closedPort = await freePort();
  const nowhere = createSignalingProxy(new URL(`http://127.0.0.1:${closedPort}/offer`), (e) => exchanges.push(e));
  const nowherePort = await listen(nowhere);
  t.after(() => nowhere.close());
  await assert.rejects(fetch(`http://127.0.0.1:${nowherePort}/offer`, { method: 'POST', body: '{}' }));
  assert.match(exchanges.at(-1)?.error ?? '', /could not reach the server: .*ECONNREFUSED/);
  assert.equal(exchanges.at(-1)?.status, null);
});

test('phases come from the client where it says, from the proxy for the POST, and are unknown (with why) where nobody says', () => {
  const post: Exchange = { method: 'POST', path: '/offer', status: 200, startedAt: 1_000_050, endedAt: 1_000_062.5, request: { body: '' }, response: { body: '' } };
  const ours = phasesOf({ offerReady: 20, answerReceived: 64, iceConnected: 70, connected: 71.5, firstEcho: 90 }, [post], 1_000_000);
  assert.deepEqual(ours.map((p) => [p.name, p.atMs, p.tookMs]), [
    ['post', 64, 12.5],
    ['ice-connected', 70, 6],
    ['dtls-connected', 71.5, 1.5],
    ['first-echo', 90, 18.5],
  ]);
  // A client that prints nothing: the POST from the proxy (since its process started), the rest unknown.
  const silent = phasesOf({ exited: 400 }, [post], 1_000_000);
  assert.deepEqual(silent.map((p) => [p.name, p.atMs, p.tookMs]), [
    ['post', 62.5, 12.5],
    ['ice-connected', undefined, undefined],
    ['dtls-connected', undefined, undefined],
    ['first-echo', undefined, undefined],
  ]);
  assert.match(silent[1]!.source, /unknown: the client reported no ice_connected_ms/);
  assert.match(phasesOf({}, [], undefined)[0]!.source, /unknown: the client POSTed no offer/);
});

test('a cell over its runs: all alike is that status, a pass mixed with anything is flaky, a plain failure outweighs a known one', () => {
  const runs = (...statuses: RunResult['status'][]) => statuses.map((status, i): RunResult => ({ run: i + 1, status, timings: { client: {}, cellMs: 0 }, phases: [], port: 0, logs: { server: '', client: '' } }));
  assert.equal(cellStatus(runs('pass', 'pass')), 'pass');
  assert.equal(cellStatus(runs('pass', 'fail', 'pass')), 'flaky');
  assert.equal(cellStatus(runs('known-failure', 'pass')), 'flaky');
  assert.equal(cellStatus(runs('known-failure', 'fail')), 'fail');
  assert.equal(cellStatus(runs('known-failure', 'known-failure')), 'known-failure');
  assert.equal(cellStatus(runs('unsupported')), 'unsupported');
});

test('--add-server and --add-client take NAME=COMMAND (a server with {port}) or a server URL, and say what is wrong', () => {
  assert.deepEqual(parsePeerSpec('server', 'mine=./server --port {port}'), { name: 'mine', role: 'server', kind: 'command', value: './server --port {port}' });
  assert.deepEqual(parsePeerSpec('server', 'up=http://127.0.0.1:8080'), { name: 'up', role: 'server', kind: 'url', value: 'http://127.0.0.1:8080/offer' }, 'no path: its /offer');
  assert.equal(parsePeerSpec('server', 'up=http://127.0.0.1:8080/whip/x').value, 'http://127.0.0.1:8080/whip/x');
  assert.deepEqual(parsePeerSpec('client', 'c=docker run --rm --network host me/client'), { name: 'c', role: 'client', kind: 'command', value: 'docker run --rm --network host me/client' });
  assert.throws(() => parsePeerSpec('server', 'mine=./server --port 8080'), /must say where to listen with \{port\}.*give --add-server mine=http:\/\/127\.0\.0\.1:PORT\/offer/);
  assert.throws(() => parsePeerSpec('client', 'c=http://127.0.0.1:1/offer'), /a client is a command, not a URL/);
  assert.throws(() => parsePeerSpec('client', 'no equals sign'), /takes NAME=COMMAND/);
  assert.throws(() => parsePeerSpec('server', 'a.b=x {port}'), /not a usable name/);
  assert.throws(() => parsePeerSpec('client', 'c='), /the command is empty/);
});

test("a cell's rerun command adds its own peers again, quoted for the shell, with the run's options and one run", () => {
  const specs = [parsePeerSpec('server', "mine=./my server --port {port} --name 'x'"), parsePeerSpec('client', 'theirs=/opt/c'), parsePeerSpec('client', 'other=/opt/o')];
  const { command, cwd } = rerunCommand(
    { program: ['webrtc-echo'], cwd: '/home/me', specs, timeoutSeconds: 7.5, capture: true, reportDir: '/home/me/report' },
    { server: 'mine', client: 'theirs', test: 1, network: 'nat' },
  );
  assert.equal(cwd, '/home/me');
  assert.equal(
    command,
    `webrtc-echo matrix --add-server 'mine=./my server --port {port} --name '\\''x'\\''' --add-client theirs=/opt/c --servers mine --clients theirs --tests 1 --network nat --timeout 7.5 --capture --repeat 1 --out report/rerun/nat.test1.mine.theirs`,
  );
  assert.equal(shellQuote("it's"), `'it'\\''s'`);
});
