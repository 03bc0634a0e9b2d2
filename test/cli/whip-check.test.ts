/**
 * `webrtc-echo client --whip URL` as a user runs it (the built CLI): against our own server
 * every item passes and the stream comes back by WHEP; against a server that breaks RFC 9725
 * here and there (a proxy in front of ours that answers 200 instead of 201, a weak ETag, no
 * OPTIONS, a 204 to DELETE) the items say which, and the exit code is 1.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import type { WhipCheckResult } from '../../src/client/whip/run.js';
import { runCli } from '../helpers/cli.js';
import { startTestServer } from '../helpers/server.js';

const statuses = (result: WhipCheckResult) => Object.fromEntries(result.items.map((item) => [item.name, item.status]));

test('client --whip against our server: every item passes, and --whep sees the stream come back unchanged', async (t) => {
  const server = await startTestServer(t, 'libdatachannel', { linkIceServers: [{ urls: 'stun:127.0.0.1:3478' }] });
  const run = await runCli(['client', '--whip', `${server.url}/whip`, '--whep', `${server.url}/whep/{id}`, '--json']);
  assert.equal(run.code, 0, run.stderr);
  const result = JSON.parse(run.stdout) as WhipCheckResult;
  assert.deepEqual(statuses(result), {
    options: 'pass', post: 'pass', 'content-type': 'pass', location: 'pass', etag: 'pass', 'ice-servers': 'pass', answer: 'pass',
    trickle: 'pass', 'trickle-precondition': 'pass', connection: 'pass', media: 'pass', watch: 'pass', get: 'pass', 'ice-restart': 'pass', delete: 'pass',
  });
  assert.deepEqual(result.iceServers, [{ urls: 'stun:127.0.0.1:3478' }]);
  assert.ok((result.watched?.video?.unchanged ?? 0) >= 20 && (result.watched?.audio?.unchanged ?? 0) >= 20, JSON.stringify(result.watched));
  assert.equal(server.sessions.size, 0, 'the check deleted what it made');
});

test('client --whip against a server that breaks RFC 9725: the items say where, and it exits 1', async (t) => {
  const real = await startTestServer(t, 'libdatachannel');
  // In front of our server: POST answered 200 with a weak ETag, OPTIONS refused, DELETE answered 204.
  const proxy = createServer((request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', async () => {
      if (request.method === 'OPTIONS') return void response.writeHead(404).end();
      const upstream = await fetch(`${real.url}${request.url}`, {
        method: request.method,
        headers: Object.fromEntries(Object.entries(request.headers).filter(([name]) => ['content-type', 'if-match'].includes(name))) as Record<string, string>,
        body: chunks.length > 0 ? Buffer.concat(chunks) : undefined,
      });
      const body = await upstream.text();
      const headers: Record<string, string> = {};
      upstream.headers.forEach((value, name) => (headers[name] = value));
      delete headers['content-length'];
      if (request.method === 'POST') {
        response.writeHead(200, { ...headers, etag: `W/${headers.etag}` }).end(body);
      } else if (request.method === 'DELETE' && upstream.status === 200) {
        response.writeHead(204).end();
      } else {
        response.writeHead(upstream.status, headers).end(body);
      }
    });
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  t.after(() => proxy.close());
  const run = await runCli(['client', '--whip', `http://127.0.0.1:${(proxy.address() as AddressInfo).port}/whip`, '--json']);
  assert.equal(run.code, 1);
  const result = JSON.parse(run.stdout) as WhipCheckResult;
  const got = statuses(result);
  assert.equal(got.options, 'fail');
  assert.equal(got.post, 'fail', '200 is not 201');
  assert.match(result.items.find((i) => i.name === 'post')!.detail, /201/);
  assert.equal(got.etag, 'fail', 'a weak ETag');
  assert.equal(got.connection, 'pass', 'the rest is still checked');
  assert.equal(got.trickle, 'fail', 'a weak tag names no ICE session: the PATCH gets 412');
  assert.match(result.items.find((i) => i.name === 'trickle')!.detail, /^412/);
  assert.equal(got.delete, 'warn', '204 is 2xx, but RFC 9725 confirms with 200');
  assert.match(run.stderr, /FAIL whip: options, post, etag, trickle\n/);
  assert.equal(real.sessions.size, 0, 'the session behind the proxy was deleted');
});
