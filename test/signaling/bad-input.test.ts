import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ERROR_STATUS } from '../../src/errors/echo-error.js';
import { ROOT } from '../helpers/cli.js';
import { makeOffer } from '../helpers/offer.js';
import { postJson, startTestServer, TEST_SERVER_ENGINE } from '../helpers/server.js';

/** Each bad request, the status it must get, and the error code in its JSON body. */
const BAD_REQUESTS: { name: string; send: (url: string) => Promise<Response>; status: number; code: string }[] = [
  { name: 'malformed JSON', send: (u) => postJson(u, '{"type": "offer", "sdp": '), status: 400, code: 'ECHO_ERR_INVALID_JSON' },
  { name: 'an empty JSON body', send: (u) => postJson(u, ''), status: 400, code: 'ECHO_ERR_INVALID_JSON' },
  { name: 'a JSON array', send: (u) => postJson(u, [1, 2]), status: 400, code: 'ECHO_ERR_INVALID_BODY' },
  { name: 'a text/plain body', send: (u) => postJson(u, 'hello', { 'Content-Type': 'text/plain' }), status: 415, code: 'ECHO_ERR_UNSUPPORTED_MEDIA_TYPE' },
  { name: 'an XML body', send: (u) => postJson(u, '<offer/>', { 'Content-Type': 'application/xml' }), status: 415, code: 'ECHO_ERR_UNSUPPORTED_MEDIA_TYPE' },
  { name: 'no type', send: (u) => postJson(u, { sdp: 'v=0\r\n' }), status: 400, code: 'ECHO_ERR_NOT_AN_OFFER' },
  { name: 'an answer instead of an offer', send: (u) => postJson(u, { type: 'answer', sdp: 'v=0\r\n' }), status: 400, code: 'ECHO_ERR_NOT_AN_OFFER' },
  { name: 'a type of the wrong JSON type', send: (u) => postJson(u, { type: 7, sdp: 'v=0\r\n' }), status: 400, code: 'ECHO_ERR_NOT_AN_OFFER' },
  { name: 'no sdp', send: (u) => postJson(u, { type: 'offer' }), status: 400, code: 'ECHO_ERR_MISSING_SDP' },
  { name: 'an sdp that is a number', send: (u) => postJson(u, { type: 'offer', sdp: 42 }), status: 400, code: 'ECHO_ERR_INVALID_BODY' },
  { name: 'an unparsable sdp', send: (u) => postJson(u, { type: 'offer', sdp: 'hello world' }), status: 422, code: 'ECHO_ERR_UNPARSABLE_SDP' },
  {
    name: 'an sdp without ICE credentials',
    send: (u) => postJson(u, { type: 'offer', sdp: 'v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=rtpmap:111 opus/48000/2\r\n' }),
    status: 422,
    code: 'ECHO_ERR_UNPARSABLE_SDP',
  },
  { name: 'a body over 64 KiB', send: (u) => postJson(u, { type: 'offer', sdp: `v=0\r\n${'a=x\r\n'.repeat(20_000)}` }), status: 413, code: 'ECHO_ERR_BODY_TOO_LARGE' },
  { name: 'GET on /offer', send: (u) => fetch(u), status: 405, code: 'ECHO_ERR_METHOD_NOT_ALLOWED' },
  { name: 'PUT on /offer', send: (u) => fetch(u, { method: 'PUT', body: '{}' }), status: 405, code: 'ECHO_ERR_METHOD_NOT_ALLOWED' },
  { name: 'an unknown path', send: (u) => postJson(u.replace('/offer', '/nope'), {}), status: 404, code: 'ECHO_ERR_NOT_FOUND' },
];

test('the server answers each bad input with its status and error code, then still serves a good offer', async (t) => {
  const server = await startTestServer(t, TEST_SERVER_ENGINE);
  const url = `${server.url}/offer`;
  for (const bad of BAD_REQUESTS) {
    const response = await bad.send(url);
    assert.equal(response.status, bad.status, `${bad.name}: status`);
    assert.match(response.headers.get('content-type') ?? '', /application\/json/, `${bad.name}: content type`);
    const body = (await response.json()) as { error: string; message: string };
    assert.equal(body.error, bad.code, `${bad.name}: error code`);
    assert.ok(body.message.length > 0, `${bad.name}: message`);
  }
  assert.equal(server.sessions.size, 0, 'no bad request left a session behind');

  const { offer, peer } = await makeOffer();
  try {
    const response = await postJson(url, offer);
    assert.equal(response.status, 200);
    const answer = (await response.json()) as { type: string; sdp: string };
    assert.equal(answer.type, 'answer');
    assert.match(answer.sdp, /a=candidate:/, 'the answer carries its candidates (non-trickle)');
    assert.equal(server.sessions.size, 1);
  } finally {
    peer.close();
  }
});

test('more offers than --max-sessions get 503 while the first sessions live on', async (t) => {
  const server = await startTestServer(t, TEST_SERVER_ENGINE, { maxSessions: 2 });
  const url = `${server.url}/offer`;
  const peers = [];
  try {
    for (let i = 0; i < 3; i++) {
      const { offer, peer } = await makeOffer();
      peers.push(peer);
      const response = await postJson(url, offer);
      if (i < 2) {
        assert.equal(response.status, 200);
      } else {
        assert.equal(response.status, 503);
        assert.equal(((await response.json()) as { error: string }).error, 'ECHO_ERR_TOO_MANY_SESSIONS');
      }
    }
    assert.equal(server.sessions.size, 2);
    // One refusal, one count, under its error code.
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    const rejected = metrics.split('\n').filter((line) => line.startsWith('echo_offers_rejected_total{'));
    assert.deepEqual(rejected, ['echo_offers_rejected_total{reason="ECHO_ERR_TOO_MANY_SESSIONS"} 1']);
  } finally {
    for (const peer of peers) peer.close();
  }
});

test('docs/errors.md lists every error code with its status, and no code that does not exist', () => {
  const doc = readFileSync(`${ROOT}docs/errors.md`, 'utf8');
  const documented = new Map([...doc.matchAll(/^\| `(ECHO_ERR_\w+)` \| (\d{3}) \|/gm)].map((m) => [m[1]!, Number(m[2])]));
  assert.deepEqual(Object.fromEntries(documented), { ...ERROR_STATUS });
});

test('the offer route allows any origin (CORS preflight and response)', async (t) => {
  const server = await startTestServer(t, TEST_SERVER_ENGINE);
  const preflight = await fetch(`${server.url}/offer`, {
    method: 'OPTIONS',
    headers: { Origin: 'http://example.test', 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'content-type' },
  });
  assert.ok(preflight.status === 204 || preflight.status === 200, `preflight status ${preflight.status}`);
  assert.equal(preflight.headers.get('access-control-allow-origin'), '*');
  const response = await postJson(`${server.url}/offer`, { type: 'answer', sdp: 'v=0\r\n' }, { Origin: 'http://example.test' });
  assert.equal(response.headers.get('access-control-allow-origin'), '*');
});

test('GET /healthz reports the engine and the live session count; /metrics is Prometheus text', async (t) => {
  const server = await startTestServer(t, TEST_SERVER_ENGINE);
  const health = (await (await fetch(`${server.url}/healthz`)).json()) as { status: string; engine: string; sessions: number };
  assert.deepEqual(health, { status: 'ok', engine: TEST_SERVER_ENGINE, sessions: 0 });
  const metrics = await (await fetch(`${server.url}/metrics`)).text();
  assert.match(metrics, /^echo_sessions_live 0$/m);
});
